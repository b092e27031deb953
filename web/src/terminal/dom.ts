/**
 * @module Drawn lines to DOM nodes: one span per styled run (CSS classes
 * for the 16 themed colours and decorations, inline colours for 256 and
 * 24-bit), links as anchors, search matches as <mark>. Text is set with
 * textContent only, so a log line can never inject markup.
 */
import type { DrawnLine } from "./line";

/** Appends `drawn` to `parent`, marking every case-insensitive `query`. */
export function appendDrawn(
  parent: HTMLElement,
  drawn: DrawnLine,
  query: string,
): void {
  const matches = query ? matchRanges(drawn.text, query) : [];
  let pos = 0;
  let m = 0;
  for (const run of drawn.runs) {
    const style = drawn.styles[run.style];
    const end = pos + run.text.length;
    let at = pos;
    // Split the run where marks begin and end.
    while (at < end) {
      while (m < matches.length && (matches[m]?.[1] ?? 0) <= at) m++;
      const match = matches[m];
      let next = end;
      let marked = false;
      if (match && match[0] <= at) {
        next = Math.min(end, match[1]);
        marked = true;
      } else if (match && match[0] < end) {
        next = match[0];
      }
      const text = run.text.slice(at - pos, next - pos);
      parent.append(piece(text, style, marked));
      at = next;
    }
    pos = end;
  }
}

function piece(
  text: string,
  style: DrawnLine["styles"][number] | undefined,
  marked: boolean,
): Node {
  let node: Node = document.createTextNode(text);
  if (style && (style.cls || style.css)) {
    const span = document.createElement("span");
    span.className = style.cls;
    if (style.css) span.style.cssText = style.css;
    span.append(node);
    node = span;
  }
  if (marked) {
    const mark = document.createElement("mark");
    mark.append(node);
    node = mark;
  }
  if (style?.href) {
    const a = document.createElement("a");
    a.href = style.href;
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow";
    a.append(node);
    node = a;
  }
  return node;
}

/** Start/end string offsets of case-insensitive occurrences of `query`. */
export function matchRanges(text: string, query: string): [number, number][] {
  const out: [number, number][] = [];
  const hay = text.toLowerCase();
  const needle = query.toLowerCase();
  if (!needle || hay.length !== text.length) return out;
  let at = hay.indexOf(needle);
  while (at !== -1 && out.length < 1000) {
    out.push([at, at + needle.length]);
    at = hay.indexOf(needle, at + needle.length);
  }
  return out;
}
