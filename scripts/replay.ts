/**
 * @module `npm run replay`: pushes a log file (or stdin) to the local API
 * the way a CI agent would, as gzip'd text/plain batches.
 *
 *   npm run replay -- <file|-> [--deployment D] [--url URL] [--token T]
 *     [--lines-per-second N | --batch-lines N --interval-ms M]
 *     [--step S] [--complete success|failed|canceled]
 *
 * Bodies end on `\n` boundaries, so every line arrives whole; a line
 * longer than a body is cut at a UTF-8 boundary and its parts are stored
 * `partial`, which viewers and the export join again.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { parseArgs, promisify } from "node:util";
import { gzip as gzipCallback } from "node:zlib";
import { ID_PATTERN, MAX_LINES_PER_BATCH } from "../schemas/limits.ts";
import {
  checkHealth,
  errorText,
  ingestAnswer,
  networkText,
  sendWithRetry,
  storedSoFar,
} from "./api-client.ts";
import { CliError, isMain, positiveInt, run, sleep } from "./cli.ts";
import { MissingSecretError, readJwtSecret } from "./dev-vars.ts";
import { signToken } from "./token.ts";

const gzip = promisify(gzipCallback);

/** Bodies stay under 1 MiB before gzip (the API takes up to 8 MiB). */
export const DEFAULT_MAX_BODY_BYTES = 1_000_000;
/** Lines per body when no pace is asked for. */
export const DEFAULT_BATCH_LINES = 5_000;

const NEWLINE = 0x0a;
const COMPLETE_STATUSES = ["success", "failed", "canceled"] as const;

/** Limits of one body. */
export interface SplitOptions {
  /** Most lines (`\n`-terminated or a final fragment) per body. */
  maxLines: number;
  /** Most bytes per body. */
  maxBytes: number;
}

/**
 * Splits `bytes` into bodies that end just after a `\n`, each within
 * `maxLines` lines and `maxBytes` bytes; concatenated they are `bytes`.
 * Only a line longer than `maxBytes` is cut, at a UTF-8 code point
 * boundary; the last body may end without `\n` if the input does.
 */
export function splitBatches(
  bytes: Uint8Array,
  opts: SplitOptions,
): Uint8Array[] {
  if (!(opts.maxLines >= 1 && opts.maxBytes >= 4)) {
    throw new RangeError("maxLines must be >= 1 and maxBytes >= 4");
  }
  const bodies: Uint8Array[] = [];
  let start = 0;
  while (start < bytes.length) {
    const limit = Math.min(bytes.length, start + opts.maxBytes);
    let end = -1;
    let lines = 0;
    let from = start;
    while (lines < opts.maxLines) {
      const nl = bytes.indexOf(NEWLINE, from);
      if (nl === -1 || nl >= limit) break;
      end = nl + 1;
      lines += 1;
      from = end;
    }
    if (limit === bytes.length && lines < opts.maxLines) {
      // The rest fits: take a final fragment without `\n` along.
      if (bytes.indexOf(NEWLINE, from) === -1) end = bytes.length;
    }
    if (end === -1) end = utf8Boundary(bytes, start, limit);
    bodies.push(bytes.subarray(start, end));
    start = end;
  }
  return bodies;
}

/** The last code point boundary at or before `limit`, after `start`. */
function utf8Boundary(bytes: Uint8Array, start: number, limit: number): number {
  let at = limit;
  // Continuation bytes are 10xxxxxx; a code point has at most 3 of them.
  while (at > start && at > limit - 4 && ((bytes[at] ?? 0) & 0xc0) === 0x80) {
    at -= 1;
  }
  return at > start ? at : limit;
}

/** Lines in a body: `\n`s, plus one for a trailing fragment. */
export function countLines(body: Uint8Array): number {
  let n = 0;
  for (
    let at = body.indexOf(NEWLINE);
    at !== -1;
    at = body.indexOf(NEWLINE, at + 1)
  ) {
    n += 1;
  }
  return body.length > 0 && body[body.length - 1] !== NEWLINE ? n + 1 : n;
}

/** A deployment id from a file name plus the time: `name-YYYYMMDD-HHMMSS-mmm`. */
export function defaultDeploymentId(file: string, now = new Date()): string {
  const name =
    file === "-" ? "stdin" : basename(file).replace(/\.(log|txt)$/i, "");
  const clean = name
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 100);
  const iso = now.toISOString(); // 2026-12-03T17:06:02.123Z
  const stamp = `${iso.slice(0, 10).replaceAll("-", "")}-${iso
    .slice(11, 19)
    .replaceAll(":", "")}-${iso.slice(20, 23)}`;
  return `${clean || "replay"}-${stamp}`;
}

/** How fast to push: lines per body and the gap between body starts. */
export interface Pace {
  batchLines: number;
  intervalMs: number;
}

function paceOf(values: {
  "lines-per-second"?: string;
  "batch-lines"?: string;
  "interval-ms"?: string;
}): Pace {
  const perSecond = values["lines-per-second"];
  if (perSecond !== undefined) {
    if (values["batch-lines"] || values["interval-ms"]) {
      throw new CliError(
        "use either --lines-per-second or --batch-lines/--interval-ms",
        2,
      );
    }
    const rate = positiveInt("lines-per-second", perSecond);
    // About ten bodies a second: smooth enough to watch, few requests.
    const batchLines = Math.min(DEFAULT_BATCH_LINES, Math.ceil(rate / 10));
    return { batchLines, intervalMs: (batchLines / rate) * 1000 };
  }
  const batchLines = values["batch-lines"]
    ? positiveInt("batch-lines", values["batch-lines"])
    : DEFAULT_BATCH_LINES;
  if (batchLines > MAX_LINES_PER_BATCH) {
    throw new CliError(`--batch-lines is at most ${MAX_LINES_PER_BATCH}`, 2);
  }
  const interval = values["interval-ms"];
  const intervalMs = interval === undefined ? 0 : Number(interval);
  if (!Number.isFinite(intervalMs) || intervalMs < 0) {
    throw new CliError(`--interval-ms must be >= 0, got ${interval}`, 2);
  }
  return { batchLines, intervalMs };
}

async function readInput(file: string): Promise<Uint8Array> {
  if (file !== "-") {
    try {
      return await readFile(file);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new CliError(`cannot read ${file}: ${why}`);
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  }
  return Buffer.concat(chunks);
}

function watchCommands(api: string, id: string, token: string): string {
  const base = `${api}/v1/deployments/${id}`;
  const ws = `${base.replace(/^http/, "ws")}/stream?access_token=${token}`;
  const auth = `-H 'Authorization: Bearer ${token}'`;
  return [
    `deployment ${id}; watch it with:`,
    `  browser    ${api}/d/${id}#token=${token}`,
    `  WebSocket  ${ws}`,
    `  SSE        curl -N -H 'Accept: text/event-stream' ${auth} '${base}/stream'`,
    `  history    curl -s --compressed ${auth} '${base}/logs?limit=100'`,
    `  export     curl -s --compressed ${auth} '${base}/export'`,
    "",
  ].join("\n");
}

const USAGE = `usage: npm run replay -- <file|-> [options]

Pushes a log file (or stdin) through the ingest API as text/plain
batches that end on line ends, at a chosen pace, and prints the URLs to
watch it.

  --deployment D          deployment id (default: the file name and a time)
  --url URL               API (default http://127.0.0.1:$PORT or :8787)
  --token T               token (default: minted from .dev.vars)
  --tenant T              tenant of a minted token (default dev)
  --lines-per-second N    pace
  --batch-lines N         lines per request, with --interval-ms M between
  --interval-ms M
  --step S                step of every line
  --complete STATUS       then complete: success, failed or canceled
  --help                  this text
`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: {
      help: { type: "boolean", default: false },
      deployment: { type: "string" },
      url: {
        type: "string",
        default: `http://127.0.0.1:${process.env.PORT || 8787}`,
      },
      token: { type: "string" },
      tenant: { type: "string", default: "dev" },
      "lines-per-second": { type: "string" },
      "batch-lines": { type: "string" },
      "interval-ms": { type: "string" },
      step: { type: "string" },
      complete: { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const file = positionals[0];
  if (!file || positionals.length > 1) {
    throw new CliError("give one file to replay, or - for stdin", 2);
  }
  const api = values.url.replace(/\/+$/, "");
  const deployment = values.deployment ?? defaultDeploymentId(file);
  if (!ID_PATTERN.test(deployment)) {
    throw new CliError(`--deployment "${deployment}" is not a valid id`, 2);
  }
  const complete = values.complete;
  if (
    complete !== undefined &&
    !COMPLETE_STATUSES.some((s) => s === complete)
  ) {
    throw new CliError(
      `--complete must be one of ${COMPLETE_STATUSES.join(", ")}`,
      2,
    );
  }
  const pace = paceOf(values);

  const bytes = await readInput(file);
  if (bytes.length === 0) throw new CliError(`${file} is empty`);
  const bodies = splitBatches(bytes, {
    maxLines: pace.batchLines,
    maxBytes: DEFAULT_MAX_BODY_BYTES,
  });
  // A minted token outlives a slow replay by an hour, for the watchers.
  const ttlSeconds = 3600 + Math.ceil((bodies.length * pace.intervalMs) / 1000);
  const token =
    values.token ?? (await mintToken(values.tenant, deployment, ttlSeconds));
  await checkHealth(api);
  console.log(watchCommands(api, deployment, token));

  const query = values.step ? `?step=${encodeURIComponent(values.step)}` : "";
  const endpoint = `${api}/v1/deployments/${deployment}/logs${query}`;
  const r = await pushBodies(bodies, endpoint, token, pace);

  const rate = Math.round(r.linesSent / Math.max(r.seconds, 1e-3));
  console.log(
    `sent ${r.linesSent} lines (${bytes.length} bytes, ${bodies.length} ` +
      `request${bodies.length === 1 ? "" : "s"}, ${r.retries} retries)`,
  );
  console.log(
    `stored ${r.stored} lines as seq ${r.firstSeq}..${r.lastSeq} in ` +
      `${r.seconds.toFixed(2)} s: ${rate} lines/s`,
  );
  if (complete) await completeDeployment(api, deployment, token, complete);
}

/** What a replay stored. */
interface PushResult {
  linesSent: number;
  stored: number;
  retries: number;
  firstSeq: number;
  lastSeq: number;
  seconds: number;
}

/** Posts the bodies in order, at the pace asked, each retried alone. */
async function pushBodies(
  bodies: Uint8Array[],
  endpoint: string,
  token: string,
  pace: Pace,
): Promise<PushResult> {
  const runId = randomBytes(6).toString("hex");
  const started = performance.now();
  const r = { linesSent: 0, stored: 0, retries: 0, firstSeq: 0, lastSeq: 0 };
  for (const [i, body] of bodies.entries()) {
    const wait = started + i * pace.intervalMs - performance.now();
    if (wait > 0) await sleep(wait);

    const what = `batch ${i + 1}/${bodies.length}`;
    const res = await sendWithRetry(
      endpoint,
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "text/plain; charset=utf-8",
          "content-encoding": "gzip",
          "idempotency-key": `replay-${runId}-${i}`,
        },
        body: await gzip(body),
      },
      {
        onRetry: (reason, delay) =>
          console.error(`${what}: ${reason}; retrying in ${delay} ms`),
      },
    ).catch((err: unknown) => {
      throw new CliError(
        `${what} failed after retries: ${networkText(err)}${storedSoFar(r)}`,
      );
    });
    const answer = ingestAnswer(res, what, r);
    r.retries += res.retries;
    if (i === 0) r.firstSeq = answer.first_seq;
    r.lastSeq = answer.last_seq;
    r.stored += answer.lines;
    r.linesSent += countLines(body);
    progress(i + 1, bodies.length, r.linesSent);
  }
  if (process.stderr.isTTY) process.stderr.write("\n");
  return { ...r, seconds: (performance.now() - started) / 1000 };
}

async function completeDeployment(
  api: string,
  deployment: string,
  token: string,
  status: string,
): Promise<void> {
  const res = await sendWithRetry(
    `${api}/v1/deployments/${deployment}/complete`,
    {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ status }),
    },
  );
  if (res.status !== 200) {
    throw new CliError(`complete: HTTP ${res.status} ${errorText(res.body)}`);
  }
  console.log(`completed: ${status}`);
}

async function mintToken(
  tenant: string,
  deployment: string,
  ttlSeconds: number,
): Promise<string> {
  try {
    return await signToken({
      secret: readJwtSecret(),
      tenant,
      deployments: [deployment],
      ttlSeconds,
    });
  } catch (err) {
    if (err instanceof MissingSecretError) throw new CliError(err.message, 2);
    throw err;
  }
}

let lastProgress = 0;
function progress(done: number, total: number, lines: number): void {
  if (!process.stderr.isTTY) return;
  const now = performance.now();
  if (done < total && now - lastProgress < 200) return;
  lastProgress = now;
  process.stderr.write(`\r${done}/${total} requests, ${lines} lines`);
}

if (isMain(import.meta.url)) run("replay", main);
