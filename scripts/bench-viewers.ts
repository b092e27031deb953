/**
 * @module WebSocket viewers for the bench: they connect to a deployment's
 * live stream, acknowledge what they receive (the server stops at 8 MiB
 * unacknowledged), and record, per line, receive time minus the send
 * time the pushing agent put in the line's metadata.
 */
import WebSocket from "ws";

/** Characters received between two acks; the server wants <= ~1 MB. */
const ACK_EVERY_CHARS = 256 * 1024;
const CONNECT_TIMEOUT_MS = 15_000;
/** Sockets opened at once while connecting many viewers. */
const CONNECT_WAVE = 50;

/** Milliseconds since the epoch, with sub-millisecond precision. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Latency samples of a whole run, shared by its viewers. */
export class Samples {
  readonly values: Float64Array;
  count = 0;

  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
  }

  add(ms: number): void {
    if (this.count < this.values.length) this.values[this.count++] = ms;
  }

  /** The q-quantile (0..1) of the samples so far, or NaN if none. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const sorted = this.values.slice(0, this.count).sort();
    const at = Math.min(this.count - 1, Math.ceil(q * this.count) - 1);
    return sorted[Math.max(0, at)] ?? Number.NaN;
  }
}

/** One connected viewer. */
export class BenchViewer {
  lines = 0;
  ended = false;
  lagged = false;
  private received = 0;
  private acked = 0;

  private constructor(
    private readonly ws: WebSocket,
    private readonly samples: Samples,
  ) {
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      this.onMessage(data.toString(), now());
    });
  }

  /** Opens a viewer; rejects on refusal or after CONNECT_TIMEOUT_MS. */
  static open(url: string, samples: Samples): Promise<BenchViewer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        handshakeTimeout: CONNECT_TIMEOUT_MS,
        perMessageDeflate: false,
      });
      ws.once("open", () => resolve(new BenchViewer(ws, samples)));
      ws.once("unexpected-response", (_req, res) => {
        reject(new Error(`stream answered HTTP ${res.statusCode}`));
        ws.terminate();
      });
      ws.once("error", reject);
    });
  }

  private onMessage(text: string, at: number): void {
    // The ack counts UTF-16 units of every message, whatever its type.
    this.received += text.length;
    if (this.received - this.acked >= ACK_EVERY_CHARS) {
      this.acked = this.received;
      this.ws.send(JSON.stringify({ type: "ack", received: this.received }));
    }
    const message: unknown = JSON.parse(text);
    if (typeof message !== "object" || message === null) return;
    if (!("type" in message)) return;
    if (message.type === "end") this.ended = true;
    if (message.type === "lagged") this.lagged = true;
    if (message.type !== "lines" || !("lines" in message)) return;
    if (!Array.isArray(message.lines)) return;
    for (const line of message.lines) {
      this.lines += 1;
      const sentAt = line?.metadata?.sent_at;
      if (typeof sentAt === "number") this.samples.add(at - sentAt);
    }
  }

  close(): void {
    this.ws.terminate();
  }
}

/**
 * Opens `count` viewers in waves; returns those that connected and the
 * reasons the others did not (first few only).
 */
export async function openViewers(
  url: string,
  count: number,
  samples: Samples,
): Promise<{ viewers: BenchViewer[]; errors: string[] }> {
  const viewers: BenchViewer[] = [];
  const errors: string[] = [];
  for (let start = 0; start < count; start += CONNECT_WAVE) {
    const wave = Math.min(CONNECT_WAVE, count - start);
    const results = await Promise.allSettled(
      Array.from({ length: wave }, () => BenchViewer.open(url, samples)),
    );
    for (const r of results) {
      if (r.status === "fulfilled") viewers.push(r.value);
      else if (errors.length < 5) errors.push(String(r.reason));
    }
  }
  return { viewers, errors };
}
