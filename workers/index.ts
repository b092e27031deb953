/**
 * @module The Worker: the edge API, the Queue consumer and the Deployment
 * Durable Object class that wrangler binds.
 */
import type { LinesQueueMessage } from "../schemas/queue";
import { app } from "./app";
import { consume } from "./consumer";
import type { Env } from "./env";

export { Deployment } from "../durable-objects/deployment";

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch<LinesQueueMessage>, env: Env): Promise<void> {
    await consume(batch, env);
  },
} satisfies ExportedHandler<Env, LinesQueueMessage>;
