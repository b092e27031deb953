/**
 * @module The Queue consumer: loads accepted lines into ClickHouse, then
 * tells each Deployment object which seqs are loaded (its watermark bounds
 * history pages). A failure retries the whole batch with a delay;
 * redelivery is safe because the table deduplicates on
 * (tenant, deployment, epoch, seq) and watermarks merge ranges.
 */
import { errorMessage, log } from "../durable-objects/log";
import { rangesOf } from "../durable-objects/watermark";
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
    await reportLoaded(env, bodies);
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

async function reportLoaded(
  env: Env,
  bodies: LinesQueueMessage[],
): Promise<void> {
  const logs = new Map<string, { m: LinesQueueMessage; seqs: number[] }>();
  for (const m of bodies) {
    const key = `${m.tenant}/${m.deployment_id}\n${m.epoch}`;
    const entry = logs.get(key) ?? { m, seqs: [] };
    entry.seqs.push(...m.lines.map((l) => l.seq));
    logs.set(key, entry);
  }
  await Promise.all(
    [...logs.values()].map(({ m, seqs }) => {
      const id = env.DEPLOYMENT.idFromName(`${m.tenant}/${m.deployment_id}`);
      return env.DEPLOYMENT.get(id).markLoaded(m.epoch, rangesOf(seqs));
    }),
  );
}
