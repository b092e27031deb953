/**
 * @module Which seqs are rows on screen. Every seq from 1 to the total is
 * a row, except those inside hidden intervals: folded sections (the header
 * stays) and the not-yet-loaded middle of a big log (one marker row stays).
 * Maps row index <-> seq in O(log k) for k intervals.
 */

/** A closed seq interval [from, to] that takes no rows. */
export interface Interval {
  from: number;
  to: number;
}

/** The row layout for one set of hidden intervals. */
export class RowMap {
  readonly count: number;
  private readonly from: number[] = [];
  private readonly to: number[] = [];
  /** Hidden seqs before interval k. */
  private readonly before: number[] = [];

  constructor(
    readonly total: number,
    hidden: Interval[],
  ) {
    const sorted = hidden
      .map((h) => ({ from: Math.max(1, h.from), to: Math.min(total, h.to) }))
      .filter((h) => h.from <= h.to)
      .sort((a, b) => a.from - b.from);
    let hiddenSoFar = 0;
    for (const h of sorted) {
      const last = this.to.length - 1;
      const lastTo = this.to[last];
      if (lastTo !== undefined && h.from <= lastTo + 1) {
        if (h.to > lastTo) {
          hiddenSoFar += h.to - lastTo;
          this.to[last] = h.to;
        }
        continue;
      }
      this.from.push(h.from);
      this.to.push(h.to);
      this.before.push(hiddenSoFar);
      hiddenSoFar += h.to - h.from + 1;
    }
    this.count = total - hiddenSoFar;
  }

  /** The seq shown at row `index` (0-based). */
  seqAt(index: number): number {
    // Last interval whose first hidden seq comes after row `index`'s seq.
    let lo = 0;
    let hi = this.from.length - 1;
    let k = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const rowOfFrom = (this.from[mid] ?? 0) - 1 - (this.before[mid] ?? 0);
      if (rowOfFrom <= index) {
        k = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (k < 0) return index + 1;
    const hiddenUpTo =
      (this.before[k] ?? 0) + (this.to[k] ?? 0) - (this.from[k] ?? 0) + 1;
    return index + 1 + hiddenUpTo;
  }

  /** The row showing `seq`, or the row just before it when it is hidden. */
  indexOf(seq: number): number {
    let lo = 0;
    let hi = this.from.length - 1;
    let k = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.from[mid] ?? 0) <= seq) {
        k = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (k < 0) return Math.max(0, seq - 1);
    const from = this.from[k] ?? 0;
    const to = this.to[k] ?? 0;
    const before = this.before[k] ?? 0;
    if (seq <= to) return Math.max(0, from - 2 - before);
    return seq - 1 - before - (to - from + 1);
  }

  /** Whether `seq` takes no row. */
  isHidden(seq: number): boolean {
    const index = this.indexOf(seq);
    return this.seqAt(index) !== seq;
  }
}
