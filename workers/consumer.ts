/**
 * @module The Queue consumer: loads accepted lines into ClickHouse. A
 * failed insert retries the whole batch with a delay; redelivery is safe
 * because the table deduplicates on (tenant, deployment, epoch, seq).
 */
import { errorMessage, log } from "../durable-objects/log";
import type { LinesQueueMessage } from "../schemas/queue";
import { clickhouse, insertLines } from "./clickhouse";
import type { Env } from "./env";

/** Handles one batch of Queue messages. */
export async function consume(
  batch: MessageBatch<LinesQueueMessage>,
  env: Env,
): Promise<void> {
  const bodies = batch.messages.map((m) => m.body);
  try {
    const rows = await insertLines(clickhouse(env), bodies);
    batch.ackAll();
    log("info", "consumer.inserted", { messages: bodies.length, rows });
  } catch (err) {
    const attempts = Math.max(...batch.messages.map((m) => m.attempts));
    log("warn", "consumer.insert_failed", {
      messages: bodies.length,
      attempts,
      error: errorMessage(err),
    });
    batch.retryAll({ delaySeconds: Math.min(60, 2 ** attempts) });
  }
}
