/**
 * @module Where lines wait for their batch. The core keeps them in memory
 * and makes writers wait past a limit; the Node wrapper (spill.ts) swaps
 * in a queue that overflows to a file instead.
 */

/** Lines waiting to be sent, oldest first, as JSON line objects. */
export interface LineQueue {
  /** Lines waiting. */
  readonly length: number;
  /** Their size as UTF-8 JSON. */
  readonly bytes: number;
  /** True when writers should wait before adding more. */
  readonly full: boolean;
  /** Appends one encoded line of `bytes` UTF-8 bytes. */
  push(json: string, bytes: number): void;
  /**
   * Removes lines from the front: as many as fit in `maxBytes` and
   * `maxLines`, but at least one when any is waiting.
   */
  take(maxBytes: number, maxLines: number): Entry[];
  /** Empties the queue; says what was in it (for the close report). */
  discard(): Discarded;
  /** Releases what the queue holds (files); it is not used after. */
  close(): void;
}

/** One waiting line. */
export interface Entry {
  json: string;
  bytes: number;
}

/** What a discarded queue held. */
export interface Discarded {
  count: number;
  /** JSON of the first and last lines, when any. */
  first?: string;
  last?: string;
}

/** An in-memory queue, full at `limitBytes`. */
export class MemoryQueue implements LineQueue {
  private entries: Entry[] = [];
  private head = 0;
  private size = 0;

  constructor(private readonly limitBytes: number) {}

  get length(): number {
    return this.entries.length - this.head;
  }

  get bytes(): number {
    return this.size;
  }

  get full(): boolean {
    return this.size >= this.limitBytes;
  }

  push(json: string, bytes: number): void {
    this.entries.push({ json, bytes });
    this.size += bytes;
  }

  take(maxBytes: number, maxLines: number): Entry[] {
    const out: Entry[] = [];
    let bytes = 0;
    while (this.head < this.entries.length && out.length < maxLines) {
      const entry = this.entries[this.head] as Entry;
      if (out.length > 0 && bytes + entry.bytes > maxBytes) break;
      out.push(entry);
      bytes += entry.bytes;
      this.head += 1;
    }
    this.size -= bytes;
    this.compact();
    return out;
  }

  discard(): Discarded {
    const count = this.length;
    const out: Discarded = { count };
    if (count > 0) {
      out.first = this.entries[this.head]?.json;
      out.last = this.entries.at(-1)?.json;
    }
    this.entries = [];
    this.head = 0;
    this.size = 0;
    return out;
  }

  close(): void {
    this.discard();
  }

  /** Drops taken entries once they are many, so take() stays O(1). */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}

/** UTF-8 length of a string, without encoding it. */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      // A surrogate pair is one 4-byte code point.
      n += 4;
      i += 1;
    } else n += 3;
  }
  return n;
}
