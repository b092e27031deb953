/**
 * @module The agent: lines in, numbered gzip'd batches out, one request in
 * flight at a time so the server stores them in the order written. Only
 * web-platform APIs (fetch, CompressionStream, timers), so the same class
 * runs in Node and in a Worker; node.ts adds spilling and exit hooks.
 */
import type { IngestAnswer } from "../../schemas/ingest";
import { MAX_LINES_PER_BATCH } from "../../schemas/limits";
import {
  type AgentLine,
  batchBody,
  encodeLine,
  gzipText,
  type LineDefaults,
} from "./batch";
import { AgentError } from "./errors";
import { Masks } from "./masks";
import {
  type AgentOptions,
  type ResolvedOptions,
  resolveOptions,
} from "./options";
import { type Entry, type LineQueue, MemoryQueue } from "./queue";
import { type CloseReport, type CompleteStatus, Ledger } from "./report";
import { TextWriter } from "./text";
import { readJson, Transport } from "./transport";

/** Ships one deployment's lines to edgetail. */
export class Agent {
  readonly options: ResolvedOptions;
  private readonly transport: Transport;
  private readonly queue: LineQueue;
  private readonly ledger = new Ledger();
  private readonly abort = new AbortController();
  private readonly writers = new Set<TextWriter>();
  private readonly waiters: (() => void)[] = [];
  private readonly masks = new Masks();
  private batchSeq = 0;
  private oldestAt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private pumping: Promise<void> | null = null;
  private flushing = 0;
  private fatal: AgentError | null = null;
  /** The writer whose partial part was queued last, and its fields. */
  private open: { source: object; line: AgentLine } | null = null;
  private closing: Promise<CloseReport> | null = null;
  /** No more lines: set once the writers ended for complete or close. */
  private sealed = false;
  private closed = false;
  private completion: Promise<boolean> | null = null;
  /** Why the last attempt failed, while a request is being retried. */
  private retrying: AgentError | null = null;

  constructor(opts: AgentOptions) {
    this.options = resolveOptions(opts);
    this.transport = new Transport({
      ...this.options,
      onRetry: (info) => {
        this.retrying = info.error;
        this.options.onRetry?.(info);
      },
    });
    this.queue = opts.queue ?? new MemoryQueue(this.options.maxBufferedBytes);
  }

  /** Path of this agent's deployment, e.g. `/v1/deployments/d`. */
  get path(): string {
    return `/v1/deployments/${this.options.deployment}`;
  }

  /**
   * True once a batch was given up: nothing more is sent (later lines
   * count as undelivered), so the stored log stays a complete prefix.
   */
  get halted(): boolean {
    return this.fatal !== null;
  }

  /** Where the agent stands; `queued` lines are not sent yet. */
  get stats() {
    return {
      queued: this.queue.length,
      queuedBytes: this.queue.bytes,
      delivered: this.ledger.delivered,
      undelivered: this.ledger.lost.count,
      lastSeq: this.ledger.lastSeq,
      cursor: this.ledger.cursor,
    };
  }

  /**
   * Queues a line (a string is a whole line's message). Never drops it:
   * the promise resolves when the agent has room for more, so awaiting
   * each write bounds memory to `maxBufferedBytes`.
   */
  write(line: AgentLine | string): Promise<void> {
    this.enqueue(typeof line === "string" ? { message: line } : line, this);
    return this.ready();
  }

  /**
   * A writer of raw output (text or bytes) for one stream: it splits on
   * `\n` and sends a tail that never ends as `partial` parts.
   */
  text(defaults: LineDefaults = {}): TextWriter {
    this.assertOpen();
    const o = this.options;
    const writer: TextWriter = new TextWriter(
      {
        emit: (message, partial) =>
          this.enqueue({ ...defaults, message, partial }, writer),
        ready: () => this.ready(),
      },
      {
        idleMs: o.partialIdleMs,
        maxWaitMs: o.partialMaxWaitMs,
        maxTailChars: o.maxTailChars,
      },
    );
    this.writers.add(writer);
    return writer;
  }

  /**
   * Registers values to mask (like GitHub's add-mask). They reach the
   * server before any line written after this call: with that line's
   * batch, or on their own right away.
   */
  addSecrets(secrets: readonly string[]): void {
    this.assertOpen();
    this.masks.add(secrets);
    this.kick();
  }

  /** Resolves when fewer than `maxBufferedBytes` are waiting. */
  ready(): Promise<void> {
    if (!this.queue.full || this.fatal || this.closed) return Promise.resolve();
    this.kick();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Sends everything written so far; resolves when nothing is waiting. */
  async flush(): Promise<void> {
    this.flushing += 1;
    try {
      for (;;) {
        this.kick();
        if (this.pumping) await this.pumping;
        const idle = this.queue.length === 0 && !this.masks.waiting;
        if (this.abort.signal.aborted || this.fatal || idle) return;
      }
    } finally {
      this.flushing -= 1;
    }
  }

  /**
   * Ends every text writer, flushes, and marks the deployment complete
   * (`POST .../complete`). Resolves true when the server took it; a
   * refusal is reported by close() and onError.
   */
  complete(status: CompleteStatus, exitCode?: number): Promise<boolean> {
    this.completion ??= this.sendComplete(status, exitCode);
    return this.completion;
  }

  /**
   * Ends the text writers, flushes (giving up after `closeTimeoutMs`),
   * completes the deployment if `status` is given, and reports what could
   * not be delivered. Later calls return the same report.
   */
  close(
    opts: { status?: CompleteStatus; exitCode?: number } = {},
  ): Promise<CloseReport> {
    this.closing ??= this.shutDown(opts);
    return this.closing;
  }

  private async shutDown(opts: {
    status?: CompleteStatus;
    exitCode?: number;
  }): Promise<CloseReport> {
    const deadline = setTimeout(
      () =>
        this.abort.abort(
          new AgentError(
            "aborted",
            `close() gave up after ${this.options.closeTimeoutMs} ms ` +
              "(closeTimeoutMs) with lines still unsent",
            { retryable: false },
          ),
        ),
      this.options.closeTimeoutMs,
    );
    try {
      this.seal();
      await this.flush();
      this.abandonQueue();
      if (opts.status) await this.complete(opts.status, opts.exitCode);
      else if (this.completion) await this.completion;
    } finally {
      clearTimeout(deadline);
    }
    this.abandonQueue();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.queue.close();
    this.wake(true);
    return this.ledger.report();
  }

  private async sendComplete(
    status: CompleteStatus,
    exitCode?: number,
  ): Promise<boolean> {
    this.seal();
    await this.flush();
    this.abandonQueue();
    const lost = this.ledger.lost.count;
    if (lost > 0) {
      // A log with lines missing must not look whole: leave it running.
      this.ledger.completed = false;
      this.report(
        new AgentError(
          "not_completed",
          `${lost} line${lost === 1 ? " was" : "s were"} not delivered, so ` +
            `the deployment was not marked ${status}; it stays running`,
          { retryable: false },
        ),
      );
      return false;
    }
    const body: { status: CompleteStatus; exit_code?: number } = { status };
    if (exitCode !== undefined) body.exit_code = exitCode;
    // Out of time already: one quick try, so the log is not left running.
    const late = this.abort.signal.aborted;
    try {
      await this.transport.send(
        {
          method: "POST",
          path: `${this.path}/complete`,
          body: JSON.stringify(body),
          headers: { "content-type": "application/json" },
          signal: late ? AbortSignal.timeout(5_000) : this.abort.signal,
          retries: late ? 0 : undefined,
        },
        readJson,
      );
      this.ledger.completed = true;
      return true;
    } catch (err) {
      this.ledger.completed = false;
      this.report(asAgentError(err));
      return false;
    }
  }

  /** Queues a line from `source` (the agent itself or a text writer). */
  private enqueue(line: AgentLine, source: object): void {
    this.assertOpen();
    const o = this.options;
    const defaults = {
      step: o.step,
      level: o.level,
      stream: o.stream,
      metadata: o.metadata,
    };
    // A partial part is continued by the next line stored. When another
    // stream writes first, end the open line so the parts stay apart.
    if (this.open && this.open.source !== source) {
      const end = { ...this.open.line, message: "", partial: false };
      this.push(encodeLine(end, defaults));
    }
    this.open = line.partial ? { source, line } : null;
    this.push(encodeLine(line, defaults));
  }

  private push(entries: Entry[]): void {
    if (this.fatal) {
      this.ledger.lose(entries);
      return;
    }
    if (this.queue.length === 0) this.oldestAt = Date.now();
    for (const e of entries) this.queue.push(e.json, e.bytes);
    this.kick();
  }

  private kick(): void {
    if (this.pumping || this.abort.signal.aborted) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
    });
  }

  /** The one sender: a batch at a time, in order. */
  private async pump(): Promise<void> {
    while (!this.abort.signal.aborted && !this.fatal) {
      if (this.queue.length > 0) {
        if (!this.due()) return this.arm();
        await this.sendBatch();
      } else if (this.masks.waiting) {
        await this.sendSecrets();
      } else {
        return;
      }
    }
  }

  private due(): boolean {
    return (
      this.flushing > 0 ||
      this.queue.full ||
      this.queue.bytes >= this.options.batchBytes ||
      Date.now() - this.oldestAt >= this.options.batchMs
    );
  }

  private arm(): void {
    if (this.timer) return;
    const wait = this.options.batchMs - (Date.now() - this.oldestAt);
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.kick();
      },
      Math.max(0, wait),
    );
  }

  private async sendBatch(): Promise<void> {
    const o = this.options;
    const entries = this.queue.take(o.maxBatchBytes, MAX_LINES_PER_BATCH);
    this.wake();
    const secrets = this.masks.forBatch();
    const seq = this.batchSeq++;
    try {
      const text = batchBody(
        o.agent,
        seq,
        entries.map((e) => e.json),
        secrets,
      );
      const headers: Record<string, string> = {
        "content-type": "application/json",
      };
      if (o.gzip) headers["content-encoding"] = "gzip";
      const answer = await this.transport.send(
        {
          method: "POST",
          path: `${this.path}/logs`,
          body: o.gzip ? await gzipText(text) : text,
          headers,
          signal: this.abort.signal,
        },
        (res) => readJson<IngestAnswer>(res),
      );
      this.retrying = null;
      this.ledger.deliver(entries.length, answer);
      o.onDelivered?.({
        lines: entries.length,
        lastSeq: answer.last_seq,
        cursor: answer.cursor,
        replayed: answer.replayed === true,
      });
    } catch (err) {
      // The masks must still reach the server before later lines.
      this.masks.retry(secrets);
      this.ledger.lose(entries);
      const error = asAgentError(err);
      // Given up at close(): say why the batch was still unsent.
      if (error.code === "aborted" && this.retrying) {
        this.ledger.error(this.retrying);
      }
      this.report(error);
      // Nothing after a lost batch, or the log would have a hole.
      this.halt(error);
    }
  }

  /**
   * Sends nothing more: later lines count as undelivered, so the stored
   * log stays a complete prefix of what was written.
   */
  private halt(error: AgentError): void {
    if (this.fatal) return;
    this.fatal = error;
    this.ledger.stopped ??= error.toJSON();
    this.ledger.loseDiscarded(this.queue.discard());
    this.wake(true);
  }

  /** Counts lines never sent (close() timed out) as undelivered. */
  private abandonQueue(): void {
    if (!this.abort.signal.aborted || this.queue.length === 0) return;
    const reason = this.abort.signal.reason;
    if (!this.ledger.stopped && reason instanceof AgentError) {
      if (this.retrying) this.ledger.error(this.retrying);
      this.ledger.error(reason);
      this.ledger.stopped = reason.toJSON();
    }
    this.ledger.loseDiscarded(this.queue.discard());
  }

  private async sendSecrets(): Promise<void> {
    const secrets = this.masks.alone();
    try {
      await this.transport.postJson(
        `${this.path}/secrets`,
        { secrets },
        this.abort.signal,
      );
    } catch (err) {
      const error = asAgentError(err);
      // Unreachable now: they go with the next batch instead.
      if (error.retryable || error.code === "aborted") {
        this.masks.retry(secrets);
      }
      this.report(error);
    }
  }

  private report(error: AgentError): void {
    this.ledger.error(error);
    if (error.fatal) this.halt(error);
    this.options.onError?.(error);
  }

  /** Lets waiting writers go once there is room (or always, at the end). */
  private wake(all = false): void {
    if (!all && this.queue.full) return;
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  /** Ends the text writers (their tails go out), then takes no lines. */
  private seal(): void {
    for (const w of this.writers) w.end();
    this.writers.clear();
    this.sealed = true;
  }

  private assertOpen(): void {
    if (this.sealed || this.closed) {
      throw new Error(
        `agent for ${this.options.deployment} is completed or closed; ` +
          "write before complete() and close()",
      );
    }
  }
}

function asAgentError(err: unknown): AgentError {
  if (err instanceof AgentError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AgentError("network_error", message, { retryable: true });
}
