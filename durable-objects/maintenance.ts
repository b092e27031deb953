/**
 * @module Background work of the Deployment object, run by its alarm:
 * draining the outbox to the Queue, sealing chunks to R2, pruning the hot
 * tail, and deciding when the alarm runs next. Every step reads its
 * progress from the state row, so a crash repeats work, never loses it.
 */

import type { QueuedLine } from "../schemas/queue";
import { chunkKey, chunkPrefix, writeChunk } from "./chunks";
import type { DeploymentConfig } from "./config";
import { log } from "./log";
import { sendLines } from "./outbox";
import type { DeploymentState, Store } from "./storage";
import type { DeploymentEnv } from "./types";

/** Lines read per Queue send while draining the outbox. */
const OUTBOX_BATCH = 2_000;
/** Retry delay after the Queue or R2 refused work. */
const RETRY_MS = 5_000;

export class Maintenance {
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly store: Store,
    private readonly env: DeploymentEnv,
    private readonly config: DeploymentConfig,
  ) {}

  /** Sends every line after `enqueued_upto` to the Queue. */
  async flushOutbox(state: DeploymentState): Promise<void> {
    const envelope = {
      v: 1 as const,
      tenant: state.tenant,
      deployment_id: state.deployment,
      epoch: state.epoch,
    };
    while (state.enqueued_upto < sendableUpto(state)) {
      // One line more than sent, to give a partial line its overlap.
      const read = this.store.readLines(state.enqueued_upto, OUTBOX_BATCH + 1);
      const lines = read
        .slice(0, OUTBOX_BATCH)
        .filter((l) => l.seq <= sendableUpto(state));
      const last = lines.at(-1);
      if (!last) break;
      const queued = lines.map((line, i): QueuedLine => {
        const next = read[i + 1];
        if (!line.partial || !next) return line;
        return { ...line, search_overlap: overlap(next.message) };
      });
      await sendLines(this.env.LOG_QUEUE, envelope, queued);
      state.enqueued_upto = last.seq;
      this.store.saveState(state);
    }
  }

  /** Seals full chunks, and the rest once the stream ended or went idle. */
  async seal(state: DeploymentState, now: number): Promise<void> {
    const { chunkLines, sealIdleMs } = this.config;
    for (;;) {
      const pending = state.last_seq - state.sealed_upto;
      const idle =
        state.status !== "running" || now - state.last_line_at >= sealIdleMs;
      if (pending <= 0 || (pending < chunkLines && !idle)) return;
      const lines = this.store.readLines(state.sealed_upto, chunkLines);
      const first = lines[0];
      const last = lines.at(-1);
      if (!first || !last) return;
      const key = chunkKey(
        state.tenant,
        state.deployment,
        state.epoch,
        first.seq,
        last.seq,
      );
      const bytes = await writeChunk(this.env.LOG_CHUNKS, key, lines);
      this.storage.transactionSync(() => {
        this.store.addChunk(first.seq, last.seq, key, bytes);
        state.sealed_upto = last.seq;
        this.store.saveState(state);
      });
    }
  }

  /**
   * When lines were sent but ClickHouse loading stalled (a message lost,
   * or dead-lettered after its retries), sends them again from the
   * watermark. Loading is idempotent, so a slow consumer costs only
   * duplicates that the table folds.
   */
  requeueStalled(state: DeploymentState, now: number): void {
    const loaded = state.loaded_upto ?? 0;
    if (loaded >= state.enqueued_upto) return;
    const since = state.load_progress_at ?? state.created_at;
    if (now - since < this.config.reloadAfterMs) return;
    log("warn", "deployment.requeue", {
      deployment: state.deployment,
      from: loaded + 1,
      to: state.enqueued_upto,
    });
    state.enqueued_upto = loaded;
    state.load_progress_at = now;
    this.store.saveState(state);
  }

  /** Deletes lines sealed, loaded into ClickHouse and out of the hot tail. */
  prune(state: DeploymentState): void {
    const upto = Math.min(
      state.sealed_upto,
      state.enqueued_upto,
      state.loaded_upto ?? 0,
      state.last_seq - this.config.hotTailLines,
    );
    if (upto <= state.pruned_upto) return;
    this.storage.transactionSync(() => {
      this.store.deleteLinesUpTo(upto);
      state.pruned_upto = upto;
      this.store.saveState(state);
    });
  }
}

/** Longest query `q` takes, so the overlap covers any match. */
const OVERLAP_CHARS = 256;

/** The first characters of a line, whole code points only. */
function overlap(message: string): string {
  return Array.from(message.slice(0, OVERLAP_CHARS * 2))
    .slice(0, OVERLAP_CHARS - 1)
    .join("");
}

/** How long a trailing partial line waits for its continuation. */
const PARTIAL_HOLD_MS = 2_000;

/**
 * The last seq the outbox may send: a trailing partial line waits a
 * moment for its continuation (to carry its search overlap) while the
 * stream runs; a progress bar that never ends its line goes anyway.
 */
function sendableUpto(state: DeploymentState, now = Date.now()): number {
  const hold =
    state.last_partial &&
    state.status === "running" &&
    now - state.last_line_at < PARTIAL_HOLD_MS;
  return hold ? state.last_seq - 1 : state.last_seq;
}

/** When the alarm must run next, in epoch milliseconds. */
export function nextAlarm(
  state: DeploymentState,
  config: DeploymentConfig,
  when: { retry: boolean; viewers: number; lastHeartbeat: number },
): number {
  const at = Date.now();
  const due = [state.created_at + config.retentionMs];
  if (when.retry) due.push(at + RETRY_MS);
  else if (state.enqueued_upto < sendableUpto(state, at)) due.push(at);
  else if (state.enqueued_upto < state.last_seq) {
    due.push(state.last_line_at + PARTIAL_HOLD_MS);
  }
  if ((state.loaded_upto ?? 0) < state.enqueued_upto) {
    due.push(
      (state.load_progress_at ?? state.created_at) + config.reloadAfterMs,
    );
  }
  if (state.sealed_upto < state.last_seq) {
    due.push(
      state.status === "running" ? state.last_line_at + config.sealIdleMs : at,
    );
  }
  if (state.status === "running" && when.viewers > 0) {
    due.push(when.lastHeartbeat + config.heartbeatMs);
  }
  return Math.max(at, Math.min(...due));
}

/** Deletes every R2 object of a log (retention). */
export async function deleteChunks(
  bucket: R2Bucket,
  state: DeploymentState,
): Promise<void> {
  const prefix = chunkPrefix(state.tenant, state.deployment);
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor });
    if (page.objects.length > 0) {
      await bucket.delete(page.objects.map((o) => o.key));
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
}
