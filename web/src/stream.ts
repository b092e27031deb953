/**
 * @module The live tail over WebSocket. Acknowledges what it receives (the
 * server's flow control), resumes by cursor after any close that is not
 * the end of the log, and drops any line it already has (by seq), so the
 * page gets every line once, in order, across reconnects.
 */
import type { WireLine } from "../../schemas/line";
import type { StreamMessage } from "../../schemas/stream";

/** What the connection is doing, for the status pill. */
export type StreamState =
  | { kind: "connecting" }
  | { kind: "live" }
  | { kind: "behind"; seconds: number; lines: number }
  | { kind: "reconnecting"; attempt: number; inMs: number }
  | { kind: "ended"; status: string; exitCode?: number }
  /** A permanent error (bad id, refused): no more retries. */
  | { kind: "error"; message: string };

/** Something the user must be told about. */
export interface StreamNotice {
  kind: "reset" | "lagged" | "gap";
  message: string;
}

/** Callbacks of a {@link LiveTail}. */
export interface LiveTailEvents {
  lines(lines: WireLine[]): void;
  state(state: StreamState): void;
  notice(notice: StreamNotice): void;
  /** The server announced a last seq (heartbeat or end). */
  lastSeq(seq: number): void;
  /** A reset: the log restarts at its first line. */
  reset(): void;
}

/** Acknowledge at least this often (the server needs one per MiB). */
const ACK_BYTES = 256 * 1024;
const ACK_DELAY_MS = 200;
/** Three missed heartbeats (15 s each) mean a dead connection. */
const SILENCE_MS = 50_000;
const BACKOFF_MS = [250, 500, 1_000, 2_000, 4_000, 8_000];

/** One deployment's live tail, reconnecting until the log ends or stop(). */
export class LiveTail {
  private ws: WebSocket | null = null;
  private lastSeq = 0;
  private lastTs = 0;
  private cursor: string | null = null;
  private received = 0;
  private acked = 0;
  private ackTimer: ReturnType<typeof setTimeout> | null = null;
  private silenceTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private stopped = false;
  private ended = false;

  constructor(
    private readonly url: (p: { cursor?: string; tail?: number }) => string,
    private readonly on: LiveTailEvents,
  ) {}

  /**
   * Opens the stream: `tail` lines before the live edge, or from the
   * start (after `afterSeq` lines already held) when tail is undefined.
   */
  start(opts: { tail?: number; afterSeq?: number }): void {
    this.lastSeq = opts.afterSeq ?? 0;
    this.open(opts.tail === undefined ? {} : { tail: opts.tail });
  }

  /** Closes for good. */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
    this.ws?.close(1000);
  }

  /** The highest seq received. */
  get seq(): number {
    return this.lastSeq;
  }

  private open(position: { cursor?: string; tail?: number }): void {
    this.received = 0;
    this.acked = 0;
    this.on.state(
      this.attempt === 0
        ? { kind: "connecting" }
        : { kind: "reconnecting", attempt: this.attempt, inMs: 0 },
    );
    const ws = new WebSocket(this.url(position));
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.on.state({ kind: "live" });
      this.watchSilence();
    };
    ws.onmessage = (event) => {
      if (typeof event.data !== "string") return;
      this.received += event.data.length;
      this.watchSilence();
      this.handle(JSON.parse(event.data) as StreamMessage);
      this.scheduleAck();
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.clearTimers();
      if (!this.stopped && !this.ended) this.retry();
    };
  }

  private handle(msg: StreamMessage): void {
    switch (msg.type) {
      case "lines": {
        const fresh = msg.lines.filter((l) => l.seq > this.lastSeq);
        const first = fresh[0];
        if (first && this.lastSeq > 0 && first.seq > this.lastSeq + 1) {
          this.on.notice({
            kind: "gap",
            message: `lines ${this.lastSeq + 1}-${first.seq - 1} were not sent by the stream; they are loaded from history`,
          });
        }
        const last = fresh.at(-1);
        if (last) {
          this.lastSeq = last.seq;
          this.lastTs = Date.parse(last.ts);
          this.cursor = last.cursor;
          this.on.lines(fresh);
        }
        break;
      }
      case "heartbeat": {
        this.on.lastSeq(msg.last_seq);
        const behind = msg.last_seq - this.lastSeq;
        if (behind > 0 && this.lastTs > 0) {
          const seconds = Math.max(
            0,
            Math.round((Date.parse(msg.server_time) - this.lastTs) / 1000),
          );
          this.on.state({ kind: "behind", seconds, lines: behind });
        } else {
          this.on.state({ kind: "live" });
        }
        break;
      }
      case "end": {
        this.ended = true;
        this.on.lastSeq(msg.last_seq);
        const state: StreamState = { kind: "ended", status: msg.status };
        if (msg.exit_code !== undefined) state.exitCode = msg.exit_code;
        this.on.state(state);
        break;
      }
      case "reset":
        this.lastSeq = 0;
        this.cursor = null;
        this.on.notice({
          kind: "reset",
          message: `The log was re-created (${msg.reason}); showing the new log from its first line.`,
        });
        this.on.reset();
        break;
      case "lagged":
        this.cursor = msg.cursor;
        this.on.notice({
          kind: "lagged",
          message: `The page fell behind the stream (${msg.message}); resuming from line ${this.lastSeq}.`,
        });
        break;
    }
  }

  private scheduleAck(): void {
    if (this.received - this.acked >= ACK_BYTES) {
      this.ack();
      return;
    }
    this.ackTimer ??= setTimeout(() => this.ack(), ACK_DELAY_MS);
  }

  private ack(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    if (this.received === this.acked) return;
    this.acked = this.received;
    this.ws.send(JSON.stringify({ type: "ack", received: this.received }));
  }

  private watchSilence(): void {
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => this.ws?.close(4000), SILENCE_MS);
  }

  private retry(): void {
    const base =
      BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)] ?? 1_000;
    const inMs = Math.round(base * (0.75 + Math.random() * 0.5));
    this.attempt++;
    this.on.state({ kind: "reconnecting", attempt: this.attempt, inMs });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.stopped) return;
      // With a cursor the server sends exactly the lines after it; without
      // one (nothing received yet) the seq filter drops what we hold.
      this.open(this.cursor ? { cursor: this.cursor } : {});
    }, inMs);
  }

  private clearTimers(): void {
    for (const t of [this.ackTimer, this.silenceTimer, this.retryTimer]) {
      if (t) clearTimeout(t);
    }
    this.ackTimer = this.silenceTimer = this.retryTimer = null;
  }
}
