import { describe, expect, it } from "vitest";
import { api, freshId, type Line, push, token } from "./helpers";

interface SseEvent {
  id?: string;
  data: { type: string; lines?: Line[]; [k: string]: unknown };
}

/** Reads SSE events until `stop` says so. */
async function readEvents(
  res: Response,
  stop: (events: SseEvent[]) => boolean,
): Promise<SseEvent[]> {
  const reader = res.body?.pipeThrough(new TextDecoderStream()).getReader();
  if (!reader) throw new Error("no body");
  const events: SseEvent[] = [];
  let buffer = "";
  while (!stop(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end = buffer.indexOf("\n\n");
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf("\n\n");
      const fields = Object.fromEntries(
        block
          .split("\n")
          .map((l) => [
            l.slice(0, l.indexOf(":")),
            l.slice(l.indexOf(":") + 2),
          ]),
      );
      if (fields.data)
        events.push({ id: fields.id, data: JSON.parse(fields.data) });
    }
  }
  await reader.cancel();
  return events;
}

const linesOf = (events: SseEvent[]) =>
  events.flatMap((e) => e.data.lines ?? []);

describe("live tail over SSE", () => {
  it("streams lines with the cursor as event id and resumes by Last-Event-ID", async () => {
    const id = freshId();
    const t = await token();
    await push(id, t, [{ message: "a" }, { message: "b" }, { message: "c" }]);
    const first = await api(`/v1/deployments/${id}/stream?tail=2`, {
      token: t,
      headers: { accept: "text/event-stream" },
    });
    expect(first.headers.get("content-type")).toContain("text/event-stream");
    const events = await readEvents(first, (e) => linesOf(e).length >= 2);
    expect(linesOf(events).map((l) => l.message)).toEqual(["b", "c"]);
    const lastId = events.filter((e) => e.id).at(-1)?.id ?? "";
    expect(lastId).toBe(linesOf(events).at(-1)?.cursor);

    await push(id, t, [{ message: "d" }]);
    const resumed = await api(`/v1/deployments/${id}/stream`, {
      token: t,
      headers: { accept: "text/event-stream", "last-event-id": lastId },
    });
    const more = await readEvents(resumed, (e) => linesOf(e).length >= 1);
    expect(linesOf(more).map((l) => [l.seq, l.message])).toEqual([[4, "d"]]);
  });

  it("sends end to an SSE viewer of a completed deployment", async () => {
    const id = freshId();
    const t = await token();
    await push(id, t, [{ message: "only" }]);
    await api(`/v1/deployments/${id}/complete`, {
      method: "POST",
      token: t,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ status: "success", exit_code: 0 }),
    });
    const res = await api(`/v1/deployments/${id}/stream`, {
      token: t,
      headers: { accept: "text/event-stream" },
    });
    const events = await readEvents(res, (e) =>
      e.some((x) => x.data.type === "end"),
    );
    expect(events.map((e) => e.data.type)).toEqual(["lines", "end"]);
    expect(events[1]?.data).toMatchObject({
      status: "success",
      exit_code: 0,
      last_seq: 1,
    });
  });

  it("sends heartbeats on an idle stream", async () => {
    // vitest.config.ts: HEARTBEAT_MS=1000.
    const id = freshId();
    const t = await token();
    await push(id, t, [{ message: "x" }]);
    const res = await api(`/v1/deployments/${id}/stream`, {
      token: t,
      headers: { accept: "text/event-stream" },
    });
    const events = await readEvents(res, (e) =>
      e.some((x) => x.data.type === "heartbeat"),
    );
    const beat = events.find((e) => e.data.type === "heartbeat")?.data;
    expect(beat).toMatchObject({ type: "heartbeat", last_seq: 1 });
  });

  it("delivers a backlog larger than the window without lagging", async () => {
    // Regression: SSE viewers reading at full speed got `lagged` once the
    // backlog passed the window (vitest.config.ts: 256 KiB).
    const id = freshId();
    const t = await token();
    const big = "z".repeat(8000);
    for (let b = 0; b < 2; b++) {
      await push(
        id,
        t,
        Array.from({ length: 100 }, () => ({ message: big })),
      );
    }
    const res = await api(`/v1/deployments/${id}/stream`, {
      token: t,
      headers: { accept: "text/event-stream" },
    });
    const events = await readEvents(
      res,
      (e) =>
        linesOf(e).length >= 200 || e.some((x) => x.data.type === "lagged"),
    );
    expect(events.some((e) => e.data.type === "lagged")).toBe(false);
    expect(linesOf(events).map((l) => l.seq)).toEqual(
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
  });

  it("prefers Last-Event-ID over the ?cursor= the stream was opened with", async () => {
    const id = freshId();
    const t = await token();
    await push(
      id,
      t,
      Array.from({ length: 10 }, (_, i) => ({ message: `m${i + 1}` })),
    );
    const all = await readEvents(
      await api(`/v1/deployments/${id}/stream`, {
        token: t,
        headers: { accept: "text/event-stream" },
      }),
      (e) => linesOf(e).length >= 10,
    );
    const cursors = linesOf(all).map((l) => l.cursor);
    const res = await api(`/v1/deployments/${id}/stream?cursor=${cursors[1]}`, {
      token: t,
      headers: {
        accept: "text/event-stream",
        "last-event-id": cursors[7] ?? "",
      },
    });
    const events = await readEvents(res, (e) => linesOf(e).length >= 2);
    expect(linesOf(events).map((l) => l.seq)).toEqual([9, 10]);
  });
});
