/**
 * @module One row of the list as DOM: line number (the seq, a permalink),
 * optional timestamp, fold control and duration on section headers, and
 * the line drawn like a terminal would. Rows that show nothing (the
 * continuation of a split line, a marker-only line, a header line that
 * GitLab puts after its marker) stay in the DOM as hidden rows, so that
 * child k of a block is always row k.
 */
import type { Section } from "./sections";
import type { Line } from "./store";
import { appendDrawn } from "./terminal/dom";
import { type DrawnLine, drawLine } from "./terminal/line";

/** What a row needs to know about the rest of the page. */
export interface RowContext {
  line(seq: number): Line | undefined;
  header(seq: number): Section | undefined;
  depth(seq: number): number;
  folded(section: Section): boolean;
  selected(seq: number): boolean;
  query: string;
  currentMatch: number | null;
  time: "off" | "abs" | "rel";
  startMs: number;
  /** Whether split lines and GitLab headers are joined (not when filtered). */
  join: boolean;
}

/** Builds the row of `seq`. */
export function rowElement(seq: number, ctx: RowContext): HTMLElement {
  const row = document.createElement("div");
  row.className = "row";
  row.dataset.seq = String(seq);
  const line = ctx.line(seq);
  const prev = ctx.join ? ctx.line(seq - 1) : undefined;
  if (prev && (prev.partial || absorbsNext(prev))) return hide(row);

  const section = ctx.header(seq);
  const depth = section ? section.depth : ctx.depth(seq);
  if (depth > 0) row.style.setProperty("--depth", String(depth));
  if (ctx.selected(seq)) row.classList.add("selected");
  if (ctx.currentMatch === seq) row.classList.add("current");

  const ln = document.createElement("a");
  ln.className = "ln";
  ln.href = `#L${seq}`;
  ln.tabIndex = -1;
  ln.textContent = String(seq);
  row.append(ln);

  if (!line) {
    row.classList.add("pending");
    row.append(span("msg", ""));
    return row;
  }
  const drawn = drawnOf(line, ctx);
  if (!section && line.parsed.marks.length > 0 && drawn.text.trim() === "") {
    return hide(row);
  }
  if (line.level !== "info") row.classList.add(`lvl-${line.level}`);
  if (line.stream === "stderr") row.classList.add("stderr");
  if (line.parsed.annotation)
    row.classList.add(`gha-${line.parsed.annotation}`);
  if (ctx.time !== "off") row.append(timeCell(line, drawn, ctx));

  if (section) {
    const folded = ctx.folded(section);
    row.classList.add("header");
    const fold = document.createElement("button");
    fold.type = "button";
    fold.className = "fold";
    fold.dataset.header = String(seq);
    fold.setAttribute("aria-expanded", String(!folded));
    fold.setAttribute("aria-label", folded ? "Unfold section" : "Fold section");
    fold.textContent = folded ? "▸" : "▾";
    row.append(fold);
  }
  const msg = span("msg", "");
  let shown = drawn;
  if (section && drawn.text.trim() === "") {
    const next = ctx.line(seq + 1);
    shown =
      next && ctx.join && absorbsNext(line)
        ? drawnOf(next, ctx)
        : drawLine(section.name);
  }
  appendDrawn(msg, shown, ctx.query);
  if (line.partial && !ctx.line(seq + 1)) msg.append(span("more", "…"));
  row.append(msg);
  if (section) {
    const d = duration(section, ctx);
    if (d) row.append(span("dur", d));
  }
  return row;
}

/**
 * Whether the row of `seq` shows nothing (the rest of a split line, a
 * marker-only line, the header text GitLab puts after its marker).
 */
export function isHiddenRow(seq: number, ctx: RowContext): boolean {
  const prev = ctx.join ? ctx.line(seq - 1) : undefined;
  if (prev && (prev.partial || absorbsNext(prev))) return true;
  const line = ctx.line(seq);
  if (!line || ctx.header(seq)) return false;
  return line.parsed.marks.length > 0 && drawnOf(line, ctx).text.trim() === "";
}

/**
 * The row `d` steps from `index` (1 down, -1 up), skipping rows that show
 * nothing; stays at `index` when there is no such row that way.
 */
export function stepIndex(
  index: number,
  d: number,
  count: number,
  hidden: (index: number) => boolean,
): number {
  for (let i = index + d; i >= 0 && i < count; i += d) {
    if (!hidden(i)) return i;
  }
  return index;
}

/** A GitLab section_start line with no header text takes the next line. */
function absorbsNext(line: Line): boolean {
  const start = line.parsed.marks.find((m) => m.kind === "start");
  return (
    start?.kind === "start" &&
    start.flavor === "gitlab" &&
    line.parsed.text.replace(CONTROLS, "") === ""
  );
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: SGR and EL only
const CONTROLS = /\x1b\[[0-9;]*[mK]|\r/g;

/** Plain text of a row, for copying. */
export function plainText(line: Line, ctx: RowContext): string {
  return drawnOf(line, ctx).text.replace(/\s+$/, "");
}

function drawnOf(line: Line, ctx: RowContext): DrawnLine {
  if (line.drawn) return line.drawn;
  let text = line.parsed.text;
  if (ctx.join && line.partial) {
    for (let s = line.seq + 1; ; s++) {
      const part = ctx.line(s);
      if (!part) break;
      text += part.message;
      if (!part.partial) break;
    }
  }
  const drawn = drawLine(text);
  // A joined line is cached only once all its parts are in.
  if (!line.partial || !ctx.join) line.drawn = drawn;
  return drawn;
}

function timeCell(line: Line, drawn: DrawnLine, ctx: RowContext): HTMLElement {
  const t = line.parsed.prefixTime ?? drawn.apcTime ?? line.ts;
  const cell = span("ts", "");
  const date = new Date(t);
  cell.title = date.toISOString();
  if (ctx.time === "abs") {
    cell.textContent = date.toLocaleTimeString(undefined, {
      hour12: false,
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      fractionalSecondDigits: 3,
    } as Intl.DateTimeFormatOptions);
  } else {
    cell.textContent = relative(t - ctx.startMs);
  }
  return cell;
}

function relative(ms: number): string {
  const sign = ms < 0 ? "-" : "+";
  const abs = Math.abs(ms);
  const m = Math.floor(abs / 60_000);
  const s = ((abs % 60_000) / 1000).toFixed(3).padStart(6, "0");
  return `${sign}${m}:${s}`;
}

function duration(section: Section, ctx: RowContext): string | null {
  let ms: number | null = null;
  if (section.startTime !== undefined && section.endTime !== undefined) {
    ms = section.endTime - section.startTime;
  } else if (section.end !== null) {
    const a = ctx.line(section.header);
    const b = ctx.line(section.end);
    const ta = a && (a.parsed.prefixTime ?? a.drawn?.apcTime);
    const tb = b && (b.parsed.prefixTime ?? b.drawn?.apcTime);
    if (ta !== undefined && tb !== undefined) ms = tb - ta;
  }
  if (ms === null || ms < 0 || !Number.isFinite(ms)) return null;
  return formatDuration(ms);
}

/** `1h 02m`, `3m 07s`, `4.2s`: rounded once, then split. */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 9.95) return `${s.toFixed(1)}s`;
  const secs = Math.round(s);
  if (secs < 60) return `${secs}s`;
  if (secs < 3600) {
    const m = Math.floor(secs / 60);
    return `${m}m ${String(secs % 60).padStart(2, "0")}s`;
  }
  const mins = Math.round(s / 60);
  return `${Math.floor(mins / 60)}h ${String(mins % 60).padStart(2, "0")}m`;
}

function span(cls: string, text: string): HTMLElement {
  const el = document.createElement("span");
  el.className = cls;
  el.textContent = text;
  return el;
}

function hide(row: HTMLElement): HTMLElement {
  row.className = "row hidden";
  row.textContent = "";
  return row;
}
