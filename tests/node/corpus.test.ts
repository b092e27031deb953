/**
 * The main path on real CI logs: every file in ../shared/corpus/logs is
 * pushed through the ingest API of the local stack and checked from the
 * viewer's, the resuming viewer's, the history's and the export's side.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logicalLines, type Stack, startStack, Viewer } from "./stack";

const CORPUS = join(import.meta.dirname, "../../../shared/corpus/logs");
const files = readdirSync(CORPUS)
  .filter((f) => f.endsWith(".log"))
  .sort();
const BODY_BYTES = 512 * 1024;

let stack: Stack;

beforeAll(async () => {
  // Small hot tail and chunks, so big logs resume through sealed R2 chunks.
  stack = await startStack({ HOT_TAIL_LINES: "1000", CHUNK_LINES: "500" });
});

afterAll(async () => {
  await stack?.stop();
});

/** Splits a file into request bodies at line ends. */
function bodies(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + BODY_BYTES, bytes.length);
    if (end < bytes.length) {
      const nl = bytes.lastIndexOf(0x0a, end - 1);
      end = nl >= start ? nl + 1 : end;
    }
    out.push(bytes.subarray(start, end));
    start = end;
  }
  return out;
}

/** The file's lines as the API must give them back. */
function expectedLines(bytes: Buffer): string[] {
  const lines = new TextDecoder("utf-8", { ignoreBOM: true })
    .decode(bytes)
    .split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

async function json<T>(res: Response): Promise<T> {
  if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

describe("corpus logs end to end", () => {
  it("finds the corpus", () => {
    expect(files.length).toBeGreaterThanOrEqual(16);
  });

  it.each(files)("%s", async (file) => {
    const bytes = readFileSync(join(CORPUS, file));
    const id = file.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 100);
    const token = await stack.token();
    const auth = { authorization: `Bearer ${token}` };
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${stack.url}/v1/deployments/${id}${path}`, {
        ...init,
        headers: { ...auth, ...(init.headers ?? {}) },
      });

    const live = new Viewer(stack.url, id, token);
    await live.opened();

    let lastSeq = 0;
    for (const [i, body] of bodies(bytes).entries()) {
      const answer = await json<{ last_seq: number }>(
        await api("/logs", {
          method: "POST",
          headers: {
            "content-type": "text/plain",
            "idempotency-key": `${id}-${i}`,
          },
          body: new Uint8Array(body),
        }),
      );
      lastSeq = answer.last_seq;
    }

    // 1. The viewer connected before the push got every line, in order.
    await live.until(lastSeq);
    expect(live.lines.map((l) => l.seq)).toEqual(
      Array.from({ length: lastSeq }, (_, i) => i + 1),
    );
    const expected = expectedLines(bytes);
    const got = logicalLines(live.lines);
    expect(got.length).toBe(expected.length);
    const mismatched = got.filter(
      (g, i) => !g.redacted && g.text !== expected[i],
    );
    expect(mismatched).toEqual([]);
    const redacted = got.filter((g) => g.redacted).length;

    // 2. A viewer resuming mid-way gets exactly the rest.
    const middle = live.lines[Math.floor(live.lines.length / 2)];
    if (!middle) throw new Error("no lines");
    const resumed = new Viewer(stack.url, id, token, `cursor=${middle.cursor}`);
    await resumed.opened();
    await resumed.until(lastSeq);
    expect(resumed.lines.map((l) => l.seq)).toEqual(
      live.lines.filter((l) => l.seq > middle.seq).map((l) => l.seq),
    );
    live.close();
    resumed.close();

    // 3. History pages of 500 return every line exactly once.
    const seen: number[] = [];
    for (let attempt = 0; attempt < 200; attempt++) {
      seen.length = 0;
      let cursor = "";
      for (;;) {
        const page = await json<{
          lines: { seq: number }[];
          next_cursor: string;
          has_more: boolean;
        }>(await api(`/logs?limit=500${cursor ? `&cursor=${cursor}` : ""}`));
        seen.push(...page.lines.map((l) => l.seq));
        if (!page.has_more) break;
        cursor = page.next_cursor;
      }
      if (seen.length === lastSeq) break;
      await new Promise((r) => setTimeout(r, 100)); // ClickHouse catching up
    }
    expect(seen).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));

    // Pages travel gzip-compressed (decoded once, by the client).
    const compressed = await api("/logs?limit=1", {
      headers: { "accept-encoding": "gzip" },
    });
    expect(compressed.headers.get("content-encoding")).toBe("gzip");
    expect((await json<{ lines: unknown[] }>(compressed)).lines.length).toBe(1);

    // 4. The export gives the file back.
    const exported = Buffer.from(await (await api("/export")).arrayBuffer());
    const validUtf8 = Buffer.from(bytes.toString("utf8"), "utf8").equals(bytes);
    if (validUtf8 && redacted === 0) {
      expect(exported.equals(bytes)).toBe(true);
    } else {
      const exportedLines = expectedLines(exported);
      expect(exportedLines.length).toBe(expected.length);
      expect(
        exportedLines.filter((l, i) => !got[i]?.redacted && l !== expected[i]),
      ).toEqual([]);
    }
  });
});
