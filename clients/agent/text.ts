/**
 * @module Raw output to log lines: chunks of text or bytes are split on
 * `\n` (a `\r` stays in the line, as the API keeps it), and a tail with no
 * `\n` yet is held back. A tail that waits too long is sent as a part with
 * `partial: true`, so a progress bar that never ends its line still shows;
 * the next part continues it, and viewers and the export join the parts.
 */

/** Where a writer's lines go. */
export interface TextSink {
  /** Queues one line, or one part of a line when `partial`. */
  emit(message: string, partial: boolean): void;
  /** Resolves when the agent has room for more. */
  ready(): Promise<void>;
}

/** When a held tail is sent before its `\n` arrives. */
export interface TextWriterOptions {
  /** After this long without new bytes; 0: only at end(). */
  idleMs: number;
  /**
   * After this long held, even while bytes keep coming (a progress bar
   * redrawn with `\r` every 100 ms is never idle); cut after its last
   * `\r` when it has one. 0: never.
   */
  maxWaitMs: number;
  /** Longest tail held, in UTF-16 code units; more is sent at once. */
  maxTailChars: number;
}

/** Splits raw output into lines for one stream. */
export class TextWriter {
  private readonly decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  private tail = "";
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private waitTimer: ReturnType<typeof setTimeout> | null = null;
  private ended = false;

  constructor(
    private readonly sink: TextSink,
    private readonly opts: TextWriterOptions,
  ) {}

  /** Text not sent yet: the output after its last `\n`. */
  get pending(): string {
    return this.tail;
  }

  /**
   * Adds a chunk: a string, or bytes (UTF-8; a character cut between two
   * chunks is decoded whole, invalid bytes become U+FFFD). Resolves when
   * the agent has room for more; await it to keep memory bounded.
   */
  write(chunk: string | Uint8Array): Promise<void> {
    if (this.ended) throw new Error("write after end() on a text writer");
    const text =
      typeof chunk === "string"
        ? chunk
        : this.decoder.decode(chunk, { stream: true });
    this.add(text);
    return this.sink.ready();
  }

  /**
   * Sends what is held: a last line with no `\n` goes as `partial`, so
   * the export ends without a newline, as the output did.
   */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    const rest = this.decoder.decode();
    if (rest) this.add(rest);
    this.clearTimers();
    if (this.tail !== "") this.sendTail(this.tail.length);
  }

  private add(text: string): void {
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl === -1) break;
      const line = this.tail + text.slice(start, nl);
      this.tail = "";
      this.sink.emit(line, false);
      start = nl + 1;
    }
    this.tail += text.slice(start);
    while (this.tail.length > this.opts.maxTailChars) {
      this.sendTail(this.opts.maxTailChars);
    }
    this.schedule(text.length > 0);
  }

  /** Sends the first `upto` code units of the tail as a partial part. */
  private sendTail(upto: number): void {
    let cut = Math.min(upto, this.tail.length);
    // Never between the halves of a surrogate pair.
    const last = this.tail.charCodeAt(cut - 1);
    if (cut < this.tail.length && last >= 0xd800 && last < 0xdc00) cut -= 1;
    if (cut <= 0) return;
    this.sink.emit(this.tail.slice(0, cut), true);
    this.tail = this.tail.slice(cut);
  }

  private schedule(fresh: boolean): void {
    if (this.tail === "") {
      this.clearTimers();
      return;
    }
    if (this.opts.idleMs > 0 && (fresh || !this.idleTimer)) {
      if (this.idleTimer) clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => {
        this.idleTimer = null;
        this.sendTail(this.tail.length);
        this.schedule(false);
      }, this.opts.idleMs);
    }
    if (this.opts.maxWaitMs > 0 && !this.waitTimer) {
      this.waitTimer = setTimeout(() => {
        this.waitTimer = null;
        const cr = this.tail.lastIndexOf("\r") + 1;
        this.sendTail(cr > 0 ? cr : this.tail.length);
        this.schedule(false);
      }, this.opts.maxWaitMs);
    }
  }

  private clearTimers(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.waitTimer) clearTimeout(this.waitTimer);
    this.idleTimer = null;
    this.waitTimer = null;
  }
}
