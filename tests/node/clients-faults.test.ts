/**
 * The agent and the CLI when things go wrong between them and the API:
 * connections dropped before and after the server stored a batch, the
 * Worker restarted mid-push, 429s and 503s from a proxy, and a live tail
 * whose WebSocket is killed. Afterwards every line is there exactly
 * once, in order, and the tail printed each line once.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeAgent } from "../../clients/agent/node";
import {
  api,
  CORPUS,
  cli,
  exportBytes,
  exportLines,
  startCli,
  until,
} from "./cli-run";
import { type FaultProxy, startFaultProxy } from "./fault-proxy";
import { type Stack, startStack } from "./stack";

let stack: Stack;
let proxy: FaultProxy;
let token: string;

beforeAll(async () => {
  stack = await startStack();
  token = await stack.token();
  proxy = await startFaultProxy(stack.url);
});

afterAll(async () => {
  await proxy?.close();
  await stack?.stop();
});

const FILE = "gitlab-runner__log-1.log";
const bytes = readFileSync(join(CORPUS, FILE));

/**
 * Pushes FILE with the agent in small batches, 4 KiB at a time with a
 * pause between (so faults land mid-push); returns its report.
 */
async function pushWithAgent(
  url: string,
  deployment: string,
  onBatch: (n: number) => void = () => {},
) {
  let replayed = 0;
  let batches = 0;
  let retries = 0;
  const agent = createNodeAgent({
    url,
    token,
    deployment,
    exitHooks: false,
    batchBytes: 8 * 1024,
    maxBatchBytes: 16 * 1024,
    // Enough retries to outlast a Worker restart on a slow machine.
    retries: 30,
    retryBaseMs: 50,
    retryMaxMs: 2_000,
    requestTimeoutMs: 15_000,
    onRetry: () => {
      retries += 1;
    },
    onDelivered: (d) => {
      batches += 1;
      if (d.replayed) replayed += 1;
      onBatch(batches);
    },
  });
  const out = agent.text();
  for (let at = 0; at < bytes.length; at += 4096) {
    await out.write(bytes.subarray(at, at + 4096));
    await new Promise((r) => setTimeout(r, 15));
  }
  const report = await agent.close();
  return { report, batches, replayed, retries };
}

/** Checks the log holds the file, each line once, in seq order. */
async function expectExactlyTheFile(deployment: string): Promise<void> {
  const exported = await exportBytes(stack.url, token, deployment);
  expect(exported.length).toBe(bytes.length);
  expect(exported.equals(bytes)).toBe(true);
  const lines = await exportLines(stack.url, token, deployment);
  expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
}

describe("pushing through faults", () => {
  it("survives connections dropped before and after a batch is stored", async () => {
    proxy.setPlan(({ method, path, n }) => {
      if (method !== "POST" || !path.endsWith("/logs")) return undefined;
      if (n % 4 === 0) return "drop-after";
      if (n % 7 === 0) return "drop-before";
      return undefined;
    });
    const { report, replayed } = await pushWithAgent(proxy.url, "fault-drops");
    proxy.setPlan(() => undefined);

    expect(report.undelivered.count).toBe(0);
    expect(proxy.injected["drop-after"]).toBeGreaterThanOrEqual(3);
    expect(proxy.injected["drop-before"]).toBeGreaterThanOrEqual(1);
    // Each batch whose answer was lost was stored once and replayed.
    expect(replayed).toBe(proxy.injected["drop-after"]);
    await expectExactlyTheFile("fault-drops");
  });

  it("survives the Worker restarting mid-push", async () => {
    let restarted: Promise<void> | null = null;
    let restartedAt = 0;
    // Restart once a few batches are in, while the rest keep coming.
    const { report, batches, retries } = await pushWithAgent(
      stack.url,
      "fault-restart",
      (n) => {
        if (n === 3) {
          restartedAt = n;
          restarted = stack.restart();
        }
      },
    );
    await restarted;

    expect(restartedAt).toBe(3);
    expect(report.undelivered.count).toBe(0);
    expect(report.errors).toEqual([]);
    expect(batches).toBeGreaterThan(6);
    // Requests failed while the Worker was down, and were retried.
    expect(retries).toBeGreaterThanOrEqual(1);
    await expectExactlyTheFile("fault-restart");
  });

  it("edgetail push rides out 503s and 429s with Retry-After", async () => {
    proxy.setPlan(({ method, path, n }) => {
      if (method !== "POST" || !path.endsWith("/logs")) return undefined;
      if (n === 2 || n === 5) {
        return { status: 429, code: "rate_limited", retryAfter: 1 };
      }
      if (n % 3 === 0) return { status: 503, code: "upstream_unavailable" };
      return undefined;
    });
    // 1 MiB batches would be one request: push a bigger file.
    const big = join(CORPUS, "gitlab-runner__log-5.log");
    const started = Date.now();
    const push = await cli(["push", big, "-d", "fault-429", "-q"], {
      url: proxy.url,
      token,
    });
    proxy.setPlan(() => undefined);

    expect(push).toMatchObject({ code: 0, stderr: "" });
    expect(proxy.injected["429"]).toBe(2);
    expect(proxy.injected["503"]).toBeGreaterThanOrEqual(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    const exported = await exportBytes(stack.url, token, "fault-429");
    expect(exported.equals(readFileSync(big))).toBe(true);
  });
});

describe("an outage longer than the retry budget", () => {
  it("edgetail run loses no line and completes only when all are stored", async () => {
    // Every POST .../logs is dropped for 4 s: with 30 ms between attempts
    // that is over 100 failures in a row, ten times the old budget.
    let downUntil = 0;
    proxy.setPlan(({ method, path }) => {
      if (method !== "POST" || !path.endsWith("/logs")) return undefined;
      if (downUntil === 0) downUntil = Date.now() + 4_000;
      return Date.now() < downUntil ? "drop-before" : undefined;
    });
    const dir = await mkdtemp(join(tmpdir(), "edgetail-outage-"));
    const script = join(dir, "count.mjs");
    await writeFile(
      script,
      [
        "const wait = (ms) => new Promise((r) => setTimeout(r, ms));",
        "for (let i = 1; i <= 2000; i++) {",
        "  process.stdout.write('line ' + i + '\\n');",
        "  if (i % 100 === 0) await wait(150);",
        "}",
      ].join("\n"),
    );
    const run = await cli(
      ["run", "-d", "fault-outage", "--", process.execPath, script],
      { url: proxy.url, token, env: { EDGETAIL_RETRY_MAX_MS: "30" } },
    );
    proxy.setPlan(() => undefined);

    expect(proxy.injected["drop-before"]).toBeGreaterThan(20);
    expect(run.code).toBe(0);
    expect(run.stderr).not.toMatch(/not delivered|INCOMPLETE/);
    const lines = await exportLines(stack.url, token, "fault-outage");
    expect(lines.map((l) => l.message)).toEqual(
      Array.from({ length: 2000 }, (_, i) => `line ${i + 1}`),
    );
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
    const info = await (await api(stack.url, token, "fault-outage")).json();
    expect(info).toMatchObject({ status: "success", exit_code: 0 });
  });

  it("a batch given up stops the log there: no hole, not completed, loud", async () => {
    // The second batch is refused for good (a 400); nothing after it may
    // be stored, and the deployment must not claim a whole log.
    let posts = 0;
    proxy.setPlan(({ method, path }) => {
      if (method !== "POST" || !path.endsWith("/logs")) return undefined;
      posts += 1;
      return posts === 2 ? { status: 400, code: "invalid_field" } : undefined;
    });
    const dir = await mkdtemp(join(tmpdir(), "edgetail-refused-"));
    const script = join(dir, "count.mjs");
    await writeFile(
      script,
      [
        "const wait = (ms) => new Promise((r) => setTimeout(r, ms));",
        "for (let i = 1; i <= 50; i++) {",
        "  process.stdout.write('line ' + i + '\\n');",
        "  await wait(20);",
        "}",
      ].join("\n"),
    );
    const run = await cli(
      ["run", "-d", "fault-refused", "--", process.execPath, script],
      { url: proxy.url, token },
    );
    proxy.setPlan(() => undefined);

    // The command's own code, the loss said loudly.
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/LOG INCOMPLETE: \d+ lines/);
    const lines = await exportLines(stack.url, token, "fault-refused");
    const messages = lines.map((l) => l.message);
    expect(messages).toEqual(
      Array.from({ length: messages.length }, (_, i) => `line ${i + 1}`),
    );
    expect(messages.length).toBeLessThan(50);
    const info = await (await api(stack.url, token, "fault-refused")).json();
    expect(info.status).not.toBe("success");
  });
});

describe("edgetail tail -f", () => {
  it("resumes a killed socket with no gap or duplicate; Ctrl-C prints the cursor", async () => {
    const id = "tail-resume";
    const writer = createNodeAgent({
      url: stack.url,
      token,
      deployment: id,
      exitHooks: false,
      batchMs: 20,
    });
    const write = async (from: number, to: number) => {
      for (let i = from; i <= to; i++) {
        await writer.write(`line ${i} ${"=".repeat(i % 50)}`);
        if (i % 100 === 0) await new Promise((r) => setTimeout(r, 30));
      }
      await writer.flush();
    };
    await write(1, 500);

    const tail = startCli(["tail", id, "-f", "--json"], {
      url: proxy.url,
      token,
    });
    const printed = () =>
      tail
        .stdout()
        .toString()
        .split("\n")
        .filter(Boolean)
        .map(
          (l) =>
            JSON.parse(l) as { seq: number; message: string; cursor: string },
        );

    await until(() => printed().length >= 500, "the history and backlog");
    const more = write(501, 3000);
    await until(() => printed().length >= 1000, "live lines");
    expect(proxy.dropSockets()).toBe(1);
    await until(() => printed().length >= 2000, "lines after a drop");
    await until(() => proxy.openSockets() === 1, "a socket to kill");
    expect(proxy.dropSockets()).toBe(1);
    await more;
    await until(() => printed().length >= 3000, "every line");
    await new Promise((r) => setTimeout(r, 200));
    tail.child.kill("SIGINT");
    const done = await tail.done;

    const lines = printed();
    expect(lines.map((l) => l.seq)).toEqual(
      Array.from({ length: 3000 }, (_, i) => i + 1),
    );
    expect(lines.map((l) => l.message)).toEqual(
      Array.from(
        { length: 3000 },
        (_, i) => `line ${i + 1} ${"=".repeat((i + 1) % 50)}`,
      ),
    );
    expect(done.stderr).toContain("stream dropped");
    expect(done.code).toBe(130);
    const cursor = /--since (\S+)/.exec(done.stderr)?.[1];
    expect(cursor).toBe(lines.at(-1)?.cursor);

    // Resuming from that cursor prints exactly what came after, then
    // exits 0 when the deployment ends.
    await write(3001, 3010);
    await writer.close({ status: "success", exitCode: 0 });
    const resumed = await cli(["tail", id, "-f", "--since", cursor ?? ""], {
      url: proxy.url,
      token,
    });
    expect(resumed.code).toBe(0);
    expect(resumed.stdout.toString()).toBe(
      Array.from(
        { length: 10 },
        (_, i) => `line ${3001 + i} ${"=".repeat((3001 + i) % 50)}\n`,
      ).join(""),
    );
    expect(resumed.stderr).toContain("ended: success (exit 0)");
  });
});
