/**
 * @module Requests to the edgetail API with retries: network errors, 429
 * and 5xx are retried with exponential backoff and full jitter (or the
 * server's Retry-After, whichever is longer); any other 4xx fails at once
 * with the server's error code. `retries` may be Infinity (the agent's
 * default: a batch is retried until close() gives up). Web-platform APIs only, so it runs in
 * Node and in Workers.
 */
import { AgentError, errorFromResponse, networkError } from "./errors";

/** What the transport needs to know. */
export interface TransportOptions {
  /** API origin, e.g. `https://edgetail.example.com`. */
  url: string;
  token: string;
  /** Retries after the first attempt; Infinity retries until aborted. */
  retries: number;
  /** First backoff ceiling; doubles per retry up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Each attempt's limit, answer and body included. */
  requestTimeoutMs: number;
  /** A service binding's fetch in Workers, a mock in tests. */
  fetch?: typeof fetch;
  onRetry?: (info: RetryInfo) => void;
}

/** Told before each retry. */
export interface RetryInfo {
  /** The attempt that failed, from 1. */
  attempt: number;
  delayMs: number;
  error: AgentError;
  path: string;
}

/** One request, before retries. */
export interface SendRequest {
  method: "GET" | "POST";
  /** Path and query, e.g. `/v1/deployments/d/logs`. */
  path: string;
  body?: string | Uint8Array<ArrayBuffer>;
  headers?: Record<string, string>;
  /** Aborting stops the request and any retry still to come. */
  signal?: AbortSignal;
  /** Overrides the transport's `retries` for this request. */
  retries?: number;
}

/**
 * The delay before retry `attempt` (1 for the first retry): a uniform
 * random value between 0 and `min(max, base * 2^(attempt-1))`, "full
 * jitter", so that agents that failed together do not retry together.
 */
export function fullJitter(attempt: number, base: number, max: number) {
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(Math.random() * ceiling);
}

/** The API client of the agent and the CLI: one origin, one token. */
export class Transport {
  private readonly fetcher: typeof fetch;
  private readonly origin: string;

  constructor(private readonly opts: TransportOptions) {
    // Bound late so a test (or a Worker) may swap globalThis.fetch.
    this.fetcher = opts.fetch ?? ((input, init) => fetch(input, init));
    this.origin = opts.url.replace(/\/+$/, "");
  }

  /** The absolute URL of an API path. */
  url(path: string): string {
    return `${this.origin}${path}`;
  }

  /**
   * Sends `req`, retrying as the module says, and hands the 2xx answer to
   * `read` inside the attempt: a body that breaks off is retried too.
   * Rejects with an AgentError.
   */
  async send<T>(
    req: SendRequest,
    read: (res: Response) => Promise<T>,
  ): Promise<T> {
    const { retryBaseMs, retryMaxMs } = this.opts;
    const retries = req.retries ?? this.opts.retries;
    for (let attempt = 1; ; attempt++) {
      let error: AgentError;
      try {
        return await this.attempt(req, read);
      } catch (err) {
        error = err instanceof AgentError ? err : networkError(err);
      }
      if (req.signal?.aborted) throw abortedError(req.signal.reason);
      if (!error.retryable || attempt > retries) throw error;
      const jitter = fullJitter(attempt, retryBaseMs, retryMaxMs);
      const delayMs = Math.max(jitter, error.info.retryAfterMs ?? 0);
      this.opts.onRetry?.({ attempt, delayMs, error, path: req.path });
      await sleep(delayMs, req.signal);
      if (req.signal?.aborted) throw abortedError(req.signal.reason);
    }
  }

  /** POSTs a JSON value; resolves with the parsed JSON answer. */
  postJson<T>(path: string, value: unknown, signal?: AbortSignal): Promise<T> {
    return this.send(
      {
        method: "POST",
        path,
        body: JSON.stringify(value),
        headers: { "content-type": "application/json" },
        signal,
      },
      (res) => readJson<T>(res),
    );
  }

  /** GETs a JSON answer. */
  getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.send({ method: "GET", path, signal }, (res) =>
      readJson<T>(res),
    );
  }

  private async attempt<T>(
    req: SendRequest,
    read: (res: Response) => Promise<T>,
  ): Promise<T> {
    const limit = attemptSignal(req.signal, this.opts.requestTimeoutMs);
    try {
      let res: Response;
      try {
        res = await this.fetcher(this.url(req.path), {
          method: req.method,
          headers: {
            authorization: `Bearer ${this.opts.token}`,
            ...req.headers,
          },
          body: req.body,
          signal: limit.signal,
        });
      } catch (err) {
        throw this.failure(req, err);
      }
      if (!res.ok) {
        throw await errorFromResponse(res);
      }
      try {
        return await read(res);
      } catch (err) {
        if (err instanceof AgentError) throw err;
        throw this.failure(req, err);
      }
    } finally {
      limit.done();
    }
  }

  /** A thrown fetch: aborted by the caller (final) or a network error. */
  private failure(req: SendRequest, err: unknown): AgentError {
    if (req.signal?.aborted) return abortedError(req.signal.reason);
    return networkError(err);
  }
}

/** Reads a JSON body; a body that is not JSON is an invalid_response. */
export async function readJson<T>(res: Response): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new AgentError(
      "invalid_response",
      `expected JSON from ${res.url || "the API"}, got ${text.slice(0, 80)}`,
      { status: res.status, retryable: false },
    );
  }
}

/** Resolves after `ms`, or as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

function abortedError(reason: unknown): AgentError {
  if (reason instanceof AgentError) return reason;
  const message = reason instanceof Error ? reason.message : "aborted";
  return new AgentError("aborted", message, { retryable: false });
}

/** A signal for one attempt: the caller's, plus a timeout of its own. */
function attemptSignal(
  outer: AbortSignal | undefined,
  ms: number,
): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`no answer within ${ms} ms`)),
    ms,
  );
  const onAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) onAbort();
  else outer?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    done: () => {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    },
  };
}
