/**
 * @module The lines the page holds: a bounded window of fixed-size pages
 * of seqs. Pages near the screen and the live tail stay; the others are
 * dropped (least recently used first) and fetched again from history when
 * the user scrolls back. Section markers outlive their pages: they are few
 * and the section tree needs them all.
 */
import type { Api, WireLine } from "./api";
import {
  buildSections,
  type Mark,
  type Parsed,
  parseMarks,
  type Section,
} from "./sections";
import type { DrawnLine } from "./terminal/line";

/** Seqs per page: one history request each. */
export const PAGE = 500;
/** Pages kept in memory: with PAGE = 500, 40,000 lines at most. */
const MAX_PAGES = 80;
/** Page fetches in flight at once. */
const MAX_LOADS = 3;
/** ClickHouse trails ingest by about a second: retry short pages. */
const RETRY_MS = 1_000;
/** Markers kept (each a few dozen bytes); beyond it sections are partial. */
const MAX_MARKS = 200_000;

/** A line as the page keeps it. */
export interface Line {
  seq: number;
  ts: number;
  level: string;
  step: string;
  stream: string;
  message: string;
  partial: boolean;
  redacted: boolean;
  parsed: Parsed;
  /** Drawn on first display, dropped with the page. */
  drawn?: DrawnLine;
}

interface Page {
  lines: (Line | undefined)[];
  /** Every seq of the page up to the total is here. */
  complete: boolean;
  loading: boolean;
  retryAt: number;
  usedAt: number;
  version: number;
}

/** Holds the window of lines and loads the missing ones on request. */
export class LineStore {
  total = 0;
  /** Bumped when sections change (a marker arrived). */
  sectionsVersion = 0;
  private pages = new Map<number, Page>();
  private loads = 0;
  private marks = new Map<number, Mark[]>();
  private sectionCache: { version: number; sections: Section[] } | null = null;
  private clock = 0;
  private readonly steps = new Set<string>();

  constructor(
    private readonly api: Api,
    private readonly onChange: () => void,
  ) {}

  /** Forgets everything (the log was re-created). */
  clear(): void {
    this.pages.clear();
    this.marks.clear();
    this.total = 0;
    this.sectionsVersion++;
  }

  get(seq: number): Line | undefined {
    const page = this.pages.get(pageOf(seq));
    if (page) page.usedAt = ++this.clock;
    return page?.lines[(seq - 1) % PAGE];
  }

  /** The version of the page holding `seq` (for re-render checks). */
  versionOf(seq: number): number {
    return this.pages.get(pageOf(seq))?.version ?? -1;
  }

  /** Steps seen so far, for the step filter. */
  knownSteps(): string[] {
    return [...this.steps].sort();
  }

  /** Lines from the stream or from history, in any order. */
  add(wire: WireLine[]): void {
    const touched = new Set<number>();
    for (const w of wire) {
      const p = pageOf(w.seq);
      let page = this.pages.get(p);
      if (!page) {
        page = newPage(++this.clock);
        this.pages.set(p, page);
      }
      touched.add(p);
      const slot = (w.seq - 1) % PAGE;
      if (!page.lines[slot]) page.lines[slot] = toLine(w);
      page.version++;
      if (w.seq > this.total) this.total = w.seq;
      const line = page.lines[slot];
      if (line && line.parsed.marks.length > 0 && !this.marks.has(w.seq)) {
        if (this.marks.size < MAX_MARKS) {
          this.marks.set(w.seq, line.parsed.marks);
          this.sectionsVersion++;
        }
      }
      if (w.step && this.steps.size < 500) this.steps.add(w.step);
    }
    for (const p of touched) {
      const page = this.pages.get(p);
      if (page && !page.complete) page.complete = this.isFull(p, page);
    }
  }

  /** Grows the total (a heartbeat or describe saw more lines). */
  setTotal(total: number): void {
    if (total > this.total) this.total = total;
  }

  /** Whether every seq from `from` to `to` is in memory. */
  has(from: number, to: number): boolean {
    for (let p = pageOf(from); p <= pageOf(to); p++) {
      const page = this.pages.get(p);
      if (!page) return false;
      const lo = Math.max(from, p * PAGE + 1);
      const hi = Math.min(to, (p + 1) * PAGE);
      for (let s = lo; s <= hi; s++)
        if (!page.lines[(s - 1) % PAGE]) return false;
    }
    return true;
  }

  /**
   * Starts loading the pages of seqs `from`..`to` that are missing, then
   * drops pages outside `keep` (seq ranges) beyond the memory budget.
   */
  want(from: number, to: number, keep: [number, number][]): void {
    const now = Date.now();
    for (let p = pageOf(Math.max(1, from)); p <= pageOf(to); p++) {
      if (p * PAGE + 1 > this.total) break;
      let page = this.pages.get(p);
      const upto = Math.min(this.total, (p + 1) * PAGE);
      if (
        page &&
        (page.complete ||
          page.loading ||
          page.retryAt > now ||
          this.has(p * PAGE + 1, upto))
      ) {
        page.usedAt = ++this.clock;
        continue;
      }
      if (this.loads >= MAX_LOADS) break;
      if (!page) {
        page = newPage(++this.clock);
        this.pages.set(p, page);
      }
      void this.load(p, page);
    }
    this.evict(keep);
  }

  /** Sections from every marker seen, rebuilt when markers change. */
  sections(): Section[] {
    if (this.sectionCache?.version === this.sectionsVersion) {
      return this.sectionCache.sections;
    }
    const sorted = [...this.marks.entries()]
      .sort((a, b) => a[0] - b[0])
      .flatMap(([seq, marks]) => marks.map((mark) => ({ seq, mark })));
    const sections = buildSections(sorted);
    this.sectionCache = { version: this.sectionsVersion, sections };
    return sections;
  }

  /** How many lines are in memory (for the bench and the tests). */
  size(): number {
    let n = 0;
    for (const page of this.pages.values()) {
      for (const line of page.lines) if (line) n++;
    }
    return n;
  }

  private isFull(p: number, page: Page): boolean {
    const last = Math.min(this.total, (p + 1) * PAGE);
    for (let s = p * PAGE + 1; s <= last; s++) {
      if (!page.lines[(s - 1) % PAGE]) return false;
    }
    return last === (p + 1) * PAGE;
  }

  private async load(p: number, page: Page): Promise<void> {
    page.loading = true;
    this.loads++;
    try {
      const res = await this.api.history({
        from_seq: p * PAGE + 1,
        limit: PAGE,
      });
      this.add(res.lines.filter((l) => pageOf(l.seq) === p));
      const upto = Math.min(this.total, (p + 1) * PAGE);
      if (!this.has(p * PAGE + 1, upto)) page.retryAt = Date.now() + RETRY_MS;
    } catch {
      page.retryAt = Date.now() + RETRY_MS * 2;
    } finally {
      page.loading = false;
      page.version++;
      this.loads--;
      this.onChange();
    }
  }

  private evict(keep: [number, number][]): void {
    if (this.pages.size <= MAX_PAGES) return;
    const kept = (p: number) =>
      keep.some(([a, b]) => p >= pageOf(a) - 1 && p <= pageOf(b) + 1);
    const candidates = [...this.pages.entries()]
      .filter(([p, page]) => !page.loading && !kept(p))
      .sort((a, b) => a[1].usedAt - b[1].usedAt);
    for (const [p] of candidates) {
      if (this.pages.size <= MAX_PAGES) break;
      this.pages.delete(p);
    }
  }
}

/** The page index of a seq. */
export function pageOf(seq: number): number {
  return Math.floor((seq - 1) / PAGE);
}

function newPage(usedAt: number): Page {
  return {
    lines: new Array(PAGE),
    complete: false,
    loading: false,
    retryAt: 0,
    usedAt,
    version: 0,
  };
}

/** A wire line as the page keeps it. */
export function toLine(w: WireLine): Line {
  return {
    seq: w.seq,
    ts: Date.parse(w.ts),
    level: w.level,
    step: w.step,
    stream: w.stream,
    message: w.message,
    partial: w.partial === true,
    redacted: w.redaction_state === "redacted",
    parsed: parseMarks(w.message),
  };
}
