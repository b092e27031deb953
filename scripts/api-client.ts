/**
 * @module A small client of the edgetail API for the dev scripts: posts
 * with retries (network errors, 429 and 5xx, honouring Retry-After) and
 * error bodies turned into readable messages.
 */
import { CliError, sleep } from "./cli.ts";

/** The answer to an accepted ingest request (schemas/ingest.ts). */
export interface IngestAnswer {
  first_seq: number;
  last_seq: number;
  cursor: string;
  lines: number;
  replayed?: true;
}

/** Options of {@link sendWithRetry}. */
export interface RetryOptions {
  /** Attempts in all, the first included. @default 8 */
  attempts?: number;
  /** First backoff; doubles each retry, with jitter. @default 250 */
  baseDelayMs?: number;
  /** @default 10_000 */
  maxDelayMs?: number;
  /** Each attempt's timeout. @default 60_000 */
  timeoutMs?: number;
  /** Told about every retry (why, and how long until the next try). */
  onRetry?: (reason: string, delayMs: number) => void;
}

/** A finished exchange: status and the parsed JSON body (or text). */
export interface ApiResponse {
  status: number;
  body: unknown;
  /** How many attempts were retried (0 when the first one answered). */
  retries: number;
}

const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);

/**
 * Sends a request, retrying on network errors, 429 and 5xx with
 * exponential backoff (or the server's Retry-After). Resolves with the
 * first other answer, or the last one once attempts run out; rejects
 * only when the last attempt failed on the network.
 */
export async function sendWithRetry(
  url: string,
  init: RequestInit,
  opts: RetryOptions = {},
): Promise<ApiResponse> {
  const attempts = opts.attempts ?? 8;
  const base = opts.baseDelayMs ?? 250;
  const cap = opts.maxDelayMs ?? 10_000;
  for (let attempt = 1; ; attempt++) {
    let reason: string;
    let retryAfterMs: number | undefined;
    try {
      const res = await fetch(url, {
        ...init,
        signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000),
      });
      const body = await readBody(res);
      if (!RETRY_STATUS.has(res.status) || attempt >= attempts) {
        return { status: res.status, body, retries: attempt - 1 };
      }
      reason = `${res.status} ${errorText(body)}`;
      retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
    } catch (err) {
      if (attempt >= attempts) throw err;
      reason = networkText(err);
    }
    const backoff = Math.min(cap, base * 2 ** (attempt - 1));
    const delay =
      retryAfterMs ?? Math.round(backoff / 2 + Math.random() * (backoff / 2));
    opts.onRetry?.(reason, delay);
    await sleep(delay);
  }
}

/** Retry-After in milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - Date.now());
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!(res.headers.get("content-type") ?? "").includes("json")) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `code: message` of an edgetail error body, else the text itself. */
export function errorText(body: unknown): string {
  if (typeof body === "object" && body !== null && "error" in body) {
    const error = body.error;
    if (typeof error === "object" && error !== null) {
      const code = "code" in error ? String(error.code) : "error";
      const message = "message" in error ? String(error.message) : "";
      return `${code}: ${message}`;
    }
  }
  return typeof body === "string" ? body.slice(0, 300) : JSON.stringify(body);
}

/** Undici hides the useful part (ECONNREFUSED…) in `cause`. */
export function networkText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause;
  if (cause instanceof Error) {
    const code = "code" in cause ? String(cause.code) : "";
    return code && !cause.message.includes(code)
      ? `${cause.message} (${code})`
      : cause.message;
  }
  return err.message;
}

/** Progress to mention when a run stops halfway. */
export interface Progress {
  stored: number;
  lastSeq: number;
}

/** `; 120 lines were stored before (up to seq 120)`, or nothing. */
export function storedSoFar(progress?: Progress): string {
  if (!progress || progress.stored === 0) return "";
  return `; ${progress.stored} lines were stored before it (up to seq ${progress.lastSeq})`;
}

/** Narrows an ingest answer, or throws naming what came back instead. */
export function ingestAnswer(
  res: ApiResponse,
  what: string,
  progress?: Progress,
): IngestAnswer {
  const body = res.body;
  if (
    (res.status === 200 || res.status === 201) &&
    typeof body === "object" &&
    body !== null &&
    "last_seq" in body &&
    "first_seq" in body &&
    "lines" in body &&
    typeof body.last_seq === "number" &&
    typeof body.first_seq === "number" &&
    typeof body.lines === "number"
  ) {
    return {
      first_seq: body.first_seq,
      last_seq: body.last_seq,
      lines: body.lines,
      cursor: "cursor" in body ? String(body.cursor) : "",
      ...("replayed" in body && body.replayed === true
        ? { replayed: true as const }
        : {}),
    };
  }
  throw new CliError(
    `${what}: HTTP ${res.status} ${errorText(body)}${storedSoFar(progress)}`,
  );
}

/** Fails with a hint to start the stack when `url` does not answer. */
export async function checkHealth(url: string): Promise<void> {
  try {
    const res = await fetch(`${url}/healthz`, {
      signal: AbortSignal.timeout(5_000),
    });
    await res.body?.cancel();
    if (res.ok) return;
    throw new CliError(
      `${url}/healthz answered ${res.status}: is this the edgetail API?`,
    );
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(
      `cannot reach ${url} (${networkText(err)}): is \`npm run dev\` ` +
        "running? Start it, or pass --url",
    );
  }
}
