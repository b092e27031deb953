/**
 * @module The redaction stage. Every line passes through it before it is
 * stored, broadcast, sealed or enqueued, so no copy of a secret exists
 * anywhere downstream. Masked text becomes `***`.
 */
import {
  isPlaceholder,
  PATTERN_RULES,
  PEM_BEGIN,
  PEM_BODY,
  PEM_END,
} from "./patterns";

export const MASK = "***";

/** What the redactor must remember between lines (persisted by the DO). */
export interface RedactorState {
  /** Stream keys (`step/stream`) inside an open PEM private key block. */
  pemOpen: string[];
}

type Range = [start: number, end: number];

/**
 * Masks registered secret values and well-known token shapes. Registered
 * values are also matched in their URL-encoded and base64 forms, since
 * tools print them that way (`curl -u`, basic auth headers).
 */
export class Redactor {
  private secrets = new Set<string>();
  private secretPattern: RegExp | null = null;
  private readonly pemOpen: Set<string>;

  constructor(secrets: Iterable<string> = [], state?: RedactorState) {
    this.pemOpen = new Set(state?.pemOpen ?? []);
    this.add(secrets);
  }

  /** Registers values to mask from now on; multi-line values per line. */
  add(values: Iterable<string>): void {
    for (const value of values) {
      for (const part of value.split(/\r?\n/)) {
        if (part.trim().length >= 4)
          for (const v of variants(part)) {
            this.secrets.add(v);
          }
      }
    }
    const sorted = [...this.secrets].sort((a, b) => b.length - a.length);
    this.secretPattern =
      sorted.length === 0
        ? null
        : new RegExp(sorted.map(escapeRegExp).join("|"), "g");
  }

  /** The state to persist so an open PEM block survives a restart. */
  state(): RedactorState {
    return { pemOpen: [...this.pemOpen] };
  }

  /** Redacts one line. `streamKey` separates interleaved outputs. */
  redact(
    message: string,
    streamKey: string,
  ): {
    text: string;
    redacted: boolean;
  } {
    const ranges: Range[] = [];
    if (this.secretPattern) collect(ranges, this.secretPattern, message, 0);
    for (const rule of PATTERN_RULES) {
      collect(ranges, rule.pattern, message, rule.group);
    }
    this.collectPem(ranges, message, streamKey);
    if (ranges.length === 0) return { text: message, redacted: false };
    return { text: applyMask(message, ranges), redacted: true };
  }

  private collectPem(ranges: Range[], message: string, key: string): void {
    let from = 0;
    let to = message.length;
    if (this.pemOpen.has(key)) {
      const end = PEM_END.exec(message);
      if (end) {
        to = end.index;
        this.pemOpen.delete(key);
      }
    } else {
      const begin = PEM_BEGIN.exec(message);
      if (!begin) return;
      from = begin.index + begin[0].length;
      if (PEM_END.test(message.slice(from))) return; // inline rule covers it
      this.pemOpen.add(key);
    }
    for (const m of message.slice(from, to).matchAll(PEM_BODY)) {
      ranges.push([from + m.index, from + m.index + m[0].length]);
    }
  }
}

function collect(
  ranges: Range[],
  pattern: RegExp,
  text: string,
  group: number,
): void {
  pattern.lastIndex = 0;
  for (const m of text.matchAll(pattern)) {
    const value = m[group];
    if (value === undefined || value === "" || isPlaceholder(value)) continue;
    const span = group === 0 ? undefined : m.indices?.[group];
    const start = span ? span[0] : m.index;
    ranges.push([start, start + value.length]);
  }
}

function applyMask(text: string, ranges: Range[]): string {
  ranges.sort((a, b) => a[0] - b[0]);
  let out = "";
  let at = 0;
  for (const [start, end] of ranges) {
    if (end <= at) continue;
    if (start >= at) out += text.slice(at, start) + MASK;
    at = Math.max(at, end);
  }
  return out + text.slice(at);
}

function variants(value: string): string[] {
  const out = [value];
  const encoded = encodeURIComponent(value);
  if (encoded !== value) out.push(encoded);
  try {
    out.push(btoa(value));
  } catch {
    // Not Latin-1: base64 of its UTF-8 bytes instead.
    const bytes = new TextEncoder().encode(value);
    out.push(btoa(String.fromCharCode(...bytes)));
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
