/**
 * The viewer's line model and section markers, without a browser: what a
 * terminal would show for one line, and which lines open and close
 * sections.
 */
import { describe, expect, it } from "vitest";
import { buildSections, parseMarks } from "../../web/src/sections.ts";
import { drawLine } from "../../web/src/terminal/line.ts";

const e = "\u001b";

function shown(raw: string) {
  const drawn = drawLine(raw);
  return drawn.runs.map((r) => ({
    text: r.text,
    cls: drawn.styles[r.style]?.cls ?? "",
    css: drawn.styles[r.style]?.css ?? "",
    href: drawn.styles[r.style]?.href ?? null,
  }));
}

describe("line model", () => {
  it("keeps the last state of a carriage-return progress line", () => {
    expect(drawLine("10%\r50%\r100% done").text).toBe("100% done");
    // Like a terminal: a shorter rewrite leaves the old tail visible...
    expect(drawLine("downloading 10/10\rok").text).toBe("okwnloading 10/10");
    // ...unless the line is erased first.
    expect(drawLine(`downloading 10/10\r${e}[Kok`).text).toBe("ok");
    expect(drawLine(`abc${e}[2K\rxy`).text.trimEnd()).toBe("xy");
    expect(drawLine(`abcdef${e}[3D${e}[1K`).text).toBe("    ef");
    // A trailing \r (CRLF logs) changes nothing.
    expect(drawLine("done\r").text).toBe("done");
  });

  it("expands tabs to the next multiple of eight and drops other controls", () => {
    expect(drawLine("a\tb").text).toBe("a       b");
    expect(drawLine("abcdefgh\ti").text).toBe("abcdefgh        i");
    expect(drawLine(`x${e}[1Ay\u0007${e}(Bz`).text).toBe("xyz");
  });

  it("maps 16, 256 and 24-bit colours and decorations", () => {
    expect(shown(`${e}[31mred${e}[0m ${e}[1;94mblue${e}[m`)).toEqual([
      { text: "red", cls: "fg-red", css: "", href: null },
      { text: " ", cls: "", css: "", href: null },
      { text: "blue", cls: "fg-bright-blue bold", css: "", href: null },
    ]);
    expect(shown(`${e}[38;5;196mx${e}[48;2;1;2;3my`)).toEqual([
      { text: "x", cls: "", css: "color:rgb(255,0,0)", href: null },
      {
        text: "y",
        cls: "",
        css: "color:rgb(255,0,0);background-color:rgb(1, 2, 3)",
        href: null,
      },
    ]);
    expect(shown(`${e}[38:2::9:8:7mz`)[0]?.css).toBe("color:rgb(9, 8, 7)");
    expect(shown(`${e}[3;4mi${e}[23;24mj`).map((r) => r.cls)).toEqual([
      "italic underline",
      "",
    ]);
  });

  it("keeps http(s) OSC 8 links only, and hides APC timestamps", () => {
    const link = `${e}]8;;https://x.test/a${e}\\go${e}]8;;${e}\\`;
    expect(shown(link)).toEqual([
      { text: "go", cls: "", css: "", href: "https://x.test/a" },
    ]);
    const bad = `${e}]8;;javascript:alert(1)\u0007no${e}]8;;\u0007`;
    expect(shown(bad)).toEqual([{ text: "no", cls: "", css: "", href: null }]);
    const stamped = drawLine(`${e}_bk;t=1729032357206\u0007hello`);
    expect(stamped.text).toBe("hello");
    expect(stamped.apcTime).toBe(1729032357206);
  });
});

describe("section markers", () => {
  it("reads GitLab markers, nested, with durations and options", () => {
    const start = parseMarks(
      `section_start:1600000000:outer[collapsed=true]\r${e}[0K${e}[36;1mOuter${e}[0m`,
    );
    expect(start.text).toBe(`${e}[36;1mOuter${e}[0m`);
    expect(start.marks).toEqual([
      {
        kind: "start",
        flavor: "gitlab",
        name: "outer",
        title: `${e}[36;1mOuter${e}[0m`,
        time: 1600000000000,
        collapsed: true,
      },
    ]);
    const sections = buildSections([
      { seq: 1, mark: start.marks[0] ?? { kind: "expand" } },
      ...[
        [3, "section_start:1600000001:inner\r\u001b[0K"],
        [5, "section_end:1600000004:inner\r\u001b[0K"],
        [7, `${e}[0;msection_end:1600000010:outer\r${e}[0K`],
      ].flatMap(([seq, text]) =>
        parseMarks(String(text)).marks.map((mark) => ({
          seq: Number(seq),
          mark,
        })),
      ),
    ]);
    expect(
      sections.map((s) => [s.name, s.header, s.end, s.depth, s.endTime]),
    ).toEqual([
      ["outer", 1, 7, 0, 1600000010000],
      ["inner", 3, 5, 1, 1600000004000],
    ]);
  });

  it("reads GitHub groups after the raw log timestamp; they do not nest", () => {
    const group = parseMarks("2024-07-08T16:48:09.3750041Z ##[group]Run tests");
    expect(group.text).toBe("Run tests");
    expect(group.prefixTime).toBe(Date.parse("2024-07-08T16:48:09.375Z"));
    expect(parseMarks("::endgroup::").marks[0]).toMatchObject({ kind: "end" });
    expect(parseMarks("##[error]boom")).toMatchObject({
      text: "boom",
      annotation: "error",
    });
    const sections = buildSections(
      ["##[group]A", "x", "##[group]B", "##[endgroup]"].flatMap((t, i) =>
        parseMarks(t).marks.map((mark) => ({ seq: i + 1, mark })),
      ),
    );
    expect(sections.map((s) => [s.name, s.header, s.end, s.depth])).toEqual([
      ["A", 1, 2, 0],
      ["B", 3, 4, 0],
    ]);
  });

  it("reads Buildkite headers only on lines the agent stamped", () => {
    const bk = (t: string) => `${e}_bk;t=1729032357206\u0007${t}`;
    expect(parseMarks(bk("+++ Tests")).marks[0]).toMatchObject({
      kind: "start",
      name: "Tests",
      collapsed: false,
    });
    expect(parseMarks(bk("~~~ Setup")).marks[0]).toMatchObject({
      collapsed: true,
    });
    expect(parseMarks(bk("^^^ +++"))).toMatchObject({
      text: "",
      marks: [{ kind: "expand" }],
    });
    // Go test results and diffs are not sections.
    expect(parseMarks("--- PASS: TestX (0.00s)").marks).toEqual([]);
    expect(parseMarks("+++ b/file.go").marks).toEqual([]);
  });
});
