/**
 * @module Splits a log line into printable text and the control sequences
 * that the line model acts on. SGR parameters are handed on untouched (the
 * ANSI library interprets them); cursor and erase sequences, OSC 8 links
 * and APC strings (Buildkite's `ESC _bk;t=...BEL` timestamps) are
 * recognised here; every other escape sequence is dropped, never shown.
 */

/** One piece of a line, in order. */
export type Token =
  | { t: "text"; s: string }
  | { t: "sgr"; params: string }
  /** Carriage return: the cursor goes back to column 0. */
  | { t: "cr" }
  | { t: "tab" }
  | { t: "bs" }
  /** Erase in line: 0 cursor to end, 1 start to cursor, 2 whole line. */
  | { t: "el"; mode: number }
  /** Cursor to an absolute column (0-based). */
  | { t: "col"; col: number }
  /** Cursor forward (positive) or back (negative) by n columns. */
  | { t: "move"; n: number }
  /** OSC 8 hyperlink start (href) or end (null). */
  | { t: "link"; href: string | null }
  /** An APC string's content, e.g. `bk;t=1729032357206`. */
  | { t: "apc"; s: string };

const ESC = 0x1b;
const BEL = "\x07";

/** Splits `line` into tokens; never throws, whatever the input. */
export function tokenize(line: string): Token[] {
  const out: Token[] = [];
  const n = line.length;
  let i = 0;
  let text = "";
  const flush = () => {
    if (text !== "") out.push({ t: "text", s: text });
    text = "";
  };

  while (i < n) {
    const c = line.charCodeAt(i);
    if (c >= 0x20 && c !== 0x7f) {
      let j = i + 1;
      while (j < n) {
        const d = line.charCodeAt(j);
        if (d < 0x20 || d === 0x7f) break;
        j++;
      }
      text += line.slice(i, j);
      i = j;
      continue;
    }
    if (c === ESC) {
      flush();
      i = escapeSequence(line, i, out);
      continue;
    }
    if (c === 0x0d || c === 0x09 || c === 0x08) {
      flush();
      out.push({ t: c === 0x0d ? "cr" : c === 0x09 ? "tab" : "bs" });
    } else if (c === 0x0a) {
      text += "\n";
    }
    // Other C0 controls (BEL, NUL, ...) have no visible effect.
    i++;
  }
  flush();
  return out;
}

/** Reads the escape sequence at `i`; returns the index after it. */
function escapeSequence(line: string, i: number, out: Token[]): number {
  const kind = line[i + 1];
  if (kind === undefined) return i + 1;
  if (kind === "[") return csi(line, i + 2, out);
  if (kind === "]") {
    const [body, next] = stringBody(line, i + 2);
    const link = /^8;[^;]*;(.*)$/s.exec(body);
    if (link) out.push({ t: "link", href: link[1] || null });
    return next;
  }
  if (kind === "_" || kind === "P" || kind === "^" || kind === "X") {
    const [body, next] = stringBody(line, i + 2);
    if (kind === "_") out.push({ t: "apc", s: body });
    return next;
  }
  // Character set designations (`ESC ( B`) take one more byte.
  if ("()*+-./".includes(kind)) return Math.min(line.length, i + 3);
  return i + 2;
}

/** A string sequence ends at BEL or ST (`ESC \`), or at the end of line. */
function stringBody(line: string, from: number): [string, number] {
  const bel = line.indexOf(BEL, from);
  const st = line.indexOf("\x1b\\", from);
  if (bel === -1 && st === -1) return [line.slice(from), line.length];
  if (st === -1 || (bel !== -1 && bel < st)) {
    return [line.slice(from, bel), bel + 1];
  }
  return [line.slice(from, st), st + 2];
}

function csi(line: string, from: number, out: Token[]): number {
  let j = from;
  while (j < line.length) {
    const d = line.charCodeAt(j);
    if (d >= 0x40 && d <= 0x7e) break;
    // A control byte inside a CSI aborts it, as in xterm.
    if (d < 0x20) return j;
    j++;
  }
  if (j >= line.length) return line.length;
  const final = line[j];
  const raw = line.slice(from, j);
  const next = j + 1;
  if (/[^0-9;:]/.test(raw)) return next; // private or intermediate: ignore
  const first = Number.parseInt(raw.split(/[;:]/)[0] ?? "", 10);
  const n = Number.isNaN(first) ? 0 : first;
  switch (final) {
    case "m":
      out.push({ t: "sgr", params: normalizeSgr(raw) });
      break;
    case "K":
      out.push({ t: "el", mode: n });
      break;
    case "G":
    case "`":
      out.push({ t: "col", col: Math.max(0, n - 1) });
      break;
    case "C":
    case "a":
      out.push({ t: "move", n: Math.max(1, n) });
      break;
    case "D":
      out.push({ t: "move", n: -Math.max(1, n) });
      break;
  }
  return next;
}

/**
 * Rewrites ITU T.416 colon forms (`38:2::r:g:b`, `38:5:n`, `4:3`) to the
 * semicolon forms that SGR parsers understand.
 */
function normalizeSgr(raw: string): string {
  if (!raw.includes(":")) return raw;
  return raw
    .split(";")
    .map((group) => {
      const parts = group.split(":");
      const head = parts[0];
      if ((head === "38" || head === "48" || head === "58") && parts[1]) {
        if (parts[1] === "2") {
          const rgb = parts.length >= 6 ? parts.slice(3, 6) : parts.slice(2, 5);
          return [head, "2", ...rgb.map((v) => v || "0")].join(";");
        }
        return parts.join(";");
      }
      // Underline styles (4:3 curly...) become plain underline or none.
      if (head === "4") return parts[1] === "0" ? "24" : "4";
      return head ?? "";
    })
    .join(";");
}
