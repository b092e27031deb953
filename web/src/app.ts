/**
 * @module The viewer of one deployment: wires the store, the live tail, the
 * row layout (folds and the unloaded middle of big logs) and the list.
 */
import { Api, ApiError, type Description, isPermanent } from "./api";
import { Controls } from "./controls";
import { type Filter, FilterList } from "./filter";
import { Layout } from "./layout";
import { isHiddenRow, plainText, type RowContext, rowElement } from "./row-dom";
import type { Section } from "./sections";
import { type Line, LineStore, PAGE, pageOf } from "./store";
import { LiveTail, type StreamState } from "./stream";
import { BLOCK, LogView, type ViewSource } from "./view";

/** Lines loaded at each end of a big log before anything else. */
const HEAD = 200;
const TAIL = 500;

/** A permalink: one line or a range. */
export interface Selection {
  from: number;
  to: number;
}

/** Parses `L12` or `L10-L20` (the fragment without `#`). */
export function parsePermalink(fragment: string): Selection | null {
  const m = /(?:^|&)L(\d+)(?:-L?(\d+))?(?:&|$)/.exec(fragment);
  if (!m?.[1]) return null;
  const a = Number(m[1]);
  const b = m[2] ? Number(m[2]) : a;
  return { from: Math.min(a, b), to: Math.max(a, b) };
}

/** The page of one deployment. */
export class App implements ViewSource {
  readonly api: Api;
  readonly store: LineStore;
  readonly view: LogView;
  readonly controls: Controls;
  private tail: LiveTail | null = null;
  private desc: Description | null = null;
  private readonly layout = new Layout();
  private epoch = 0;
  filter: FilterList | null = null;
  selection: Selection | null = null;
  query = "";
  currentMatch: number | null = null;
  time: "off" | "abs" | "rel" = "off";
  private newLines = 0;
  /** Lines at or below it were there at open: they are not "new". */
  private openedAt = 0;
  private waitingNotice: HTMLElement | null = null;
  private topSeq = 1;
  /** Lines handed over by the live tail, and the states it went through. */
  private delivered = 0;
  private readonly statesSeen: string[] = [];

  constructor(
    readonly deployment: string,
    token: () => string | null,
    private readonly onAuthError: (err: ApiError) => void,
  ) {
    this.api = new Api(deployment, token);
    this.store = new LineStore(this.api, () => this.changed());
    const scroller = must("log");
    this.view = new LogView(scroller, this);
    this.controls = new Controls(this);
    this.view.onFollow((on) => {
      if (on) {
        this.newLines = 0;
        this.layout.pin = null;
      }
      this.controls.showNewLines(on ? 0 : this.newLines, !on);
    });
    // A jump keeps its line unfolded until the user moves on.
    this.view.onUserScroll(() => {
      this.layout.pin = null;
    });
  }

  /** Loads the head and tail (or the line of a permalink) and goes live. */
  async start(permalink: Selection | null): Promise<void> {
    let failed = false;
    try {
      this.desc = await this.api.describe();
    } catch (err) {
      if (
        err instanceof ApiError &&
        (err.status === 401 || err.status === 403)
      ) {
        this.onAuthError(err);
        return;
      }
      failed = true;
      this.controls.notice(
        "error",
        `Could not load the deployment: ${errorText(err)}`,
      );
      // A bad id or a refused request will not get better by retrying.
      if (isPermanent(err)) {
        this.controls.status({ kind: "error", message: errorText(err) });
        this.statesSeen.push("error");
        return;
      }
    }
    const total = this.desc?.last_seq ?? 0;
    this.openedAt = total;
    this.store.setTotal(total);
    if (!this.desc && !failed) {
      this.waitingNotice = this.controls.notice(
        "info",
        "No line yet: waiting for the first one.",
      );
    }
    this.tail = new LiveTail((p) => this.api.streamUrl(p), {
      lines: (lines) => this.onLines(lines),
      state: (s) => this.onState(s),
      notice: (n) => this.controls.notice(n.kind, n.message),
      lastSeq: (seq) => {
        this.store.setTotal(seq);
        this.changed();
      },
      reset: () => this.onReset(),
    });
    if (permalink) {
      this.selection = permalink;
      this.controls.selectionChanged();
      this.tail.start({ tail: TAIL });
      this.goTo(permalink.from);
    } else if (total > HEAD + TAIL + 100) {
      this.layout.gap = { from: HEAD + 1, to: total - TAIL };
      this.store.want(1, HEAD, []);
      this.tail.start({ tail: TAIL });
    } else {
      this.tail.start({});
    }
    this.changed();
  }

  /** Something changed: lay out again if needed, then draw. */
  changed(): void {
    this.relayoutIfNeeded();
    this.view.request();
  }

  /** Redraws every row (a setting that affects all rows changed). */
  redraw(): void {
    this.epoch++;
    this.view.request();
  }

  // ViewSource

  count(): number {
    return this.filter ? this.filter.seqs.length : this.layout.rows.count;
  }

  seqAt(index: number): number {
    return this.filter
      ? (this.filter.seqs[index] ?? 0)
      : this.layout.rows.seqAt(index);
  }

  indexOfSeq(seq: number): number {
    if (!this.filter) return this.layout.rows.indexOf(seq);
    const seqs = this.filter.seqs;
    let lo = 0;
    let hi = seqs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((seqs[mid] ?? 0) < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  signature(b: number): string {
    const from = b * BLOCK;
    const to = Math.min(this.count(), from + BLOCK);
    let sig = `${this.epoch}:${this.layout.version}:${to - from}`;
    if (this.filter) return `${sig}:f${this.filter.version}`;
    let lastPage = -1;
    for (let i = from; i < to; i++) {
      const seq = this.layout.rows.seqAt(i);
      for (const p of [pageOf(seq), pageOf(seq + 1)]) {
        if (p !== lastPage) {
          sig += `:${p}.${this.store.versionOf(p * PAGE + 1)}`;
          lastPage = p;
        }
      }
    }
    return sig;
  }

  renderRows(el: HTMLElement, from: number, to: number): void {
    const ctx = this.rowContext();
    for (let i = from; i < to; i++) {
      const seq = this.seqAt(i);
      const gap = this.layout.gap;
      if (!this.filter && gap && seq === gap.from) {
        el.append(this.controls.gapRow(gap));
      } else {
        el.append(rowElement(seq, ctx));
      }
    }
  }

  visible(from: number, to: number): void {
    if (to <= from) return;
    const first = this.seqAt(from);
    const last = this.seqAt(to - 1);
    this.topSeq = this.seqAt(this.view.topIndex());
    if (this.filter) {
      if (to >= this.count() - BLOCK) void this.filter.more();
      return;
    }
    const total = this.store.total;
    this.store.want(first, last + 1, [
      [first, last + 1],
      [Math.max(1, total - TAIL), total],
    ]);
  }

  // Actions

  /** Shows `seq`: leaves the filtered view, opens the gap and folds. */
  goTo(seq: number): void {
    this.relayoutIfNeeded();
    if (this.filter && !this.filter.lines.has(seq)) {
      this.setFilter({ level: "", step: "" });
      this.controls.resetFilters();
    }
    // Sections are known only as their lines load: keep the target
    // unfolded (pinned) while they do, and the view keeps it in sight.
    this.layout.pin = seq;
    this.layout.reveal(seq);
    this.relayoutIfNeeded();
    this.view.scrollToSeq(seq);
    this.epoch++;
  }

  /** Folds or unfolds the section headed at `seq`. */
  toggleFold(seq: number): void {
    const section = this.layout.header(seq);
    if (!section) return;
    this.layout.pin = null;
    this.layout.setFolded(seq, !this.layout.folded(section));
    this.relayoutIfNeeded(seq);
  }

  /** Replaces the unloaded middle of a big log by its real lines. */
  openGap(): void {
    const at = this.layout.gap?.from ?? null;
    this.layout.gap = null;
    this.relayoutIfNeeded(at);
  }

  setFilter(filter: Filter): void {
    const anchor = this.topSeq;
    this.filter =
      filter.level || filter.step
        ? new FilterList(this.api, filter, () => this.view.request())
        : null;
    if (this.filter) void this.filter.more();
    this.layout.version++;
    this.view.relayout(null);
    if (!this.filter) this.view.scrollToIndex(this.layout.rows.indexOf(anchor));
  }

  select(sel: Selection | null): void {
    this.selection = sel;
    const hash = sel
      ? sel.from === sel.to
        ? `#L${sel.from}`
        : `#L${sel.from}-L${sel.to}`
      : "";
    history.replaceState(
      history.state,
      "",
      `${location.pathname}${location.search}${hash}`,
    );
    this.controls.selectionChanged();
    this.redraw();
  }

  /** The top row's seq (where a search starts). */
  get top(): number {
    return this.topSeq;
  }

  /** Whether row `index` shows nothing (keyboard moves skip it). */
  rowHidden(index: number): boolean {
    return isHiddenRow(this.seqAt(index), this.rowContext());
  }

  /** The plain text of a loaded line, for copying. */
  textOf(seq: number): string | null {
    const line = this.lineAt(seq);
    return line ? plainText(line, this.rowContext()) : null;
  }

  /** The row index of the header of the innermost section holding `seq`. */
  sectionOf(seq: number): Section | undefined {
    return this.layout.header(seq) ?? this.layout.containing(seq);
  }

  /** A line in memory (filtered view first). */
  lineAt(seq: number): Line | undefined {
    return this.filter?.lines.get(seq) ?? this.store.get(seq);
  }

  /** Figures for tests and the bench. */
  stats(): Record<string, number | boolean> {
    return {
      total: this.store.total,
      inMemory: this.store.size(),
      rows: this.count(),
      following: this.view.following,
      lastSeq: this.tail?.seq ?? 0,
      delivered: this.delivered,
    };
  }

  /** Connection states seen so far, in order (for the tests). */
  states(): string[] {
    return [...this.statesSeen];
  }

  private rowContext(): RowContext {
    const start = Date.parse(this.desc?.created_at ?? "") || 0;
    return {
      line: (seq) => this.lineAt(seq),
      header: (seq) => (this.filter ? undefined : this.layout.header(seq)),
      depth: (seq) => {
        const s = this.filter ? undefined : this.layout.containing(seq);
        return s ? s.depth + 1 : 0;
      },
      folded: (s) => this.layout.folded(s),
      selected: (seq) =>
        this.selection !== null &&
        seq >= this.selection.from &&
        seq <= this.selection.to,
      query: this.query,
      currentMatch: this.currentMatch,
      time: this.time,
      startMs: this.store.get(1)?.ts ?? start,
      join: !this.filter,
    };
  }

  private relayoutIfNeeded(anchorSeq: number | null = null): void {
    const anchor = anchorSeq ?? this.topSeq;
    if (this.layout.update(this.store) !== "changed" || this.filter) return;
    this.view.relayout(this.layout.rows.indexOf(anchor));
    if (this.layout.pin !== null && !this.view.jumping) {
      this.view.scrollToSeq(this.layout.pin);
    }
  }

  private onLines(lines: Parameters<LineStore["add"]>[0]): void {
    this.delivered += lines.length;
    this.store.add(lines);
    this.filter?.live(lines);
    if (lines.length > 0 && this.waitingNotice) {
      this.waitingNotice.remove();
      this.waitingNotice = null;
    }
    // The backlog the stream replays at open is not news.
    const fresh = lines.filter((l) => l.seq > this.openedAt).length;
    if (!this.view.following && fresh > 0) {
      this.newLines += fresh;
      this.controls.showNewLines(this.newLines, true);
    }
    this.changed();
  }

  private onState(state: StreamState): void {
    this.controls.status(state);
    // A stream that keeps failing may have an expired token: ask the API,
    // which says why (a WebSocket upgrade refusal carries no status).
    if (state.kind === "reconnecting" && state.attempt === 3) {
      void this.api.describe().catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 401) {
          this.tail?.stop();
          this.onAuthError(err);
        } else if (isPermanent(err)) {
          this.tail?.stop();
          this.controls.notice(
            "error",
            `Could not load the deployment: ${errorText(err)}`,
          );
          this.onState({ kind: "error", message: errorText(err) });
        }
      });
    }
    if (this.statesSeen.at(-1) !== state.kind) this.statesSeen.push(state.kind);
    if (state.kind === "ended" && this.desc) this.desc.status = state.status;
  }

  private onReset(): void {
    this.store.clear();
    this.layout.clear();
    this.changed();
  }
}

/** The element with `id`; the page's markup guarantees it. */
export function must<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el as T;
}

/** A message for the user from any error. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return `${err.message} (${err.code})`;
  if (err instanceof Error) return err.message;
  return String(err);
}
