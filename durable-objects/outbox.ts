/**
 * @module Packing stored lines into Queue messages. Queues take at most
 * 128 KB per message and 256 KB or 100 messages per sendBatch, so a large
 * ingest batch becomes several messages and several sends.
 */
import type { LinesQueueMessage, QueuedLine } from "../schemas/queue";

/** Leaves room for the envelope and JSON escaping differences. */
const MESSAGE_BYTES = 96 * 1024;
const SEND_BYTES = 224 * 1024;
const SEND_MESSAGES = 100;

const utf8 = new TextEncoder();

type Envelope = Omit<LinesQueueMessage, "lines">;

/** Sends lines to the queue; resolves once every message was accepted. */
export async function sendLines(
  queue: Queue<LinesQueueMessage>,
  envelope: Envelope,
  lines: QueuedLine[],
): Promise<void> {
  const messages = pack(envelope, lines);
  let batch: MessageSendRequest<LinesQueueMessage>[] = [];
  let bytes = 0;
  for (const m of messages) {
    if (batch.length === SEND_MESSAGES || bytes + m.bytes > SEND_BYTES) {
      await queue.sendBatch(batch);
      batch = [];
      bytes = 0;
    }
    batch.push({ body: m.body, contentType: "json" });
    bytes += m.bytes;
  }
  if (batch.length > 0) await queue.sendBatch(batch);
}

function pack(
  envelope: Envelope,
  lines: QueuedLine[],
): { body: LinesQueueMessage; bytes: number }[] {
  const out: { body: LinesQueueMessage; bytes: number }[] = [];
  let current: QueuedLine[] = [];
  let bytes = 512;
  for (const line of lines) {
    const size = utf8.encode(JSON.stringify(line)).byteLength;
    if (current.length > 0 && bytes + size > MESSAGE_BYTES) {
      out.push({ body: { ...envelope, lines: current }, bytes });
      current = [];
      bytes = 512;
    }
    current.push(line);
    bytes += size;
  }
  if (current.length > 0) {
    out.push({ body: { ...envelope, lines: current }, bytes });
  }
  return out;
}
