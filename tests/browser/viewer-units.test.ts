/**
 * Pieces of the viewer without a browser: section durations, keyboard
 * steps over rows that show nothing, which API errors are permanent, and
 * the layout keeping a jumped-to line unfolded as its sections load.
 */
import { describe, expect, it } from "vitest";
import { ApiError, isPermanent, type WireLine } from "../../web/src/api.ts";
import { Layout } from "../../web/src/layout.ts";
import {
  formatDuration,
  isHiddenRow,
  type RowContext,
  stepIndex,
} from "../../web/src/row-dom.ts";
import { type LineStore, toLine } from "../../web/src/store.ts";

const e = "\u001b";
const wire = (seq: number, message: string): WireLine =>
  ({
    seq,
    ts: new Date(1_700_000_000_000 + seq * 1000).toISOString(),
    step: "",
    level: "info",
    stream: "stdout",
    message,
    metadata: {},
    redaction_state: "clean",
    cursor: `c${seq}`,
  }) as WireLine;

describe("section durations", () => {
  it("rounds once, then splits into hours, minutes and seconds", () => {
    expect(formatDuration(119_600)).toBe("2m 00s");
    expect(formatDuration(59_600)).toBe("1m 00s");
    expect(formatDuration(61_400)).toBe("1m 01s");
    expect(formatDuration(3_599_600)).toBe("1h 00m");
    expect(formatDuration(7_199_000)).toBe("2h 00m");
    expect(formatDuration(3_725_000)).toBe("1h 02m");
    expect(formatDuration(4_200)).toBe("4.2s");
    expect(formatDuration(9_970)).toBe("10s");
    expect(formatDuration(42_400)).toBe("42s");
  });
});

describe("keyboard steps", () => {
  // 1: a line; 2: GitLab section_start with no text (absorbs 3);
  // 3: the header text; 4: a line; 5: section_end (marker only); 6: a line.
  const lines = new Map(
    [
      wire(1, "one"),
      wire(2, `section_start:1700000000:build\r${e}[0K`),
      wire(3, "Building"),
      wire(4, "inside"),
      wire(5, `section_end:1700000060:build\r${e}[0K`),
      wire(6, "after"),
    ].map((w) => [w.seq, toLine(w)]),
  );
  const ctx: RowContext = {
    line: (seq) => lines.get(seq),
    header: (seq) =>
      seq === 2
        ? {
            id: 0,
            flavor: "gitlab",
            name: "build",
            header: 2,
            end: 5,
            depth: 0,
            parent: null,
            collapsedByDefault: false,
          }
        : undefined,
    depth: () => 0,
    folded: () => false,
    selected: () => false,
    query: "",
    currentMatch: null,
    time: "off",
    startMs: 0,
    join: true,
  };

  it("knows which rows show nothing", () => {
    const hidden = [1, 2, 3, 4, 5, 6].filter((s) => isHiddenRow(s, ctx));
    expect(hidden).toEqual([3, 5]);
  });

  it("skips them with j and k", () => {
    const hidden = (i: number) => isHiddenRow(i + 1, ctx);
    expect(stepIndex(3, 1, 6, hidden)).toBe(5); // seq 4 -> seq 6, not 5
    expect(stepIndex(5, -1, 6, hidden)).toBe(3); // seq 6 -> seq 4
    expect(stepIndex(1, 1, 6, hidden)).toBe(3); // header -> seq 4, not 3
    expect(stepIndex(5, 1, 6, hidden)).toBe(5); // the last row stays
  });
});

describe("API errors", () => {
  it("treats 4xx other than 429 as permanent", () => {
    const err = (status: number) => new ApiError(status, "x", "x");
    expect([400, 401, 403, 404].map((s) => isPermanent(err(s)))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(isPermanent(err(429))).toBe(false);
    expect(isPermanent(err(500))).toBe(false);
    expect(isPermanent(err(503))).toBe(false);
    expect(isPermanent(new Error("network"))).toBe(false);
  });
});

describe("layout", () => {
  it("keeps a jumped-to line unfolded while its sections load", () => {
    const lines = [wire(1, "##[group]Setup")];
    for (let s = 2; s < 20; s++) lines.push(wire(s, `step ${s}`));
    lines.push(wire(20, "##[endgroup]"), wire(21, "done"));
    // A stand-in store: sections come only after the lines are in.
    let loaded = false;
    const store = {
      total: 21,
      sectionsVersion: 0,
      sections: () =>
        loaded
          ? [
              {
                id: 0,
                flavor: "github" as const,
                name: "Setup",
                header: 1,
                end: 20,
                depth: 0,
                parent: null,
                collapsedByDefault: true,
              },
            ]
          : [],
    } as unknown as LineStore;
    const layout = new Layout();
    layout.update(store);
    layout.pin = 10;
    layout.reveal(10);
    loaded = true;
    (store as { sectionsVersion: number }).sectionsVersion = 1;
    expect(layout.update(store)).toBe("changed");
    expect(layout.rows.isHidden(10)).toBe(false);
    expect(layout.rows.seqAt(layout.rows.indexOf(10))).toBe(10);

    // Without a pin the group folds by default.
    const plain = new Layout();
    plain.update(store);
    expect(plain.rows.isHidden(10)).toBe(true);
  });
});
