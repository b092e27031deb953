/**
 * @module The live part of `tail -f`: a WebSocket on
 * `GET /v1/deployments/{id}/stream`, acknowledged as the README's flow
 * control asks, reopened from the last line received whenever it drops
 * (with backoff), until the stream says `end`.
 */
import pRetry, { AbortError } from "p-retry";
import WebSocket from "ws";
import type { EndMessage, StreamMessage } from "../../../schemas/stream";
import { AgentError, errorFromResponse } from "../../agent/errors";
import { fullJitter, sleep } from "../../agent/transport";

/** Heartbeats come every 15 s; three missed mean a dead connection. */
const SILENCE_MS = 45_000;
/** Attempts per outage before giving up (about two minutes). */
const RETRIES = 12;

/** What {@link follow} needs. */
export interface FollowOptions {
  /** API origin (http or https). */
  url: string;
  token: string;
  deployment: string;
  /** Where to resume now: the cursor of the last line received. */
  position: () => string | undefined;
  /** `?tail=N` for the first connection, when there is no position. */
  tail?: number;
  /** Handles one message; the next waits for it. */
  onMessage: (message: StreamMessage) => Promise<void>;
  /** Told about drops and reconnections. */
  onNote: (text: string) => void;
  /** Aborting closes the socket; follow() then resolves with null. */
  signal: AbortSignal;
}

type Outcome =
  | { kind: "end"; end: EndMessage }
  | { kind: "dropped"; reason: string }
  | { kind: "stopped" };

/** Follows the stream until `end` (resolved) or the abort (null). */
export async function follow(opts: FollowOptions): Promise<EndMessage | null> {
  let first = true;
  for (;;) {
    // One outage per pRetry call: a connection that delivered something
    // and then dropped starts the count afresh.
    const outcome = await pRetry(
      async () => {
        const out = await session(opts, first);
        first = false;
        return out;
      },
      {
        retries: RETRIES,
        minTimeout: 0,
        maxTimeout: 0,
        factor: 1,
        signal: opts.signal,
        onFailedAttempt: async (err) => {
          if (err.retriesLeft <= 0) return;
          const delay = Math.max(
            fullJitter(err.attemptNumber, 500, 10_000),
            err instanceof AgentError ? (err.info.retryAfterMs ?? 0) : 0,
          );
          opts.onNote(
            `stream: ${err.message}; retrying in ${(delay / 1000).toFixed(1)} s`,
          );
          await sleep(delay, opts.signal);
        },
      },
    ).catch((err: unknown) => {
      if (opts.signal.aborted) return { kind: "stopped" } as const;
      throw err;
    });
    if (outcome.kind === "end") return outcome.end;
    if (outcome.kind === "stopped") return null;
    opts.onNote(`stream dropped (${outcome.reason}); resuming`);
  }
}

/**
 * One connection: resolves when it ends, drops after delivering at least
 * one message, or is stopped; rejects (retryable or not) when it could
 * not be opened or died before delivering anything.
 */
function session(opts: FollowOptions, first: boolean): Promise<Outcome> {
  const query = new URLSearchParams();
  const cursor = opts.position();
  if (cursor) query.set("cursor", cursor);
  else if (first && opts.tail !== undefined)
    query.set("tail", String(opts.tail));
  const base = opts.url.replace(/^http/, "ws");
  const url = `${base}/v1/deployments/${opts.deployment}/stream?${query}`;

  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${opts.token}` },
      perMessageDeflate: false,
    });
    let opened = false;
    let progressed = false;
    let received = 0;
    let end: EndMessage | null = null;
    let failure: Error | null = null;
    let chain = Promise.resolve();
    let silence: ReturnType<typeof setTimeout> | null = null;
    const quiet = () => {
      if (silence) clearTimeout(silence);
      silence = setTimeout(() => {
        failure = new Error(`no message for ${SILENCE_MS / 1000} s`);
        ws.terminate();
      }, SILENCE_MS);
    };
    const stop = () => ws.terminate();
    opts.signal.addEventListener("abort", stop, { once: true });

    ws.on("unexpected-response", (_req, res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (typeof v === "string") headers.set(k, v);
        }
        const response = new Response(Buffer.concat(chunks), {
          status: res.statusCode ?? 502,
          headers,
        });
        void errorFromResponse(response).then((e) => {
          failure = e;
          ws.terminate();
        });
      });
    });
    ws.on("open", () => {
      opened = true;
      quiet();
    });
    ws.on("message", (data: Buffer) => {
      quiet();
      const text = data.toString("utf8");
      progressed = true;
      chain = chain.then(async () => {
        const message = JSON.parse(text) as StreamMessage;
        if (message.type === "end") end = message;
        await opts.onMessage(message);
        if (end) {
          // Done. The server closes too, but the TCP close can lag by
          // seconds; nothing else is coming.
          resolve({ kind: "end", end });
          ws.terminate();
          return;
        }
        // Acknowledge once handled: a slow terminal slows the server.
        received += text.length;
        if (ws.readyState === WebSocket.OPEN) {
          ws.send(JSON.stringify({ type: "ack", received }));
        }
      });
    });
    ws.on("error", (err) => {
      failure ??= err;
    });
    ws.on("close", (code, reason) => {
      if (silence) clearTimeout(silence);
      opts.signal.removeEventListener("abort", stop);
      chain.then(
        () => {
          if (end) return resolve({ kind: "end", end });
          if (opts.signal.aborted) return resolve({ kind: "stopped" });
          const why =
            failure?.message ??
            `closed with ${code}${reason.length ? ` ${reason}` : ""}`;
          if (failure instanceof AgentError && !failure.retryable) {
            return reject(new AbortError(failure));
          }
          if (opened && progressed)
            return resolve({ kind: "dropped", reason: why });
          reject(
            failure instanceof AgentError
              ? failure
              : new AgentError("network_error", why, { retryable: true }),
          );
        },
        (err: unknown) => reject(err),
      );
    });
  });
}
