/**
 * @module Splitting lines longer than MAX_LINE_BYTES, the way Kubernetes
 * splits long records: consecutive parts, all but the last `partial`.
 */
import { MAX_LINE_BYTES } from "../schemas/limits";

/**
 * Splits `text` into parts of at most `maxBytes` UTF-8 bytes, never inside
 * a code point. Returns `[text]` when it fits.
 */
export function splitUtf8(text: string, maxBytes = MAX_LINE_BYTES): string[] {
  // Fast path: even all-3-byte text of this length fits.
  if (text.length * 3 <= maxBytes) return [text];
  const parts: string[] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < text.length; ) {
    const code = text.codePointAt(i) ?? 0;
    const units = code > 0xffff ? 2 : 1;
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (bytes + size > maxBytes) {
      parts.push(text.slice(start, i));
      start = i;
      bytes = 0;
    }
    bytes += size;
    i += units;
  }
  parts.push(text.slice(start));
  return parts;
}
