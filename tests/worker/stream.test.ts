import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Deployment } from "../../durable-objects/deployment";
import { api, freshId, push, token, watch } from "./helpers";

const seqs = (lines: { seq: number }[]) => lines.map((l) => l.seq);
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("live tail over WebSocket", () => {
  it("delivers lines pushed after connecting, in order, then end", async () => {
    const id = freshId();
    const t = await token();
    const viewer = await watch(id, t);
    await push(id, t, [{ message: "one" }, { message: "two" }]);
    await push(id, t, [{ message: "three", level: "error", step: "build" }]);
    await viewer.until((v) => v.lines().length === 3);
    const lines = viewer.lines();
    expect(lines.map((l) => l.message)).toEqual(["one", "two", "three"]);
    expect(seqs(lines)).toEqual([1, 2, 3]);
    expect(lines[2]).toMatchObject({ level: "error", step: "build" });

    const done = await api(`/v1/deployments/${id}/complete`, {
      method: "POST",
      token: t,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ status: "failed", exit_code: 3 }),
    });
    expect(done.status).toBe(200);
    await viewer.until((v) => v.messages.some((m) => m.type === "end"));
    expect(viewer.messages.at(-1)).toMatchObject({
      type: "end",
      status: "failed",
      exit_code: 3,
      last_seq: 3,
    });
    expect((await viewer.closed).code).toBe(1000);
  });

  it("resumes from a cursor with no gap and no duplicate", async () => {
    const id = freshId();
    const t = await token();
    const first = await push(
      id,
      t,
      range(1, 10).map((i) => ({ message: `line ${i}` })),
    );
    const all = await watch(id, t);
    await all.until((v) => v.lines().length === 10);
    const cursor = all.lines()[3]?.cursor ?? "";
    expect(first.last_seq).toBe(10);

    const resumed = await watch(id, t, `cursor=${cursor}`);
    await push(id, t, [{ message: "line 11" }]);
    await resumed.until((v) => v.lines().some((l) => l.seq === 11));
    expect(seqs(resumed.lines())).toEqual(range(5, 11));
  });

  it("backfills from sealed R2 chunks past the hot tail", async () => {
    // vitest.config.ts: HOT_TAIL_LINES=50, CHUNK_LINES=40.
    const id = freshId();
    const t = await token();
    for (let b = 0; b < 4; b++) {
      await push(
        id,
        t,
        range(b * 100 + 1, b * 100 + 100).map((i) => ({ message: `m${i}` })),
      );
    }
    // Sealing and pruning are alarm-driven: wait until lines left SQLite.
    const stub = env.DEPLOYMENT.get(env.DEPLOYMENT.idFromName(`acme/${id}`));
    let state = await runInDurableObject(stub, (o: Deployment) => o.state);
    for (let i = 0; i < 200 && (state?.pruned_upto ?? 0) < 300; i++) {
      await new Promise((r) => setTimeout(r, 20));
      state = await runInDurableObject(stub, (o: Deployment) => o.state);
    }
    expect(state?.sealed_upto).toBe(400);
    expect(state?.pruned_upto).toBe(350);
    const viewer = await watch(id, t);
    await viewer.until((v) => v.lines().length === 400);
    expect(seqs(viewer.lines())).toEqual(range(1, 400));
    expect(viewer.lines()[0]?.message).toBe("m1");
  });

  it("starts from the last N lines with ?tail=N", async () => {
    const id = freshId();
    const t = await token();
    await push(
      id,
      t,
      range(1, 20).map((i) => ({ message: `m${i}` })),
    );
    const viewer = await watch(id, t, "tail=5");
    await push(id, t, [{ message: "m21" }]);
    await viewer.until((v) => v.lines().some((l) => l.seq === 21));
    expect(seqs(viewer.lines())).toEqual(range(16, 21));
  });

  it("tells a viewer that stops acknowledging where it stopped", async () => {
    const id = freshId();
    const t = await token();
    const viewer = await watch(id, t, "", { ack: false });
    const big = "x".repeat(8000);
    // vitest.config.ts: a 256 KiB window; 1,200 lines of 8,000 overflow it.
    // Batches smaller than the window, so some lines arrive before it fills.
    for (let b = 0; b < 120; b++) {
      await push(
        id,
        t,
        range(1, 10).map(() => ({ message: big })),
      );
    }
    const closed = await viewer.closed;
    expect(closed.code).toBe(4008);
    const lagged = viewer.messages.at(-1);
    expect(lagged?.type).toBe("lagged");
    const delivered = viewer.lines();
    expect(lagged?.cursor).toBe(delivered.at(-1)?.cursor);

    const resumed = await watch(id, t, `cursor=${lagged?.cursor}`);
    await resumed.until((v) => v.lines().some((l) => l.seq === 1200), 20_000);
    const resumedSeqs = seqs(resumed.lines());
    expect(resumedSeqs[0]).toBe((delivered.at(-1)?.seq ?? 0) + 1);
    expect(resumedSeqs.at(-1)).toBe(1200);
  });

  it("waits for a slow but acknowledging viewer during a backlog", async () => {
    // Regression: a viewer that acked late was lagged once the first ack
    // left less than a whole message of room.
    const id = freshId();
    const t = await token();
    const big = "y".repeat(8000);
    for (let b = 0; b < 2; b++) {
      await push(
        id,
        t,
        range(1, 100).map(() => ({ message: big })),
      );
    }
    const viewer = await watch(id, t, "", { ackDelayMs: 300 });
    await viewer.until((v) => v.lines().length === 200, 20_000);
    expect(viewer.messages.some((m) => m.type === "lagged")).toBe(false);
    expect(seqs(viewer.lines())).toEqual(range(1, 200));
  });
});
