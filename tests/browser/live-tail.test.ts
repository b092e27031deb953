/**
 * The page's live tail (web/src/stream.ts) against a scripted WebSocket
 * server: what the user is told on `behind`, `lagged`, `reset` and gaps,
 * and the acks and resume cursor it sends.
 */
import { afterEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import type { StreamNotice, StreamState } from "../../web/src/stream";

// The page runs in a browser; here `ws` plays the browser's WebSocket.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
const { LiveTail } = await import("../../web/src/stream");

const t0 = Date.parse("2026-12-03T10:00:00.000Z");
const line = (seq: number) => ({
  seq,
  ts: new Date(t0 + seq * 1000).toISOString(),
  step: "",
  level: "info",
  stream: "stdout",
  message: `m${seq}`,
  metadata: {},
  redaction_state: "clean",
  cursor: `c${seq}`,
});

let server: WebSocketServer | null = null;
afterEach(() => server?.close());

/** A server that plays `script` to each connection, in order. */
async function serve(scripts: unknown[][]) {
  server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((r) => server?.once("listening", r));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const urls: string[] = [];
  const acks: number[] = [];
  server.on("connection", (socket, req) => {
    urls.push(req.url ?? "");
    socket.on("message", (data) => {
      const msg = JSON.parse(String(data));
      if (msg.type === "ack") acks.push(msg.received);
    });
    const script = scripts[urls.length - 1] ?? [];
    for (const m of script) socket.send(JSON.stringify(m));
    if (urls.length < scripts.length) setTimeout(() => socket.close(1011), 50);
  });
  return { port, urls, acks };
}

function record(port: number) {
  const states: StreamState[] = [];
  const notices: StreamNotice[] = [];
  const seqs: number[] = [];
  let resets = 0;
  const tail = new LiveTail(
    (p) => `ws://127.0.0.1:${port}/s${p.cursor ? `?cursor=${p.cursor}` : ""}`,
    {
      lines: (ls) => seqs.push(...ls.map((l) => l.seq)),
      state: (s) => states.push(s),
      notice: (n) => notices.push(n),
      lastSeq: () => {},
      reset: () => {
        resets += 1;
      },
    },
  );
  return { tail, states, notices, seqs, resets: () => resets };
}

const until = async (check: () => boolean, ms = 5_000) => {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("the page's live tail", () => {
  it("shows how far behind it is, from heartbeats", async () => {
    const { port, acks } = await serve([
      [
        { type: "lines", lines: [line(1), line(2)], cursor: "c2" },
        {
          type: "heartbeat",
          cursor: "c9",
          last_seq: 9,
          server_time: new Date(t0 + 32_000).toISOString(),
        },
      ],
    ]);
    const r = record(port);
    r.tail.start({});
    await until(() => r.states.some((s) => s.kind === "behind"));
    expect(r.states.find((s) => s.kind === "behind")).toEqual({
      kind: "behind",
      seconds: 30,
      lines: 7,
    });
    await until(() => acks.length > 0);
    expect(acks.at(-1)).toBeGreaterThan(0);
    r.tail.stop();
  });

  it("tells the user about lagged, gaps and resets, and resumes by cursor", async () => {
    const { port, urls } = await serve([
      [
        { type: "lines", lines: [line(1), line(2)], cursor: "c2" },
        { type: "lagged", cursor: "c2", message: "viewer fell behind" },
      ],
      [
        { type: "lines", lines: [line(2), line(5)], cursor: "c5" },
        { type: "reset", reason: "re-created", cursor: "c0" },
        { type: "lines", lines: [line(1)], cursor: "c1" },
      ],
    ]);
    const r = record(port);
    r.tail.start({});
    await until(() => r.notices.some((n) => n.kind === "reset"));
    await until(() => r.seqs.length === 4);
    expect(r.notices.map((n) => n.kind)).toEqual(["lagged", "gap", "reset"]);
    expect(r.notices[1]?.message).toContain("lines 3-4");
    // Line 2 came twice and was kept once; after the reset, line 1 again.
    expect(r.seqs).toEqual([1, 2, 5, 1]);
    expect(r.resets()).toBe(1);
    expect(urls[1]).toBe("/s?cursor=c2");
    expect(r.states.some((s) => s.kind === "reconnecting")).toBe(true);
    r.tail.stop();
  });
});
