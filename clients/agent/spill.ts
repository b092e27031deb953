/**
 * @module A line queue that overflows to a file (Node only). Lines stay in
 * memory up to a limit; past it they are appended to a private temporary
 * file, and read back in order once memory drains, so a writer never has
 * to wait while the API is slow or down (until the file limit).
 *
 * Lines in the file are not masked yet (masking happens on the server):
 * the file is created mode 0600 in a fresh mkdtemp directory, and removed
 * by close(). Synchronous fs calls keep the order trivially right; they
 * happen only while spilling, a few microseconds per line.
 */
import {
  closeSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Discarded, Entry, LineQueue } from "./queue";
import { MemoryQueue } from "./queue";

/** Options of {@link SpillQueue}. */
export interface SpillOptions {
  /** Bytes kept in memory before spilling. */
  memoryBytes: number;
  /** Past this many bytes in the file, writers wait after all. */
  maxFileBytes: number;
  /** Parent of the temporary directory; os.tmpdir() by default. */
  dir?: string;
}

const NEWLINE = 0x0a;

/** A LineQueue that keeps `memoryBytes` in memory and the rest on disk. */
export class SpillQueue implements LineQueue {
  private readonly memory: MemoryQueue;
  private dir: string | null = null;
  private fd: number | null = null;
  private readAt = 0;
  private writeAt = 0;
  private fileLines = 0;
  private fileBytes = 0;
  private lastJson: string | undefined;
  /** Lines that ever went to the file (for tests and stats). */
  spilled = 0;

  constructor(private readonly opts: SpillOptions) {
    this.memory = new MemoryQueue(Number.POSITIVE_INFINITY);
  }

  /** The spill file, once one was needed. */
  get path(): string | null {
    return this.dir ? join(this.dir, "lines.ndjson") : null;
  }

  get length(): number {
    return this.memory.length + this.fileLines;
  }

  get bytes(): number {
    return this.memory.bytes + this.fileBytes;
  }

  get full(): boolean {
    return this.fileBytes >= this.opts.maxFileBytes;
  }

  push(json: string, bytes: number): void {
    this.lastJson = json;
    // Once anything is in the file, later lines go after it.
    if (
      this.fileLines === 0 &&
      this.memory.bytes + bytes <= this.opts.memoryBytes
    ) {
      this.memory.push(json, bytes);
      return;
    }
    const record = Buffer.from(`${json}\n`, "utf8");
    const fd = this.open();
    let done = 0;
    while (done < record.length) {
      const at = this.writeAt + done;
      done += writeSync(fd, record, done, record.length - done, at);
    }
    this.writeAt += record.length;
    this.fileLines += 1;
    this.fileBytes += bytes;
    this.spilled += 1;
  }

  take(maxBytes: number, maxLines: number): Entry[] {
    if (this.memory.length === 0 && this.fileLines > 0) this.refill();
    return this.memory.take(maxBytes, maxLines);
  }

  discard(): Discarded {
    const count = this.length;
    if (count === 0) return { count };
    if (this.memory.length === 0) this.refill();
    const first = this.memory.take(Number.POSITIVE_INFINITY, 1)[0]?.json;
    const out: Discarded = { count, first, last: this.lastJson };
    this.memory.discard();
    this.fileLines = 0;
    this.fileBytes = 0;
    this.reset();
    return out;
  }

  close(): void {
    this.memory.discard();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }

  private open(): number {
    if (this.fd !== null) return this.fd;
    this.dir = mkdtempSync(join(this.opts.dir ?? tmpdir(), "edgetail-spill-"));
    this.fd = openSync(join(this.dir, "lines.ndjson"), "w+", 0o600);
    return this.fd;
  }

  /** Moves about memoryBytes of lines from the file back to memory. */
  private refill(): void {
    const fd = this.open();
    let size = Math.max(64 * 1024, Math.min(this.opts.memoryBytes, 4 << 20));
    for (;;) {
      const want = Math.min(size, this.writeAt - this.readAt);
      const buf = Buffer.allocUnsafe(want);
      const got = readSync(fd, buf, 0, want, this.readAt);
      const end = buf.lastIndexOf(NEWLINE, got - 1);
      if (end === -1) {
        // One line longer than the buffer: read more at once.
        size *= 2;
        continue;
      }
      for (const json of buf.toString("utf8", 0, end).split("\n")) {
        const bytes = Buffer.byteLength(json, "utf8");
        this.memory.push(json, bytes);
        this.fileLines -= 1;
        this.fileBytes -= bytes;
      }
      this.readAt += end + 1;
      break;
    }
    if (this.fileLines === 0) this.reset();
  }

  /** The file is drained: start it over so it does not grow forever. */
  private reset(): void {
    if (this.fd !== null) ftruncateSync(this.fd, 0);
    this.readAt = 0;
    this.writeAt = 0;
  }
}
