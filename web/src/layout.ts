/**
 * @module The row layout of the whole log: which sections are folded, the
 * unloaded middle of a big log (the gap), and the {@link RowMap} they make
 * together with the total.
 */
import { type Interval, RowMap } from "./rows";
import type { Section } from "./sections";
import type { LineStore } from "./store";

/** Folds, the gap, and the rows they leave. */
export class Layout {
  rows = new RowMap(0, []);
  /** Bumped whenever rows move (not when lines are only appended). */
  version = 0;
  gap: Interval | null = null;
  /** A line jumped to: sections holding it stay unfolded as they load. */
  pin: number | null = null;
  private folds = new Map<number, boolean>();
  private key = "";
  private headers = new Map<number, Section>();
  private sections: Section[] = [];

  /** Whether `s` is folded: the user's choice, else the CI's default. */
  folded(s: Section): boolean {
    const own = this.folds.get(s.header);
    if (own !== undefined) return own;
    // An open section folds only when asked: its end may not be loaded.
    return s.collapsedByDefault && s.end !== null;
  }

  setFolded(header: number, folded: boolean): void {
    this.folds.set(header, folded);
  }

  /** The section whose header line is `seq`. */
  header(seq: number): Section | undefined {
    return this.headers.get(seq);
  }

  /** The innermost section holding `seq` (not as its header). */
  containing(seq: number): Section | undefined {
    let lo = 0;
    let hi = this.sections.length - 1;
    let k = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.sections[mid]?.header ?? 0) < seq) {
        k = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    for (let s = this.sections[k] ?? null; s; s = s.parent) {
      if (s.end === null || s.end >= seq) return s;
    }
    return undefined;
  }

  /** Unfolds every section and opens the gap so that `seq` is a row. */
  reveal(seq: number): void {
    if (this.gap && seq > this.gap.from && seq <= this.gap.to) this.gap = null;
    this.unfoldAround(seq, this.sections);
  }

  private unfoldAround(seq: number, sections: Section[]): void {
    for (const s of sections) {
      if (
        s.header < seq &&
        (s.end === null || s.end >= seq) &&
        this.folded(s)
      ) {
        this.folds.set(s.header, false);
      }
    }
  }

  /** Forgets folds and the gap (the log was re-created). */
  clear(): void {
    this.gap = null;
    this.folds.clear();
  }

  /**
   * Recomputes the rows from the store's total and sections. Returns
   * "changed" when rows moved, "grown" when lines were only added.
   */
  update(store: LineStore): "same" | "grown" | "changed" {
    const total = store.total;
    const sections = store.sections();
    if (this.pin !== null) this.unfoldAround(this.pin, sections);
    const hidden: Interval[] = [];
    const gap = this.gap;
    if (gap) {
      gap.to = Math.max(gap.to, gap.from);
      hidden.push({ from: gap.from + 1, to: gap.to });
    }
    for (const s of sections) {
      if (!this.folded(s)) continue;
      let end = s.end ?? total;
      // Never fold across the unloaded middle: its lines are unknown.
      if (gap && s.header < gap.from) end = Math.min(end, gap.from - 1);
      hidden.push({ from: s.header + 1, to: end });
    }
    const key = `${hidden.map((h) => `${h.from}-${h.to}`).join(",")}|${store.sectionsVersion}`;
    if (key === this.key && total === this.rows.total) return "same";
    this.rows = new RowMap(total, hidden);
    if (key === this.key) return "grown";
    this.key = key;
    this.version++;
    this.sections = sections;
    this.headers = new Map(sections.map((s) => [s.header, s]));
    return "changed";
  }
}
