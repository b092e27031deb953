/**
 * @module The filtered view (level and/or step): the matching lines, paged
 * from history with the server's filters as the user scrolls, then kept up
 * to date from the live tail once history is exhausted.
 */
import type { Api, HistoryQuery, WireLine } from "./api";
import { type Line, toLine } from "./store";

/** Most matches held; past it the list says so instead of growing. */
export const MAX_FILTERED = 100_000;
const PAGE = 1_000;

/** Server-side filters of the view. */
export interface Filter {
  level: string;
  step: string;
}

/** The matching lines, in seq order. */
export class FilterList {
  readonly seqs: number[] = [];
  readonly lines = new Map<number, Line>();
  hasMore = true;
  version = 0;
  private cursor: string | null = null;
  private loading = false;
  private readonly levels: Set<string> | null;

  constructor(
    private readonly api: Api,
    readonly filter: Filter,
    private readonly onChange: () => void,
  ) {
    this.levels = filter.level ? new Set(filter.level.split(",")) : null;
  }

  /** Whether the list stopped at its size limit. */
  get capped(): boolean {
    return this.seqs.length >= MAX_FILTERED;
  }

  /** Loads the next page of matches, if any and not already loading. */
  async more(): Promise<void> {
    if (this.loading || !this.hasMore || this.capped) return;
    this.loading = true;
    try {
      const query: HistoryQuery = { limit: PAGE };
      if (this.cursor) query.cursor = this.cursor;
      if (this.filter.level) query.level = this.filter.level;
      if (this.filter.step) query.step = this.filter.step;
      const page = await this.api.history(query);
      this.push(page.lines);
      this.cursor = page.next_cursor ?? this.cursor;
      this.hasMore = page.has_more;
    } catch {
      // Retried when the user scrolls to the end again.
    } finally {
      this.loading = false;
      this.version++;
      this.onChange();
    }
  }

  /** Live lines: appended once history has nothing more to give. */
  live(lines: WireLine[]): void {
    if (this.hasMore) return;
    const matching = lines.filter(
      (l) =>
        (!this.levels || this.levels.has(l.level)) &&
        (!this.filter.step || l.step === this.filter.step),
    );
    if (matching.length === 0) return;
    this.push(matching);
    this.version++;
  }

  private push(lines: WireLine[]): void {
    for (const w of lines) {
      if (this.capped) return;
      const last = this.seqs.at(-1) ?? 0;
      if (w.seq <= last) continue;
      this.seqs.push(w.seq);
      this.lines.set(w.seq, toLine(w));
    }
  }
}
