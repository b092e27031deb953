import { describe, expect, it } from "vitest";
import { advance, rangesOf } from "../../durable-objects/watermark";

describe("ClickHouse load watermark", () => {
  it("waits for a gap below before moving up", () => {
    let w = advance(0, [], [[3, 4]]);
    expect(w).toEqual({ upto: 0, pending: [[3, 4]] });
    w = advance(w.upto, w.pending, [[6, 9]]);
    expect(w).toEqual({
      upto: 0,
      pending: [
        [3, 4],
        [6, 9],
      ],
    });
    w = advance(w.upto, w.pending, [[1, 2]]);
    expect(w).toEqual({ upto: 4, pending: [[6, 9]] });
    w = advance(w.upto, w.pending, [[5, 5]]);
    expect(w).toEqual({ upto: 9, pending: [] });
  });

  it("ignores redelivered and overlapping ranges", () => {
    const w = advance(
      10,
      [[15, 20]],
      [
        [1, 10],
        [5, 12],
        [14, 16],
      ],
    );
    expect(w).toEqual({ upto: 12, pending: [[14, 20]] });
  });

  it("turns seqs into ranges", () => {
    expect(rangesOf([5, 1, 2, 3, 9, 10, 3])).toEqual([
      [1, 3],
      [5, 5],
      [9, 10],
    ]);
  });
});
