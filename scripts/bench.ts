/**
 * @module `npm run bench`: starts its own local stack (temporary state,
 * free ports, 127.0.0.1 only) and prints figures, no pass/fail:
 *
 * - ingest throughput into one deployment, one writer and four;
 * - agent-to-viewer latency for 1, 100 and 1,000 WebSocket viewers.
 *
 * Everything shares the machine: workerd, chDB and this process (which
 * plays the agents and all viewers), so the figures are a floor for what
 * the code does, not what Cloudflare's network does.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import {
  type ApiResponse,
  errorText,
  ingestAnswer,
  sendWithRetry,
} from "./api-client.ts";
import { now, openViewers, Samples } from "./bench-viewers.ts";
import { CliError, isMain, run, sleep } from "./cli.ts";
import { ensureDevVars, REPO_ROOT } from "./dev-vars.ts";
import { splitBatches } from "./replay.ts";
import { freePort, type Stack, startStack } from "./stack.ts";
import { signToken } from "./token.ts";

const CORPUS_FILE = join(
  REPO_ROOT,
  "..",
  "shared",
  "corpus",
  "logs",
  "buildkite-t2h__npm-install.log",
);
const INGEST_LINES = 100_000;
const INGEST_BATCH_LINES = 2_000;
const WRITERS = [1, 4];
const VIEWER_COUNTS = [1, 100, 1_000];
const PUSH_LINES = 20;
const PUSH_EVERY_MS = 50;
const PUSH_FOR_MS = 5_000;
/** How long viewers get to receive the last line before we count losses. */
const DRAIN_MS = 15_000;
const CATCH_UP_MS = 60_000;
/** The whole bench, stack start included, stays under five minutes. */
const BUDGET_MS = 280_000;

interface IngestFigure {
  writers: number;
  lines: number;
  bytes: number;
  requests: number;
  retries: number;
  seconds: number;
  /** Seconds from the last answer until history (ClickHouse) had it all. */
  catchUp?: number;
}

interface LatencyFigure {
  viewers: number;
  connected: number;
  lines: number;
  samples: Samples;
  pushSeconds: number;
  lagged: number;
  errors: string[];
}

class Budget {
  private readonly end = Date.now() + BUDGET_MS;
  left(): number {
    return this.end - Date.now();
  }
  check(what: string): void {
    if (this.left() <= 0)
      throw new CliError(`time budget spent before ${what}`);
  }
}

/** The corpus log repeated to `lines` lines, cut into gzip'd bodies. */
function ingestBodies(): {
  bodies: Uint8Array<ArrayBuffer>[];
  lines: number;
  bytes: number;
} {
  let text = readFileSync(CORPUS_FILE);
  if (text.at(-1) !== 0x0a) text = Buffer.concat([text, Buffer.from("\n")]);
  const perCopy = text.filter((b) => b === 0x0a).length;
  const copies = Math.ceil(INGEST_LINES / perCopy);
  const all = Buffer.concat(Array.from({ length: copies }, () => text));
  const raw = splitBatches(all, {
    maxLines: INGEST_BATCH_LINES,
    maxBytes: 1_000_000,
  });
  return {
    bodies: raw.map((b) => new Uint8Array(gzipSync(b))),
    lines: copies * perCopy,
    bytes: all.length,
  };
}

async function ingest(
  api: string,
  token: string,
  writers: number,
  input: { bodies: Uint8Array<ArrayBuffer>[]; lines: number; bytes: number },
  budget: Budget,
): Promise<IngestFigure> {
  const deployment = `bench-ingest-${writers}w-${Date.now().toString(36)}`;
  const url = `${api}/v1/deployments/${deployment}/logs`;
  let next = 0;
  let retries = 0;
  let lastSeq = 0;
  const writer = async () => {
    while (next < input.bodies.length && budget.left() > 0) {
      const i = next++;
      const body = input.bodies[i];
      if (!body) break;
      const res = await sendWithRetry(url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "text/plain",
          "content-encoding": "gzip",
          "idempotency-key": `bench-${i}`,
        },
        body,
      });
      const answer = ingestAnswer(res, `ingest body ${i}`);
      retries += res.retries;
      lastSeq = Math.max(lastSeq, answer.last_seq);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: writers }, writer));
  const seconds = (performance.now() - started) / 1000;
  const figure: IngestFigure = {
    writers,
    lines: lastSeq,
    bytes: input.bytes,
    requests: input.bodies.length,
    retries,
    seconds,
  };
  const caught = await waitForHistory(api, token, deployment, lastSeq, budget);
  if (caught !== undefined) figure.catchUp = caught;
  return figure;
}

/** Seconds until history's newest line is `lastSeq`; undefined if never. */
async function waitForHistory(
  api: string,
  token: string,
  deployment: string,
  lastSeq: number,
  budget: Budget,
): Promise<number | undefined> {
  const started = performance.now();
  const deadline = Math.min(CATCH_UP_MS, budget.left() - 120_000);
  const url = `${api}/v1/deployments/${deployment}/logs?direction=backward&limit=1`;
  while (performance.now() - started < deadline) {
    const res = await fetch(url, {
      headers: { authorization: `Bearer ${token}` },
    }).catch(() => null);
    if (res?.ok) {
      const page: unknown = await res.json();
      if (newestSeq(page) >= lastSeq) {
        return (performance.now() - started) / 1000;
      }
    }
    await sleep(250);
  }
  return undefined;
}

function newestSeq(page: unknown): number {
  if (typeof page !== "object" || page === null || !("lines" in page)) return 0;
  const lines = page.lines;
  if (!Array.isArray(lines)) return 0;
  const seq: unknown = lines[0]?.seq;
  return typeof seq === "number" ? seq : 0;
}

async function latency(
  api: string,
  token: string,
  count: number,
  budget: Budget,
): Promise<LatencyFigure> {
  const deployment = `bench-latency-${count}-${Date.now().toString(36)}`;
  const base = `${api}/v1/deployments/${deployment}`;
  const pushes = Math.floor(PUSH_FOR_MS / PUSH_EVERY_MS);
  const expected = pushes * PUSH_LINES;
  const samples = new Samples(count * expected);
  const stream = `${base.replace(/^http/, "ws")}/stream?access_token=${token}`;
  const { viewers, errors } = await openViewers(stream, count, samples);
  const headers = { authorization: `Bearer ${token}` };

  const started = performance.now();
  for (let i = 0; i < pushes && budget.left() > 0; i++) {
    const wait = started + i * PUSH_EVERY_MS - performance.now();
    if (wait > 0) await sleep(wait);
    const sentAt = now();
    const lines = Array.from({ length: PUSH_LINES }, (_, k) => ({
      message: `bench line ${i * PUSH_LINES + k}`,
      metadata: { sent_at: sentAt },
    }));
    const res: ApiResponse = await sendWithRetry(`${base}/logs`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ lines }),
    });
    ingestAnswer(res, `latency push ${i}`);
  }
  const pushSeconds = (performance.now() - started) / 1000;

  const drainUntil = Date.now() + Math.min(DRAIN_MS, budget.left());
  while (Date.now() < drainUntil) {
    if (viewers.every((v) => v.lines >= expected || v.lagged)) break;
    await sleep(50);
  }
  const lines = viewers.reduce((n, v) => n + v.lines, 0);
  const lagged = viewers.filter((v) => v.lagged).length;

  const done = await sendWithRetry(`${base}/complete`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify({ status: "success" }),
  });
  if (done.status !== 200) errors.push(`complete: ${errorText(done.body)}`);
  for (const v of viewers) v.close();
  return {
    viewers: count,
    connected: viewers.length,
    lines,
    samples,
    pushSeconds,
    lagged,
    errors,
  };
}

function table(rows: (string | number)[][]): string {
  const widths = rows[0]?.map((_, c) =>
    Math.max(...rows.map((r) => String(r[c] ?? "").length)),
  );
  return rows
    .map((r) =>
      r.map((cell, c) => String(cell).padStart(widths?.[c] ?? 0)).join("  "),
    )
    .map((line) => `  ${line}`)
    .join("\n");
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => (Number.isNaN(n) ? "-" : n.toFixed(1));

function report(ingestFigures: IngestFigure[], latencies: LatencyFigure[]) {
  const out: string[] = [];
  const first = ingestFigures[0];
  if (first) {
    out.push(
      `ingest: ${int(first.lines)} lines (${(first.bytes / 1e6).toFixed(1)} MB, ` +
        `buildkite-t2h__npm-install.log repeated) in ${int(first.requests)} ` +
        `gzip'd text/plain bodies of ${int(INGEST_BATCH_LINES)} lines`,
    );
    out.push(
      table([
        ["writers", "lines/s", "MB/s", "seconds", "retries", "history +s"],
        ...ingestFigures.map((f) => [
          f.writers,
          int(f.lines / f.seconds),
          (f.bytes / 1e6 / f.seconds).toFixed(1),
          f.seconds.toFixed(2),
          f.retries,
          f.catchUp === undefined ? "-" : f.catchUp.toFixed(1),
        ]),
      ]),
    );
    out.push("  (history +s: until GET /logs showed the last line)\n");
  }
  if (latencies.length > 0) {
    out.push(
      `latency: POST to viewer receive; ${PUSH_LINES} lines every ` +
        `${PUSH_EVERY_MS} ms for ${PUSH_FOR_MS / 1000} s, per viewer per line`,
    );
    out.push(
      table([
        [
          "viewers",
          "connected",
          "p50 ms",
          "p99 ms",
          "max ms",
          "delivered",
          "lagged",
        ],
        ...latencies.map((l) => {
          const expected =
            l.connected * Math.floor(PUSH_FOR_MS / PUSH_EVERY_MS) * PUSH_LINES;
          return [
            int(l.viewers),
            int(l.connected),
            ms(l.samples.quantile(0.5)),
            ms(l.samples.quantile(0.99)),
            ms(l.samples.quantile(1)),
            `${((100 * l.lines) / Math.max(1, expected)).toFixed(1)}%`,
            l.lagged,
          ];
        }),
      ]),
    );
    for (const l of latencies) {
      for (const e of l.errors) out.push(`  ${l.viewers} viewers: ${e}`);
    }
  }
  return out.join("\n");
}

async function main(): Promise<void> {
  const budget = new Budget();
  const persistDir = mkdtempSync(join(tmpdir(), "edgetail-bench-"));
  const [port, clickhousePort, inspectorPort] = await threePorts();
  const log: string[] = [];
  console.log(
    `bench: ${availableParallelism()} CPUs, node ${process.version}; ` +
      `starting the stack on 127.0.0.1:${port} (state in ${persistDir})`,
  );
  let stack: Stack | undefined;
  const cleanup = async () => {
    await stack?.stop();
    rmSync(persistDir, { recursive: true, force: true });
  };
  process.once("SIGINT", () => {
    void cleanup().then(() => process.exit(130));
  });

  const ingestFigures: IngestFigure[] = [];
  const latencies: LatencyFigure[] = [];
  try {
    stack = await startStack({
      port,
      clickhousePort,
      inspectorPort,
      persistDir,
      logLevel: "warn",
      output: (_, line) => {
        log.push(line);
        if (log.length > 200) log.shift();
      },
    });
    const token = await signToken({
      secret: ensureDevVars().secret,
      tenant: "bench",
      deployments: "*",
    });

    const input = ingestBodies();
    for (const writers of WRITERS) {
      budget.check(`ingest with ${writers} writers`);
      const f = await ingest(stack.url, token, writers, input, budget);
      ingestFigures.push(f);
      console.log(
        `ingest, ${writers} writer(s): ${int(f.lines / f.seconds)} lines/s`,
      );
    }
    for (const count of VIEWER_COUNTS) {
      budget.check(`latency with ${count} viewers`);
      const l = await latency(stack.url, token, count, budget);
      latencies.push(l);
      console.log(
        `latency, ${count} viewer(s): p50 ${ms(l.samples.quantile(0.5))} ms`,
      );
    }
  } catch (err) {
    console.error(`\nbench stopped early; last lines of the stack:`);
    console.error(log.slice(-20).join("\n"));
    throw err;
  } finally {
    console.log(`\n${report(ingestFigures, latencies)}`);
    await cleanup();
  }
}

/** Three different free ports: API, ClickHouse, inspector. */
async function threePorts(): Promise<[number, number, number]> {
  const ports = new Set<number>();
  for (let tries = 0; ports.size < 3 && tries < 20; tries++) {
    ports.add(await freePort());
  }
  const [a, b, c] = ports;
  if (a === undefined || b === undefined || c === undefined) {
    throw new CliError("could not find three free ports on 127.0.0.1");
  }
  return [a, b, c];
}

if (isMain(import.meta.url)) run("bench", main);
