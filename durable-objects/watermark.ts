/**
 * @module The ClickHouse load watermark: the highest seq up to which every
 * line is in ClickHouse. Queue messages can land out of order (a batch
 * that failed is retried after later ones succeeded), so history pages
 * stop at the watermark instead of skipping a line that is still on its
 * way.
 */

/** Inclusive seq range. */
export type Range = [first: number, last: number];

/**
 * Adds loaded ranges; returns the new watermark and the ranges still
 * waiting above it (merged, sorted). Duplicates are harmless.
 */
export function advance(
  upto: number,
  pending: Range[],
  loaded: Range[],
): { upto: number; pending: Range[] } {
  const all = [...pending, ...loaded]
    .filter(([, last]) => last > upto)
    .sort((a, b) => a[0] - b[0]);
  const merged: Range[] = [];
  for (const [first, last] of all) {
    const top = merged.at(-1);
    if (top && first <= top[1] + 1) top[1] = Math.max(top[1], last);
    else merged.push([first, last]);
  }
  let mark = upto;
  while (merged[0] && merged[0][0] <= mark + 1) {
    mark = Math.max(mark, merged[0][1]);
    merged.shift();
  }
  return { upto: mark, pending: merged };
}

/** Inclusive ranges covering a set of seqs. */
export function rangesOf(seqs: number[]): Range[] {
  const sorted = [...seqs].sort((a, b) => a - b);
  const out: Range[] = [];
  for (const seq of sorted) {
    const top = out.at(-1);
    if (top && seq <= top[1] + 1) top[1] = Math.max(top[1], seq);
    else out.push([seq, seq]);
  }
  return out;
}
