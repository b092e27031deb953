/**
 * @module Section markers of the CI systems whose logs we show, and the
 * section tree built from them. GitLab writes `section_start:<ts>:<name>`
 * and `section_end:<ts>:<name>` (each followed by `\r ESC[0K`), which nest;
 * GitHub Actions writes `##[group]Title` / `##[endgroup]` (or the
 * `::group::` workflow commands), which do not nest, after a timestamp
 * prefix in raw logs; Buildkite starts a top-level section at each line
 * that begins with `--- `, `+++ ` (expanded) or `~~~ ` and stamps lines
 * with `ESC _bk;t=<ms> BEL`. Markers are removed from the text shown.
 */

/** What a line says about sections. */
export type Mark =
  | {
      kind: "start";
      flavor: "gitlab" | "github" | "buildkite";
      name: string;
      /** Header text to show; empty when the marker line has none. */
      title: string;
      /** Source time of the marker, epoch ms. */
      time?: number;
      collapsed: boolean;
    }
  | {
      kind: "end";
      flavor: "gitlab" | "github";
      name: string;
      time?: number;
    }
  /** Buildkite's `^^^ +++`: expand the section open before this line. */
  | { kind: "expand" };

/** A line once its markers are taken out. */
export interface Parsed {
  marks: Mark[];
  /** The text left to draw. */
  text: string;
  /** The GitHub Actions timestamp prefix, epoch ms, if there was one. */
  prefixTime?: number;
  /** A GitHub Actions `##[error]`-style annotation of the line. */
  annotation?: "error" | "warning" | "notice" | "debug" | "command";
}

const GHA_PREFIX = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) /;
// Escape sequences are what these patterns are about.
const GITLAB =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC and BEL
  /(?:\x1b\[[0-9;]*m)*section_(start|end):(\d+):([^\s\r\x1b[]+)(\[[^\]\r\x1b]*\])?\r?(?:\x1b\[0?K)?/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC and BEL
const SGR_PREFIX = /^(?:\x1b\[[0-9;]*[mK])*/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC and BEL
const BK_APC = /\x1b_bk;t=(\d+)\x07/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC and BEL
const ANY_APC = /\x1b_[^\x07]*\x07/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC and BEL
const BK_HEADER = /^((?:\x1b_[^\x07]*\x07|\x1b\[[0-9;]*m)*)(---|\+\+\+|~~~) /;

/** Finds the markers of one physical line. Fast for ordinary lines. */
export function parseMarks(message: string): Parsed {
  let text = message;
  const marks: Mark[] = [];
  const parsed: Parsed = { marks, text };

  const prefix = GHA_PREFIX.exec(text);
  if (prefix?.[1]) {
    parsed.prefixTime = Date.parse(prefix[1]);
    text = text.slice(prefix[0].length);
  }

  if (text.includes("section_")) {
    text = text.replace(GITLAB, (_m, kind, ts, name, options) => {
      const time = Number(ts) * 1000;
      if (kind === "start") {
        marks.push({
          kind: "start",
          flavor: "gitlab",
          name,
          title: "",
          time,
          collapsed: /collapsed=true/.test(options ?? ""),
        });
      } else {
        marks.push({ kind: "end", flavor: "gitlab", name, time });
      }
      return "";
    });
    const start = marks.at(-1);
    if (start?.kind === "start") start.title = text;
  }

  const gha = githubCommand(text, parsed.prefixTime, marks);
  if (gha !== null) {
    text = gha.text;
    if (gha.annotation) parsed.annotation = gha.annotation;
  }

  if (marks.length === 0 && buildkite(text, marks)) text = "";
  const bk = marks[0];
  if (bk?.kind === "start" && bk.flavor === "buildkite") text = bk.title;
  parsed.text = text;
  return parsed;
}

function githubCommand(
  text: string,
  time: number | undefined,
  marks: Mark[],
): { text: string; annotation?: Parsed["annotation"] } | null {
  if (!text.startsWith("##[") && !text.startsWith("::")) return null;
  const group = /^(?:##\[group\]|::group::)(.*)$/s.exec(text);
  if (group) {
    const title = group[1] ?? "";
    marks.push({
      kind: "start",
      flavor: "github",
      name: title,
      title,
      collapsed: true,
      ...(time === undefined ? {} : { time }),
    });
    return { text: title };
  }
  if (/^(?:##\[endgroup\]|::endgroup::)/.test(text)) {
    marks.push({
      kind: "end",
      flavor: "github",
      name: "",
      ...(time === undefined ? {} : { time }),
    });
    return { text: "" };
  }
  const note = /^##\[(error|warning|notice|debug|command)\](.*)$/s.exec(text);
  if (note?.[1]) {
    return {
      text: note[2] ?? "",
      annotation: note[1] as NonNullable<Parsed["annotation"]>,
    };
  }
  return null;
}

/**
 * Only lines stamped by the Buildkite agent count: elsewhere `--- ` and
 * `+++ ` start Go test results and diffs, which are not sections.
 */
function buildkite(text: string, marks: Mark[]): boolean {
  const apc = BK_APC.exec(text);
  if (!apc) return false;
  const bare = text.replace(ANY_APC, "").replace(SGR_PREFIX, "");
  if (/^\^\^\^ \+\+\+\r?$/.test(bare)) {
    marks.push({ kind: "expand" });
    return true;
  }
  const header = /^(---|\+\+\+|~~~) (.*)$/s.exec(bare);
  if (!header?.[1]) return false;
  const title = (header[2] ?? "").replace(/\r$/, "");
  marks.push({
    kind: "start",
    flavor: "buildkite",
    name: title,
    title: text.replace(BK_HEADER, "$1"),
    collapsed: header[1] !== "+++",
    ...(apc[1] ? { time: Number(apc[1]) } : {}),
  });
  return false;
}

/** A section of the log, as far as the loaded lines tell. */
export interface Section {
  id: number;
  flavor: "gitlab" | "github" | "buildkite";
  name: string;
  /** Seq of the header line. */
  header: number;
  /** Seq of the last line inside it (the end marker), null while open. */
  end: number | null;
  depth: number;
  parent: Section | null;
  startTime?: number;
  endTime?: number;
  collapsedByDefault: boolean;
}

/**
 * Builds the section tree from markers sorted by seq. GitLab sections
 * nest and close by name; a GitHub group closes the previous group; a
 * Buildkite header closes every open Buildkite section.
 */
export function buildSections(marks: { seq: number; mark: Mark }[]): Section[] {
  const out: Section[] = [];
  const open: Section[] = [];
  const close = (s: Section, end: number, time?: number) => {
    s.end = end;
    if (time !== undefined) s.endTime = time;
    open.splice(open.indexOf(s), 1);
  };
  for (const { seq, mark } of marks) {
    if (mark.kind === "expand") {
      const last = out.at(-1);
      if (last) last.collapsedByDefault = false;
      continue;
    }
    if (mark.kind === "end") {
      for (let k = open.length - 1; k >= 0; k--) {
        const s = open[k];
        if (!s || s.flavor !== mark.flavor) continue;
        if (mark.flavor === "gitlab" && s.name !== mark.name) continue;
        // Close it and whatever was left open inside it.
        for (const inner of open.slice(k).reverse()) {
          close(inner, seq, mark.time);
        }
        break;
      }
      continue;
    }
    if (mark.flavor !== "gitlab") {
      for (const s of [...open].reverse()) {
        if (s.flavor === mark.flavor) close(s, seq - 1, mark.time);
      }
    }
    const parent = open.at(-1) ?? null;
    const section: Section = {
      id: out.length,
      flavor: mark.flavor,
      name: mark.name,
      header: seq,
      end: null,
      depth: parent ? parent.depth + 1 : 0,
      parent,
      collapsedByDefault: mark.collapsed,
    };
    if (mark.time !== undefined) section.startTime = mark.time;
    out.push(section);
    open.push(section);
  }
  return out;
}
