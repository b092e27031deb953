/**
 * @module One live viewer, over a hibernatable WebSocket or an SSE stream.
 * Both keep the position they delivered up to, so a backlog and the live
 * feed meet with no gap and no duplicate.
 */

/** What a WebSocket keeps across hibernation. */
export interface ViewerAttachment {
  v: 1;
  /** Seq of the last line delivered (0 = none). */
  sent: number;
  /** Cursor of that line, handed back when the viewer lags. */
  cursor: string;
  /** True once the backlog was delivered and live lines flow. */
  live: boolean;
  /** UTF-16 units sent and acknowledged, for flow control. */
  sentChars: number;
  ackedChars: number;
}

/** The transport-independent face of a viewer. */
export interface Viewer {
  readonly state: ViewerAttachment;
  closed: boolean;
  /** Sends one message; `id` becomes the SSE event id. */
  send(text: string, id?: string): void;
  /** Persists `state` (WebSocket attachments survive hibernation). */
  save(): void;
  /** True when this much more would exceed the viewer's window. */
  full(extraChars: number): boolean;
  /** Resolves when the viewer drained some, or after `timeoutMs`. */
  drained(timeoutMs: number): Promise<void>;
  close(code: number, reason: string): void;
}

/** A viewer on a hibernatable WebSocket; flow control by client acks. */
export class SocketViewer implements Viewer {
  closed = false;
  private waiters: (() => void)[] = [];

  constructor(
    readonly ws: WebSocket,
    readonly state: ViewerAttachment,
    private readonly windowChars: number,
  ) {}

  send(text: string): void {
    try {
      this.ws.send(text);
      this.state.sentChars += text.length;
    } catch {
      this.closed = true;
    }
  }

  save(): void {
    try {
      this.ws.serializeAttachment(this.state);
    } catch {
      this.closed = true;
    }
  }

  full(extraChars: number): boolean {
    const outstanding = this.state.sentChars - this.state.ackedChars;
    return outstanding + extraChars > this.windowChars;
  }

  /** The client reports how many characters it has received so far. */
  ack(receivedChars: number): void {
    if (receivedChars > this.state.ackedChars) {
      this.state.ackedChars = Math.min(receivedChars, this.state.sentChars);
      this.save();
    }
    for (const wake of this.waiters.splice(0)) wake();
  }

  drained(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(code: number, reason: string): void {
    this.closed = true;
    try {
      this.ws.close(code, reason);
    } catch {
      // Already closed by the peer.
    }
  }
}

const encoder = new TextEncoder();

/** A viewer on a Server-Sent Events response; flow control by the stream. */
export class SseViewer implements Viewer {
  closed = false;
  readonly readable: ReadableStream<Uint8Array>;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;

  constructor(
    readonly state: ViewerAttachment,
    windowBytes: number,
    onClose: () => void,
  ) {
    const pipe = new TransformStream<Uint8Array, Uint8Array>(
      undefined,
      new ByteLengthQueuingStrategy({ highWaterMark: windowBytes }),
    );
    this.readable = pipe.readable;
    this.writer = pipe.writable.getWriter();
    this.writer.closed.then(
      () => this.markClosed(onClose),
      () => this.markClosed(onClose),
    );
    // Tells EventSource to reconnect after 2 s; it sends Last-Event-ID.
    this.write("retry: 2000\n\n");
  }

  send(text: string, id?: string): void {
    this.write(`${id ? `id: ${id}\n` : ""}data: ${text}\n\n`);
  }

  save(): void {}

  full(extraChars: number): boolean {
    const room = this.writer.desiredSize ?? 0;
    return room - extraChars < 0;
  }

  async drained(timeoutMs: number): Promise<void> {
    await Promise.race([
      this.writer.ready,
      new Promise((r) => setTimeout(r, timeoutMs)),
    ]);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.writer.close().catch(() => {});
  }

  private write(text: string): void {
    if (this.closed) return;
    this.writer.write(encoder.encode(text)).catch(() => {
      this.closed = true;
    });
  }

  private markClosed(onClose: () => void): void {
    this.closed = true;
    onClose();
  }
}
