import { describe, expect, it } from "vitest";
import { MAX_LINE_BYTES } from "../../schemas/limits";
import { api, freshId, push, token } from "./helpers";

describe("ingest", () => {
  it("assigns gap-free increasing seqs across batches", async () => {
    const id = freshId();
    const t = await token();
    const a = await push(id, t, [{ message: "one" }, { message: "two" }]);
    const b = await push(id, t, [{ message: "three" }]);
    expect([a.first_seq, a.last_seq, b.first_seq, b.last_seq]).toEqual([
      1, 2, 3, 3,
    ]);
    expect(a.lines).toBe(2);
  });

  it("returns the same answer for a retried batch and stores nothing twice", async () => {
    const id = freshId();
    const t = await token();
    const batch = { batch: { agent: "runner-1", seq: 7 } };
    const first = await push(
      id,
      t,
      [{ message: "a" }, { message: "b" }],
      batch,
    );
    const again = await push(
      id,
      t,
      [{ message: "a" }, { message: "b" }],
      batch,
    );
    expect(again).toEqual({ ...first, replayed: true });
    const next = await push(id, t, [{ message: "c" }]);
    expect(next.first_seq).toBe(3);
  });

  it("honours Idempotency-Key on text/plain bodies", async () => {
    const id = freshId();
    const t = await token();
    const send = () =>
      api(`/v1/deployments/${id}/logs`, {
        method: "POST",
        token: t,
        headers: { "content-type": "text/plain", "idempotency-key": "k-1" },
        body: "x\ny\n",
      });
    const a = await send();
    const b = await send();
    expect(a.status).toBe(201);
    expect(b.status).toBe(200);
    const [ja, jb] = [
      await a.json<{ last_seq: number }>(),
      await b.json<{ last_seq: number }>(),
    ];
    expect(jb.last_seq).toBe(ja.last_seq);
    expect(ja.last_seq).toBe(2);
  });

  it("splits a long line into partial parts without losing a byte", async () => {
    const id = freshId();
    const t = await token();
    const long = "é".repeat(MAX_LINE_BYTES); // 2 bytes each: exactly two full parts
    const answer = await push(id, t, [{ message: long }, { message: "after" }]);
    expect(answer.last_seq).toBe(3);
    const res = await api(`/v1/deployments/${id}/export?format=ndjson`, {
      token: t,
    });
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.partial ?? false)).toEqual([true, false, false]);
    expect(
      lines
        .slice(0, 2)
        .map((l) => l.message)
        .join(""),
    ).toBe(long);
    for (const l of lines) {
      expect(new TextEncoder().encode(l.message).length).toBeLessThanOrEqual(
        MAX_LINE_BYTES,
      );
    }
  });

  it("answers 409 idempotency_conflict when a key comes back with other lines", async () => {
    // Regression: the new lines were dropped silently with a replayed answer.
    const id = freshId();
    const t = await token();
    const send = (body: string) =>
      api(`/v1/deployments/${id}/logs`, {
        method: "POST",
        token: t,
        headers: { "content-type": "text/plain", "idempotency-key": "k-2" },
        body,
      });
    expect((await send("a\n")).status).toBe(201);
    expect((await send("a\n")).status).toBe(200);
    const conflict = await send("b\n");
    expect(conflict.status).toBe(409);
    expect(
      (await conflict.json<{ error: { code: string } }>()).error.code,
    ).toBe("idempotency_conflict");
  });
});
