/**
 * The agent's own logic, against an in-process fake of the ingest API:
 * batching by size and time, order and batch numbers, gzip, retries and
 * their limits, backpressure, spilling to a file, masks, raw text with
 * `\r` progress bars, and the close report.
 */
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { Agent, type AgentOptions } from "../../clients/agent";
import { AGENT_DEFAULTS } from "../../clients/agent/options";
import { SpillQueue } from "../../clients/agent/spill";
import { fullJitter, type RetryInfo } from "../../clients/agent/transport";
import {
  apiError,
  deferred,
  fakeApi,
  type Script,
  settlesWithin,
} from "./fake-api";

function agentFor(script: Script | undefined, opts: Partial<AgentOptions>) {
  const api = fakeApi(script);
  const agent = new Agent({
    url: "http://fake.test",
    token: "t",
    deployment: "d-1",
    agent: "unit",
    fetch: api.fetch,
    retryBaseMs: 1,
    retryMaxMs: 5,
    ...opts,
  });
  return { api, agent };
}

const line = (i: number) =>
  `line ${String(i).padStart(4, "0")} ${"x".repeat(80)}`;

describe("batching", () => {
  it("sends a batch once batchBytes are waiting, at most maxBatchBytes, in order", async () => {
    const { api, agent } = agentFor(undefined, {
      batchBytes: 1_000,
      maxBatchBytes: 4_000,
      batchMs: 60_000,
      gzip: false,
    });
    const sent = Array.from({ length: 200 }, (_, i) => line(i));
    for (const message of sent) await agent.write(message);
    const report = await agent.close();

    expect(api.stored.map((l) => l.message)).toEqual(sent);
    expect(report).toMatchObject({
      delivered: 200,
      undelivered: { count: 0 },
      lastSeq: 200,
      cursor: "c200",
    });
    const sizes = api.requests.map((r) =>
      (r.json.lines ?? []).reduce(
        (n, l) => n + Buffer.byteLength(JSON.stringify(l)),
        0,
      ),
    );
    // Every batch but the one close() flushed waited for 1,000 bytes.
    for (const size of sizes.slice(0, -1)) {
      expect(size).toBeGreaterThanOrEqual(1_000);
      expect(size).toBeLessThanOrEqual(4_000);
    }
    expect(api.requests.map((r) => r.json.batch)).toEqual(
      sizes.map((_, seq) => ({ agent: "unit", seq })),
    );
  });

  it("sends a small batch once its oldest line is batchMs old, gzip'd", async () => {
    const { api, agent } = agentFor(undefined, { batchMs: 120 });
    const started = Date.now();
    await agent.write("one");
    await agent.write({ message: "two", level: "warn", step: "build" });
    while (api.requests.length === 0) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const waited = Date.now() - started;

    expect(waited).toBeGreaterThanOrEqual(110);
    expect(waited).toBeLessThan(2_000);
    const [request] = api.requests;
    expect(request?.headers.get("content-encoding")).toBe("gzip");
    expect(request?.headers.get("authorization")).toBe("Bearer t");
    expect(request?.json.lines).toMatchObject([
      { message: "one" },
      { message: "two", level: "warn", step: "build" },
    ]);
    await agent.close();
  });

  it("splits a message too long for one body into partial parts", async () => {
    const { api, agent } = agentFor(undefined, { gzip: false });
    const long = "é".repeat(300 * 1024);
    await agent.write(long);
    await agent.close();

    expect(api.stored.map((l) => l.partial ?? false)).toEqual([true, false]);
    expect(api.stored.map((l) => l.message).join("")).toBe(long);
  });
});

describe("retries", () => {
  it("retries 503, 429 (after Retry-After) and drops with the same batch", async () => {
    const retries: RetryInfo[] = [];
    const { api, agent } = agentFor(
      (_, n) =>
        n === 1
          ? apiError(503, "upstream_unavailable")
          : n === 2
            ? apiError(429, "rate_limited", { "retry-after": "1" })
            : n === 3
              ? "drop"
              : n === 4
                ? "lose-answer"
                : undefined,
      { onRetry: (info) => retries.push(info) },
    );
    await agent.write("only line");
    const started = Date.now();
    const report = await agent.close();

    expect(api.requests).toHaveLength(5);
    expect(new Set(api.requests.map((r) => r.text)).size).toBe(1);
    expect(api.stored.map((l) => l.message)).toEqual(["only line"]);
    expect(report.delivered).toBe(1);
    expect(retries.map((r) => r.error.code)).toEqual([
      "upstream_unavailable",
      "rate_limited",
      "network_error",
      "network_error",
    ]);
    expect(retries[1]?.delayMs).toBeGreaterThanOrEqual(1_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  });

  it("does not retry a 400, reports the lost lines and sends nothing after them", async () => {
    const { api, agent } = agentFor(
      (seen) =>
        seen.json.lines?.[0]?.message === "bad"
          ? apiError(400, "invalid_field")
          : undefined,
      { batchMs: 10 },
    );
    await agent.write("first");
    await agent.flush();
    await agent.write("bad");
    await agent.write("also in the bad batch");
    await agent.flush();
    expect(agent.halted).toBe(true);
    await agent.write("good");
    const report = await agent.close({ status: "success" });

    // Nothing after the lost batch: the log stays a complete prefix.
    expect(api.requests).toHaveLength(2);
    expect(api.stored.map((l) => l.message)).toEqual(["first"]);
    expect(report.undelivered).toEqual({
      count: 3,
      first: "bad",
      last: "good",
    });
    expect(report.stopped).toEqual({
      code: "invalid_field",
      message: expect.any(String),
      status: 400,
    });
    // A log with a hole is not marked complete.
    expect(api.completed).toBeNull();
    expect(report.completed).toBe(false);
    expect(report.errors.map((e) => [e.code, e.status])).toEqual([
      ["invalid_field", 400],
      ["not_completed", undefined],
    ]);
  });

  it("retries an outage longer than any retry count until it ends, losing nothing", async () => {
    // 40 failures in a row: the old default (10 retries) gave the batch up.
    const { api, agent } = agentFor(
      (_, n) =>
        n <= 40
          ? n % 2
            ? "drop"
            : apiError(503, "upstream_unavailable")
          : undefined,
      { batchMs: 5, batchBytes: 100, maxBatchBytes: 200, gzip: false },
    );
    const sent = Array.from({ length: 30 }, (_, i) => `l${i}`);
    for (const message of sent) await agent.write(message);
    const report = await agent.close({ status: "success" });

    expect(api.requests.length).toBeGreaterThan(40);
    expect(api.stored.map((l) => l.message)).toEqual(sent);
    expect(report).toMatchObject({
      delivered: 30,
      undelivered: { count: 0 },
      completed: true,
      errors: [],
    });
    expect(report.stopped).toBeUndefined();
  });

  it("caps the wait between attempts at retryMaxMs (30 s by default)", () => {
    expect(AGENT_DEFAULTS.retries).toBe(Number.POSITIVE_INFINITY);
    expect(AGENT_DEFAULTS.retryMaxMs).toBe(30_000);
    for (let attempt = 1; attempt < 200; attempt += 7) {
      expect(fullJitter(attempt, 250, 30_000)).toBeLessThanOrEqual(30_000);
    }
  });

  it("does not complete a log whose lines the server refused as completed", async () => {
    const { api, agent } = agentFor(
      (seen) =>
        seen.path.endsWith("/logs")
          ? apiError(409, "deployment_completed")
          : undefined,
      { batchMs: 10 },
    );
    await agent.write("late 1");
    await agent.write("late 2");
    const report = await agent.close({ status: "success" });

    expect(api.stored).toEqual([]);
    expect(report.undelivered.count).toBe(2);
    expect(report.completed).toBe(false);
    // Plain data: JSON keeps the message and nothing of the retry loop.
    const errors = JSON.parse(JSON.stringify(report.errors));
    expect(errors[0]).toEqual({
      code: "deployment_completed",
      message: "deployment_completed (fake)",
      status: 409,
    });
    expect(Object.keys(errors[1]).sort()).toEqual(["code", "message"]);
  });

  it("stops sending after a refused token, counting what it could not send", async () => {
    const { api, agent } = agentFor(() => apiError(401, "token_expired"), {
      batchMs: 10,
    });
    await agent.write("first");
    await agent.flush();
    await agent.write("second");
    await agent.write("third");
    const report = await agent.close();

    expect(api.requests).toHaveLength(1);
    expect(report.undelivered).toEqual({
      count: 3,
      first: "first",
      last: "third",
    });
    expect(report.errors[0]?.code).toBe("token_expired");
  });

  it("gives up at closeTimeoutMs and reports undelivered lines and completion", async () => {
    const { agent } = agentFor(() => apiError(503, "upstream_unavailable"), {
      closeTimeoutMs: 300,
      retries: 1_000,
    });
    for (let i = 0; i < 5; i++) await agent.write(`l${i}`);
    const started = Date.now();
    const report = await agent.close({ status: "failed", exitCode: 2 });

    expect(Date.now() - started).toBeLessThan(6_000);
    expect(report.delivered).toBe(0);
    expect(report.undelivered).toEqual({ count: 5, first: "l0", last: "l4" });
    expect(report.completed).toBe(false);
    // Says why the batch was still unsent, then that close() gave up.
    expect(report.errors.map((e) => e.code)).toEqual([
      "upstream_unavailable",
      "aborted",
      "not_completed",
    ]);
    expect(report.stopped?.code).toBe("aborted");
  });
});

describe("backpressure", () => {
  it("write() waits past maxBufferedBytes until a batch is taken", async () => {
    const gate = deferred();
    const { api, agent } = agentFor(() => gate.promise, {
      maxBufferedBytes: 2_000,
      batchBytes: 1_000,
      maxBatchBytes: 1_000,
      gzip: false,
    });
    // The first batch goes out and hangs; then the queue fills up.
    let i = 0;
    let pending: Promise<void> | null = null;
    while (!pending && i < 1_000) {
      const p = agent.write(line(i++));
      if (!(await settlesWithin(p, 5))) pending = p;
    }

    expect(pending).not.toBeNull();
    expect(agent.stats.queuedBytes).toBeGreaterThanOrEqual(2_000);
    expect(agent.stats.queuedBytes).toBeLessThan(2_000 + 200);
    gate.resolve();
    await pending;
    const report = await agent.close();
    expect(report.delivered).toBe(i);
    expect(api.stored).toHaveLength(i);
  });
});

describe("spilling to a file", () => {
  it("keeps memoryBytes in memory, the rest on disk, and gives all back in order", () => {
    const q = new SpillQueue({ memoryBytes: 1_000, maxFileBytes: 1e9 });
    const lines = Array.from({ length: 100 }, (_, i) =>
      JSON.stringify({ message: line(i) }),
    );
    for (const json of lines) q.push(json, Buffer.byteLength(json));

    expect(q.spilled).toBe(100 - Math.floor(1_000 / (lines[0]?.length ?? 1)));
    expect(q.length).toBe(100);
    const path = q.path ?? "";
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const back: string[] = [];
    while (q.length > 0) back.push(...q.take(700, 50).map((e) => e.json));
    expect(back).toEqual(lines);
    expect(statSync(path).size).toBe(0);
    q.close();
    expect(existsSync(path)).toBe(false);
  });

  it("lets writers go on while the API is down, and sends it all later", async () => {
    let down = true;
    const queue = new SpillQueue({ memoryBytes: 2_000, maxFileBytes: 1e9 });
    const { api, agent } = agentFor(
      () => (down ? apiError(503, "upstream_unavailable") : undefined),
      {
        queue,
        maxBufferedBytes: 2_000,
        batchBytes: 1_000,
        maxBatchBytes: 1_000,
        retries: 1_000,
        gzip: false,
      },
    );
    const sent = Array.from({ length: 300 }, (_, i) => line(i));
    for (const message of sent) {
      expect(await settlesWithin(agent.write(message), 1)).toBe(true);
    }

    expect(queue.spilled).toBeGreaterThan(250);
    down = false;
    const report = await agent.close();
    expect(report.undelivered.count).toBe(0);
    expect(api.stored.map((l) => l.message)).toEqual(sent);
  });
});

describe("secrets", () => {
  it("sends masks with the next batch, or on their own at once", async () => {
    const { api, agent } = agentFor(undefined, { batchMs: 50 });
    await agent.write("before the mask");
    agent.addSecrets(["hunter22"]);
    await agent.write("password is hunter22");
    await agent.flush();
    agent.addSecrets(["s3cr3t-value", "hunter22"]);
    await agent.flush();
    await agent.close();

    expect(
      api.requests.map((r) => [r.path, r.json.lines?.length, r.json.secrets]),
    ).toEqual([
      ["/v1/deployments/d-1/logs", 2, ["hunter22"]],
      ["/v1/deployments/d-1/secrets", undefined, ["s3cr3t-value"]],
    ]);
    expect(() => agent.addSecrets(["abcd"])).toThrow(/closed/);
  });

  it("refuses a secret shorter than the API takes, without echoing it", () => {
    const { agent } = agentFor(undefined, {});
    expect(() => agent.addSecrets(["abc"])).toThrow(
      "secrets[0]: a secret is 4 to 4096 characters",
    );
  });
});

describe("raw text", () => {
  it("splits on \\n, keeps \\r, decodes split UTF-8 and ends with a partial tail", async () => {
    const { api, agent } = agentFor(undefined, { gzip: false });
    const out = agent.text({ stream: "stdout", step: "build" });
    const e = Buffer.from("é");
    await out.write("a\r\nb");
    await out.write(Buffer.concat([Buffer.from("c"), e.subarray(0, 1)]));
    await out.write(Buffer.concat([e.subarray(1), Buffer.from("\n\nend")]));
    await agent.close();

    expect(api.stored).toEqual([
      {
        ts: expect.any(Number),
        step: "build",
        stream: "stdout",
        message: "a\r",
      },
      {
        ts: expect.any(Number),
        step: "build",
        stream: "stdout",
        message: "bcé",
      },
      { ts: expect.any(Number), step: "build", stream: "stdout", message: "" },
      {
        ts: expect.any(Number),
        step: "build",
        stream: "stdout",
        message: "end",
        partial: true,
      },
    ]);
  });

  it("sends a \\r progress bar that never ends its line, cut after a \\r", async () => {
    const { api, agent } = agentFor(undefined, {
      batchMs: 10,
      partialIdleMs: 5_000,
      partialMaxWaitMs: 100,
    });
    const out = agent.text();
    let written = "";
    for (let p = 0; p <= 30; p++) {
      const chunk = `\rdownloading ${p}%`;
      written += chunk;
      await out.write(chunk);
      await new Promise((r) => setTimeout(r, 15));
    }
    const before = api.stored.length;
    await agent.close();

    expect(before).toBeGreaterThanOrEqual(2);
    const parts = api.stored.map((l) => l.message);
    expect(parts.join("")).toBe(written);
    expect(api.stored.every((l) => l.partial)).toBe(true);
    // Parts sent while the bar was running end just after a \r.
    expect(parts.slice(0, before).filter((p) => !p.endsWith("\r"))).toEqual([]);
  });

  it("ends another stream's open partial line before a line of its own", async () => {
    const { api, agent } = agentFor(undefined, {
      partialIdleMs: 30,
      batchMs: 10,
    });
    const stdout = agent.text({ stream: "stdout" });
    const stderr = agent.text({ stream: "stderr", level: "error" });
    await stdout.write("50%");
    await new Promise((r) => setTimeout(r, 100));
    await stderr.write("warning: disk\n");
    await stdout.write(" done\n");
    await agent.close();

    expect(
      api.stored.map((l) => [l.stream, l.message, l.partial ?? false]),
    ).toEqual([
      ["stdout", "50%", true],
      ["stdout", "", false],
      ["stderr", "warning: disk", false],
      ["stdout", " done", false],
    ]);
  });
});

describe("exit hooks (Node)", () => {
  /** A minimal ingest API over HTTP, for a child process to talk to. */
  async function ingestServer() {
    const lines: string[] = [];
    const completed: string[] = [];
    const server = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      let body = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
      const json = JSON.parse(body.toString("utf8"));
      if (req.url?.endsWith("/complete")) completed.push(json.status);
      for (const l of json.lines ?? []) lines.push(l.message);
      res.writeHead(req.url?.endsWith("/logs") ? 201 : 200, {
        "content-type": "application/json",
      });
      const n = lines.length;
      res.end(
        JSON.stringify({ first_seq: n, last_seq: n, cursor: "c", lines: n }),
      );
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, lines, completed, server };
  }

  async function runFixture(
    mode: string,
    url: string,
    onReady?: (pid: number) => void,
  ) {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "fixtures/exit-hooks.ts")],
      { env: { ...process.env, MODE: mode, EDGETAIL_URL: url } },
    );
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.stdout.on("data", () => onReady?.(child.pid ?? 0));
    const code = await new Promise<number | null>((r) =>
      child.on("close", (c) => r(c)),
    );
    return { code, stderr };
  }

  const expected = Array.from({ length: 50 }, (_, i) => `line ${i + 1}`);

  it("flushes when the program simply ends", async () => {
    const api = await ingestServer();
    const run = await runFixture("natural", api.url);
    api.server.close();

    expect(run).toEqual({ code: 0, stderr: "" });
    expect(api.lines).toEqual(expected);
  });

  it("flushes and completes canceled on SIGTERM, then exits 143", async () => {
    const api = await ingestServer();
    let child = 0;
    const run = await runFixture("signal", api.url, (pid) => {
      child = pid;
      process.kill(pid, "SIGTERM");
    });
    api.server.close();

    expect(child).toBeGreaterThan(0);
    expect(run.code).toBe(143);
    expect(api.lines).toEqual(expected);
    expect(api.completed).toEqual(["canceled"]);
  });

  it("says on stderr what process.exit() left unsent", async () => {
    const api = await ingestServer();
    const run = await runFixture("exit", api.url);
    api.server.close();

    expect(run.code).toBe(0);
    expect(api.lines).toEqual([]);
    expect(run.stderr).toContain(
      "edgetail agent: 50 lines for hooks were never sent",
    );
  });
});
