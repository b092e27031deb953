import {
  createExecutionContext,
  createMessageBatch,
  env,
  getQueueResult,
  runInDurableObject,
} from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Deployment } from "../../durable-objects/deployment";
import type { StoredLine } from "../../schemas/line";
import type { LinesQueueMessage } from "../../schemas/queue";
import worker from "../../workers/index";
import { api, freshId, type Line, push, token } from "./helpers";

interface Page {
  lines: (Line & { ts: string })[];
  next_cursor: string | null;
  has_more: boolean;
}

async function page(id: string, t: string, query: string): Promise<Page> {
  const res = await api(`/v1/deployments/${id}/logs?${query}`, { token: t });
  if (res.status !== 200) throw new Error(`${res.status} ${await res.text()}`);
  return res.json<Page>();
}

/** Waits until the Queue consumer loaded `count` lines into ClickHouse. */
async function loaded(id: string, t: string, count: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const p = await page(id, t, `direction=backward&limit=1`);
    if ((p.lines[0]?.seq ?? 0) >= count) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`ClickHouse never got ${count} lines of ${id}`);
}

/** A stored line as the Deployment object would have made it. */
function stored(seq: number, message: string, ts = Date.now()): StoredLine {
  return {
    seq,
    ts,
    received_at: Date.now(),
    step: "",
    level: "info",
    stream: "stdout",
    message,
    metadata: {},
    redaction_state: "clean",
    partial: false,
  };
}

/** A fresh log of `count` lines `m1`..`mN`, all loaded into ClickHouse. */
async function seeded(count: number): Promise<{ id: string; t: string }> {
  const id = freshId();
  const t = await token();
  await push(
    id,
    t,
    range(1, count).map((i) => ({ message: `m${i}` })),
  );
  await loaded(id, t, count);
  return { id, t };
}

async function walk(id: string, t: string, query: string): Promise<number[]> {
  const seen: number[] = [];
  let cursor = "";
  for (let i = 0; i < 100; i++) {
    const p = await page(id, t, `${query}${cursor ? `&cursor=${cursor}` : ""}`);
    seen.push(...p.lines.map((l) => l.seq));
    if (!p.has_more) return seen;
    cursor = p.next_cursor ?? "";
  }
  throw new Error("too many pages");
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("history from ClickHouse", () => {
  it("walks every line exactly once, forward and backward", async () => {
    const id = freshId();
    const t = await token();
    await push(
      id,
      t,
      range(1, 60).map((i) => ({ message: `line ${i}` })),
    );
    await push(
      id,
      t,
      range(61, 95).map((i) => ({ message: `line ${i}` })),
    );
    await loaded(id, t, 95);
    expect(await walk(id, t, "limit=7")).toEqual(range(1, 95));
    expect(await walk(id, t, "limit=10&direction=backward")).toEqual(
      range(1, 95).reverse(),
    );
    const first = await page(id, t, "limit=2");
    expect(first.lines.map((l) => l.message)).toEqual(["line 1", "line 2"]);
    expect(first.has_more).toBe(true);
  });

  it("filters by level, step and text, combined", async () => {
    const id = freshId();
    const t = await token();
    await push(id, t, [
      {
        message: "\u001b[31mERROR\u001b[0m: Needle in build",
        level: "error",
        step: "build",
      },
      { message: "needle in test", level: "error", step: "test" },
      { message: "plain needle", level: "info", step: "build" },
      { message: "nothing here", level: "error", step: "build" },
      { message: "100%_done", level: "warn", step: "deploy" },
    ]);
    await loaded(id, t, 5);
    const seqs = async (q: string) =>
      (await page(id, t, q)).lines.map((l) => l.seq);
    expect(await seqs("level=error")).toEqual([1, 2, 4]);
    expect(await seqs("step=build")).toEqual([1, 3, 4]);
    // Search ignores case and ANSI escapes between words.
    expect(await seqs("q=error%3A%20needle")).toEqual([1]);
    expect(await seqs("q=NEEDLE")).toEqual([1, 2, 3]);
    expect(await seqs("q=needle&level=error&step=build")).toEqual([1]);
    expect(await seqs("level=warn,info")).toEqual([3, 5]);
    // LIKE wildcards in q are literal.
    expect(await seqs("q=%25_")).toEqual([5]);
    expect(await seqs("q=0%25")).toEqual([5]);
  });

  it("finds text across the seam of a split line and past charset escapes", async () => {
    // Regressions: a match straddling the 8 KiB split was not found, and
    // `ESC ( B` (tput sgr0) stayed in the searched text.
    const id = freshId();
    const t = await token();
    await push(id, t, [
      { message: `${"a".repeat(8190)}NEEDLE-ACROSS${"b".repeat(100)}` },
      { message: "four sgr0\u001b(B\u001b[mtext end" },
    ]);
    await loaded(id, t, 3);
    const seqs = async (q: string) =>
      (await page(id, t, `q=${encodeURIComponent(q)}`)).lines.map((l) => l.seq);
    expect(await seqs("needle-across")).toEqual([1]);
    expect(await seqs("sgr0text")).toEqual([3]);
  });

  it("bounds a page with till, by cursor and by time", async () => {
    const id = freshId();
    const t = await token();
    const base = Date.parse("2026-01-01T00:00:00Z");
    const answer = await push(
      id,
      t,
      range(1, 10).map((i) => ({ message: `m${i}`, ts: base + i * 1000 })),
    );
    await loaded(id, t, 10);
    const all = await page(id, t, "limit=100");
    const c4 = all.lines[3]?.cursor;
    expect((await page(id, t, `till=${c4}`)).lines.map((l) => l.seq)).toEqual([
      1, 2, 3, 4,
    ]);
    const at6 = new Date(base + 6000).toISOString();
    expect((await page(id, t, `till=${at6}`)).lines.map((l) => l.seq)).toEqual(
      range(1, 6),
    );
    expect(
      (await page(id, t, `cursor=${c4}&till=${base + 7000}`)).lines.map(
        (l) => l.seq,
      ),
    ).toEqual([5, 6, 7]);
    expect(all.lines[9]?.cursor).toBe(answer.cursor);
    expect(all.lines[0]?.ts).toBe(new Date(base + 1000).toISOString());
  });

  it("opens a page at a seq with from_seq, forward and backward", async () => {
    const { id, t } = await seeded(30);
    const seqs = async (q: string) =>
      (await page(id, t, q)).lines.map((l) => l.seq);
    expect(await seqs("from_seq=12&limit=3")).toEqual([12, 13, 14]);
    expect(await seqs("from_seq=12&limit=3&direction=backward")).toEqual([
      12, 11, 10,
    ]);
    expect(await seqs("from_seq=29&limit=5")).toEqual([29, 30]);
    const both = await api(`/v1/deployments/${id}/logs?from_seq=2&cursor=x`, {
      token: t,
    });
    expect(both.status).toBe(400);
  });

  it("does not duplicate rows when the Queue redelivers a message", async () => {
    const id = freshId();
    const t = await token();
    await push(id, t, [{ message: "a" }, { message: "b" }]);
    await loaded(id, t, 2);
    const info = await (await api(`/v1/deployments/${id}`, { token: t })).json<{
      epoch: number;
    }>();
    const message: LinesQueueMessage = {
      v: 1,
      tenant: "acme",
      deployment_id: id,
      epoch: info.epoch,
      lines: (await page(id, t, "limit=10")).lines.map((l) =>
        stored(l.seq, l.message, Date.parse(l.ts)),
      ),
    };
    for (let i = 0; i < 2; i++) {
      const batch = createMessageBatch<LinesQueueMessage>("edgetail-lines", [
        { id: `m${i}`, timestamp: new Date(), attempts: 1, body: message },
      ]);
      const ctx = createExecutionContext();
      await worker.queue(batch, env as never);
      const result = await getQueueResult(batch, ctx);
      expect([result.ackAll, result.retryBatch.retry]).toEqual([true, false]);
    }
    expect(
      (await page(id, t, "limit=100")).lines.map((l) => l.message),
    ).toEqual(["a", "b"]);
  });

  it("stops pages at the load watermark, never skipping a late line", async () => {
    const id = freshId();
    const t = await token();
    await push(id, t, [{ message: "a" }, { message: "b" }]);
    await loaded(id, t, 2);
    const info = await (await api(`/v1/deployments/${id}`, { token: t })).json<{
      epoch: number;
      loaded_upto: number;
    }>();
    expect(info.loaded_upto).toBe(2);
    // Rows for seqs 4 and 5 reach ClickHouse while seq 3 does not exist.
    const line = (seq: number) => stored(seq, `late ${seq}`);
    const batch = createMessageBatch<LinesQueueMessage>("edgetail-lines", [
      {
        id: "gap",
        timestamp: new Date(),
        attempts: 1,
        body: {
          v: 1,
          tenant: "acme",
          deployment_id: id,
          epoch: info.epoch,
          lines: [line(4), line(5)],
        },
      },
    ]);
    await worker.queue(batch, env as never);
    const forward = await page(id, t, "limit=10");
    expect(forward.lines.map((l) => l.seq)).toEqual([1, 2]);
    expect(forward.has_more).toBe(false);
    const backward = await page(id, t, "limit=10&direction=backward");
    expect(backward.lines.map((l) => l.seq)).toEqual([2, 1]);
  });

  it("caches pages at the edge without serving stale ones", async () => {
    const { id, t } = await seeded(5);
    const get = (q: string) =>
      api(`/v1/deployments/${id}/logs?${q}`, { token: t });
    const first = await get("limit=3");
    expect(first.headers.get("x-edgetail-cache")).toBe("miss");
    const firstBody = await first.text();
    await new Promise((r) => setTimeout(r, 50)); // the put runs after the answer
    const again = await get("limit=3");
    expect(again.headers.get("x-edgetail-cache")).toBe("hit");
    expect(await again.text()).toBe(firstBody);
    // The newest page moves with the watermark: new lines are not hidden.
    const newest = await page(id, t, "direction=backward&limit=2");
    expect(newest.lines.map((l) => l.seq)).toEqual([5, 4]);
    await push(id, t, [{ message: "m6" }]);
    await loaded(id, t, 6);
    const moved = await page(id, t, "direction=backward&limit=2");
    expect(moved.lines.map((l) => l.seq)).toEqual([6, 5]);
  });

  it("re-sends lines whose Queue messages were lost", async () => {
    // Regression: after a crash lost in-flight Queue messages, history
    // missed those lines forever (found by killing workerd mid-push).
    const id = freshId();
    const t = await token();
    await push(id, t, [{ message: "a" }]);
    await loaded(id, t, 1);
    const stub = env.DEPLOYMENT.get(env.DEPLOYMENT.idFromName(`acme/${id}`));
    await runInDurableObject(stub, async (o: Deployment) => {
      const state = o.state;
      if (!state) throw new Error("no state");
      const lost = [2, 3].map((seq) => stored(seq, `lost ${seq}`));
      // Stored and counted as sent, but never reached the Queue.
      o.store.insertLines(lost);
      state.last_seq = 3;
      state.enqueued_upto = 3;
      o.store.saveState(state);
      await o.wake();
    });
    expect((await page(id, t, "limit=10")).lines.map((l) => l.seq)).toEqual([
      1,
    ]);
    await loaded(id, t, 3); // vitest.config.ts: RELOAD_AFTER_MS=1500
    const lines = (await page(id, t, "limit=10")).lines;
    expect(lines.map((l) => l.message)).toEqual(["a", "lost 2", "lost 3"]);
  });

  it("compresses pages when the client accepts gzip", async () => {
    const id = freshId();
    const t = await token();
    await push(
      id,
      t,
      range(1, 50).map((i) => ({ message: `a fairly repetitive line ${i}` })),
    );
    await loaded(id, t, 50);
    const res = await api(`/v1/deployments/${id}/logs?limit=50`, {
      token: t,
      headers: { "accept-encoding": "gzip" },
    });
    expect(res.headers.get("content-encoding")).toBe("gzip");
  });

  it("answers 404 deployment_not_found for a log never written", async () => {
    const res = await api(`/v1/deployments/${freshId()}/logs`, {
      token: await token(),
    });
    expect(res.status).toBe(404);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe(
      "deployment_not_found",
    );
  });

  it("answers 400 invalid_field for bad page parameters", async () => {
    const id = freshId();
    const t = await token();
    await push(id, t, [{ message: "x" }]);
    for (const [q, field] of [
      ["limit=0", "limit"],
      ["limit=5000", "limit"],
      ["level=info,loud", "level.1"],
      ["direction=up", "direction"],
      ["till=2026-13-45T00:00:00Z", "till"],
    ]) {
      const res = await api(`/v1/deployments/${id}/logs?${q}`, { token: t });
      const body = await res.json<{ error: { code: string; field: string } }>();
      expect([res.status, body.error.field]).toEqual([400, field]);
    }
  });
});
