/**
 * @module The line model: replays one log line the way a terminal would
 * draw it on a single row. Text lands in cells at the cursor, `\r` and
 * cursor moves go back over them (the last overwrite wins), erase-in-line
 * blanks them, tabs advance to the next multiple of 8. SGR parameters are
 * interpreted by anser; OSC 8 links are kept when they point at http(s).
 */
import Anser from "anser";
import { type Token, tokenize } from "./tokenize";

/** How a run of text looks. `cls` and `css` are ready for the DOM. */
export interface Style {
  cls: string;
  css: string;
  href: string | null;
}

/** Consecutive cells with one style. */
export interface Run {
  text: string;
  style: number;
}

/** A line drawn: its runs, the styles they index and its plain text. */
export interface DrawnLine {
  runs: Run[];
  styles: Style[];
  text: string;
  /** Buildkite's `bk;t=` time of the line, epoch ms, when present. */
  apcTime?: number;
}

const TAB = 8;
const PLAIN: Style = { cls: "", css: "", href: null };

/** Draws `raw` (one logical line, escapes included) into runs. */
export function drawLine(raw: string): DrawnLine {
  const tokens = tokenize(raw);
  const styles: Style[] = [PLAIN];
  const styleIds = new Map<string, number>([["||", 0]]);
  const chars: string[] = [];
  const cellStyle: number[] = [];
  const anser = new Anser();
  let sgr: Pick<Style, "cls" | "css"> = { cls: "", css: "" };
  let href: string | null = null;
  let current = 0;
  let col = 0;
  let apcTime: number | undefined;

  const restyle = () => {
    const key = `${sgr.cls}|${sgr.css}|${href ?? ""}`;
    let id = styleIds.get(key);
    if (id === undefined) {
      id = styles.length;
      styles.push({ ...sgr, href });
      styleIds.set(key, id);
    }
    current = id;
  };
  const pad = (upto: number) => {
    while (chars.length < upto) {
      chars.push(" ");
      cellStyle.push(0);
    }
  };

  for (const token of tokens) {
    switch (token.t) {
      case "text":
        for (const ch of token.s) {
          pad(col);
          chars[col] = ch;
          cellStyle[col] = current;
          col++;
        }
        break;
      case "sgr":
        sgr = styleOf(
          anser.processChunkJson(`${token.params}m`, OPTIONS, true),
        );
        restyle();
        break;
      case "cr":
        col = 0;
        break;
      case "bs":
        col = Math.max(0, col - 1);
        break;
      case "tab":
        col = (Math.floor(col / TAB) + 1) * TAB;
        break;
      case "col":
        col = token.col;
        break;
      case "move":
        col = Math.max(0, col + token.n);
        break;
      case "el":
        erase(chars, cellStyle, col, token.mode);
        break;
      case "link":
        href =
          token.href && /^https?:\/\//i.test(token.href) ? token.href : null;
        restyle();
        break;
      case "apc": {
        const t = /^bk;t=(\d+)/.exec(token.s);
        if (t?.[1] && apcTime === undefined) apcTime = Number(t[1]);
        break;
      }
    }
  }
  // Cursor moves past the end leave nothing visible behind them.
  const runs = toRuns(chars, cellStyle);
  const drawn: DrawnLine = { runs, styles, text: chars.join("") };
  if (apcTime !== undefined) drawn.apcTime = apcTime;
  return drawn;
}

const OPTIONS = { json: true as const, use_classes: true };

function erase(
  chars: string[],
  cellStyle: number[],
  col: number,
  mode: number,
) {
  if (mode === 0) {
    chars.length = Math.min(chars.length, col);
    cellStyle.length = chars.length;
    return;
  }
  const upto = mode === 1 ? Math.min(chars.length, col + 1) : chars.length;
  for (let k = 0; k < upto; k++) {
    chars[k] = " ";
    cellStyle[k] = 0;
  }
  if (mode === 2) {
    chars.length = Math.min(chars.length, col);
    cellStyle.length = chars.length;
  }
}

function toRuns(chars: string[], cellStyle: number[]): Run[] {
  // Trailing blanks in the default style are not worth a DOM node.
  let end = chars.length;
  while (end > 0 && chars[end - 1] === " " && cellStyle[end - 1] === 0) end--;
  const runs: Run[] = [];
  let start = 0;
  for (let k = 1; k <= end; k++) {
    if (k === end || cellStyle[k] !== cellStyle[start]) {
      runs.push({
        text: chars.slice(start, k).join(""),
        style: cellStyle[start] ?? 0,
      });
      start = k;
    }
  }
  return runs;
}

/** Turns anser's state into CSS classes and inline colours. */
function styleOf(e: Anser.AnserJsonEntry): Pick<Style, "cls" | "css"> {
  const decorations = new Set(e.decorations);
  let fg = colour(e.fg, e.fg_truecolor);
  let bg = colour(e.bg, e.bg_truecolor);
  if (decorations.has("reverse")) {
    [fg, bg] = [bg ?? { cls: "default-bg" }, fg ?? { cls: "default-fg" }];
  }
  const cls: string[] = [];
  const css: string[] = [];
  if (fg?.cls) cls.push(`fg-${fg.cls}`);
  if (fg?.rgb) css.push(`color:rgb(${fg.rgb})`);
  if (bg?.cls) cls.push(`bg-${bg.cls}`);
  if (bg?.rgb) css.push(`background-color:rgb(${bg.rgb})`);
  for (const d of ["bold", "dim", "italic", "underline", "strikethrough"]) {
    if (decorations.has(d as Anser.DecorationName)) cls.push(d);
  }
  if (decorations.has("hidden")) cls.push("concealed");
  return { cls: cls.join(" "), css: css.join(";") };
}

interface Colour {
  cls?: string;
  rgb?: string;
}

function colour(name: string | null, truecolor: string | null): Colour | null {
  if (!name) return null;
  if (name === "ansi-truecolor") return truecolor ? { rgb: truecolor } : null;
  const palette = /^ansi-palette-(\d+)$/.exec(name);
  if (palette) return { rgb: xterm256(Number(palette[1])) };
  // ansi-red, ansi-bright-red: themed by CSS (light and dark differ).
  return { cls: name.replace(/^ansi-/, "") };
}

/** The xterm 256-colour palette above the 16 themed colours. */
export function xterm256(n: number): string {
  if (n >= 232) {
    const level = 8 + (n - 232) * 10;
    return `${level},${level},${level}`;
  }
  const k = n - 16;
  const steps = [0, 95, 135, 175, 215, 255];
  const r = steps[Math.floor(k / 36) % 6] ?? 0;
  const g = steps[Math.floor(k / 6) % 6] ?? 0;
  const b = steps[k % 6] ?? 0;
  return `${r},${g},${b}`;
}

export type { Token };
