/**
 * @module Fan-out: the one seam between the sequencer and the viewers.
 * The Deployment object calls publish/end/heartbeat; this module owns
 * backlogs, the seam to live lines, flow control and lagging viewers.
 * Relay tiers (for 10k viewers) replace this module, not the sequencer.
 */
import type { StoredLine, WireLine } from "../schemas/line";
import type { EndMessage, StreamMessage } from "../schemas/stream";
import {
  type SocketViewer,
  SseViewer,
  type Viewer,
  type ViewerAttachment,
} from "./viewers";

/** Lines and bytes per `lines` message. */
const LINES_PER_MESSAGE = 500;
const CHARS_PER_MESSAGE = 256 * 1024;
/** How long a backlog waits for a viewer to drain before it lags. */
const DRAIN_TIMEOUT_MS = 30_000;

/** What fan-out needs from the Deployment object. */
export interface FanoutSource {
  /** Lines with seq > after, ascending, from SQLite or sealed chunks. */
  read(after: number, limit: number): Promise<StoredLine[]>;
  lastSeq(): number;
  wire(lines: StoredLine[]): WireLine[];
  /** The end message if the deployment completed, else null. */
  ended(): EndMessage | null;
  /** All WebSocket viewers, rebuilt after hibernation. */
  sockets(): SocketViewer[];
}

/** Starting point of a new viewer. */
export interface ViewerStart {
  sent: number;
  cursor: string;
  /** Messages to send before anything else (a `reset`). */
  preface?: StreamMessage[];
}

export class Fanout {
  private readonly sse = new Set<SseViewer>();

  constructor(
    private readonly source: FanoutSource,
    private readonly windowBytes: number,
  ) {}

  /** Attachment for a new WebSocket viewer. */
  static attachment(start: ViewerStart): ViewerAttachment {
    return {
      v: 1,
      sent: start.sent,
      cursor: start.cursor,
      live: false,
      sentChars: 0,
      ackedChars: 0,
    };
  }

  /** Starts delivering to a freshly accepted WebSocket viewer. */
  startSocket(viewer: SocketViewer, start: ViewerStart): void {
    for (const m of start.preface ?? []) viewer.send(JSON.stringify(m));
    void this.catchUp(viewer);
  }

  /** Opens an SSE viewer; the readable is the response body. */
  openSse(start: ViewerStart): ReadableStream<Uint8Array> {
    const viewer: SseViewer = new SseViewer(
      Fanout.attachment(start),
      this.windowBytes,
      () => this.sse.delete(viewer),
    );
    this.sse.add(viewer);
    for (const m of start.preface ?? []) viewer.send(JSON.stringify(m));
    void this.catchUp(viewer);
    return viewer.readable;
  }

  /** Number of connected viewers. */
  count(): number {
    return this.source.sockets().length + this.sse.size;
  }

  /** Delivers newly sequenced lines to every live viewer. */
  publish(lines: StoredLine[]): void {
    const last = lines.at(-1);
    if (!last) return;
    const viewers = this.live();
    if (viewers.length === 0) return;
    const messages = this.pack(this.source.wire(lines));
    for (const viewer of viewers) {
      if (viewer.state.sent >= last.seq) continue;
      if (viewer.state.sent !== (lines[0]?.seq ?? 0) - 1) {
        // Out of step (should not happen): let a backlog realign it.
        viewer.state.live = false;
        void this.catchUp(viewer);
        continue;
      }
      this.deliver(viewer, messages);
    }
  }

  /** Tells live viewers the deployment ended, and closes them. */
  end(message: EndMessage): void {
    for (const viewer of this.live()) this.finish(viewer, message);
  }

  /** Sends a heartbeat to every live viewer. */
  heartbeat(message: StreamMessage): void {
    const text = JSON.stringify(message);
    for (const viewer of this.live()) viewer.send(text);
  }

  private live(): Viewer[] {
    const all: Viewer[] = [...this.source.sockets(), ...this.sse];
    return all.filter((v) => v.state.live && !v.closed);
  }

  /** Sends the backlog after `state.sent`, then switches to live. */
  private async catchUp(viewer: Viewer): Promise<void> {
    while (!viewer.closed) {
      if (viewer.state.sent >= this.source.lastSeq()) {
        // Synchronous from the check to here: no line can slip between.
        viewer.state.live = true;
        viewer.save();
        const ended = this.source.ended();
        if (ended) this.finish(viewer, ended);
        return;
      }
      if (viewer.full(0)) {
        // Wait while the viewer makes room; lag only if it stops reading.
        const deadline = Date.now() + DRAIN_TIMEOUT_MS;
        while (viewer.full(0) && !viewer.closed && Date.now() < deadline) {
          await viewer.drained(deadline - Date.now());
        }
        if (viewer.full(0) && !viewer.closed) {
          this.lag(viewer);
          return;
        }
        continue;
      }
      const lines = await this.source.read(
        viewer.state.sent,
        LINES_PER_MESSAGE,
      );
      const fresh = lines.filter((l) => l.seq > viewer.state.sent);
      if (fresh.length === 0) {
        viewer.state.live = true;
        viewer.save();
        return;
      }
      for (const m of this.pack(this.source.wire(fresh))) this.send(viewer, m);
      viewer.save();
    }
  }

  private deliver(viewer: Viewer, messages: Packed[]): void {
    const chars = messages.reduce((n, m) => n + m.text.length, 0);
    if (viewer.full(chars)) {
      this.lag(viewer);
      return;
    }
    for (const m of messages) this.send(viewer, m);
    viewer.save();
  }

  private send(viewer: Viewer, m: Packed): void {
    viewer.send(m.text, m.cursor);
    viewer.state.sent = m.lastSeq;
    viewer.state.cursor = m.cursor;
  }

  private lag(viewer: Viewer): void {
    const message: StreamMessage = {
      type: "lagged",
      cursor: viewer.state.cursor,
      message: "viewer fell behind; reconnect with this cursor to resume",
    };
    viewer.send(JSON.stringify(message));
    viewer.close(4008, "lagged");
  }

  private finish(viewer: Viewer, message: EndMessage): void {
    viewer.send(JSON.stringify(message));
    viewer.close(1000, "deployment ended");
  }

  /** Splits wire lines into `lines` messages of bounded size. */
  private pack(lines: WireLine[]): Packed[] {
    const out: Packed[] = [];
    let batch: WireLine[] = [];
    let chars = 0;
    const flush = () => {
      const last = batch.at(-1);
      if (!last) return;
      const text = JSON.stringify({
        type: "lines",
        lines: batch,
        cursor: last.cursor,
      });
      out.push({ text, cursor: last.cursor, lastSeq: last.seq });
      batch = [];
      chars = 0;
    };
    for (const line of lines) {
      const size = line.message.length + 200;
      if (
        batch.length === LINES_PER_MESSAGE ||
        (batch.length > 0 && chars + size > CHARS_PER_MESSAGE)
      ) {
        flush();
      }
      batch.push(line);
      chars += size;
    }
    flush();
    return out;
  }
}

interface Packed {
  text: string;
  cursor: string;
  lastSeq: number;
}
