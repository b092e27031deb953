/**
 * @module The agent's options, their defaults, and the checks run when an
 * agent is built: a bad value fails there, naming the option.
 */

import { ID_PATTERN, MAX_BODY_BYTES } from "../../schemas/limits";
import type { Level, Metadata, Stream } from "../../schemas/line";
import type { AgentError } from "./errors";
import type { LineQueue } from "./queue";
import type { RetryInfo } from "./transport";

/** Defaults, as documented in the README ("Agents and the CLI"). */
export const AGENT_DEFAULTS = {
  /** Send once this much is waiting (UTF-8 JSON of the lines). */
  batchBytes: 64 * 1024,
  /** ...or once the oldest waiting line is this old. */
  batchMs: 200,
  /** Most bytes per request, when a backlog built up meanwhile. */
  maxBatchBytes: 1024 * 1024,
  /** Past this much waiting, `write()` and `ready()` wait. */
  maxBufferedBytes: 8 * 1024 * 1024,
  gzip: true,
  /**
   * Retries per request after the first attempt: by default a batch is
   * retried until it is stored or close() runs out of time, because a
   * batch given up means nothing after it may be sent.
   */
  retries: Number.POSITIVE_INFINITY,
  retryBaseMs: 250,
  /** Longest wait between two attempts. */
  retryMaxMs: 30_000,
  requestTimeoutMs: 30_000,
  /** How long close() may take before it gives up and reports. */
  closeTimeoutMs: 30_000,
  /** A text tail with no `\n` goes as a partial part after this idle. */
  partialIdleMs: 250,
  /** ...or after this long held, even while bytes keep coming. */
  partialMaxWaitMs: 1_000,
  /** Longest text tail held back, in UTF-16 code units. */
  maxTailChars: 64 * 1024,
} as const;

/** Options of {@link Agent}; only `url`, `token` and `deployment` are required. */
export interface AgentOptions {
  /** API origin, e.g. `http://127.0.0.1:8787`. */
  url: string;
  /** A JWT with `logs:write` for the deployment. */
  token: string;
  deployment: string;
  /**
   * Names this agent's batch numbers (`{batch: {agent, seq}}`); a random
   * id by default. Two agents must not share one on a deployment.
   */
  agent?: string;
  /** Defaults of every line this agent writes. */
  step?: string;
  level?: Level;
  stream?: Stream;
  metadata?: Metadata;
  batchBytes?: number;
  batchMs?: number;
  maxBatchBytes?: number;
  maxBufferedBytes?: number;
  gzip?: boolean;
  retries?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  requestTimeoutMs?: number;
  closeTimeoutMs?: number;
  partialIdleMs?: number;
  partialMaxWaitMs?: number;
  maxTailChars?: number;
  /** A service binding's fetch in Workers, or a mock. */
  fetch?: typeof fetch;
  /**
   * Where waiting lines are kept; an in-memory queue of
   * `maxBufferedBytes` by default (the Node wrapper passes a spilling one).
   */
  queue?: LineQueue;
  /** A batch (or secrets, or complete) was refused for good. */
  onError?: (error: AgentError) => void;
  /** A request failed and will be tried again after `delayMs`. */
  onRetry?: (info: RetryInfo) => void;
  /** A batch was stored (or replayed). */
  onDelivered?: (info: DeliveredInfo) => void;
}

/** What a stored batch reports to `onDelivered`. */
export interface DeliveredInfo {
  /** Lines this batch carried (before the server split long ones). */
  lines: number;
  lastSeq: number;
  cursor: string;
  replayed: boolean;
}

/** Options with every default applied. */
export type ResolvedOptions = Required<
  Omit<
    AgentOptions,
    | "step"
    | "level"
    | "stream"
    | "metadata"
    | "fetch"
    | "queue"
    | "onError"
    | "onRetry"
    | "onDelivered"
  >
> &
  AgentOptions;

/** A bad option; the message names it. */
export class AgentOptionError extends Error {
  override readonly name = "AgentOptionError";
}

/** Applies defaults and checks every value. */
export function resolveOptions(opts: AgentOptions): ResolvedOptions {
  // An option passed as undefined keeps its default.
  const given = Object.fromEntries(
    Object.entries(opts).filter(([, v]) => v !== undefined),
  ) as AgentOptions;
  const o = { ...AGENT_DEFAULTS, agent: randomAgentId(), ...given };
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    throw new AgentOptionError(
      `url: "${o.url}" is not a URL; pass the API origin, e.g. http://127.0.0.1:8787`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new AgentOptionError(`url: "${o.url}" must be http: or https:`);
  }
  if (!o.token) {
    throw new AgentOptionError(
      "token: empty; pass a JWT with logs:write for the deployment",
    );
  }
  for (const name of ["deployment", "agent"] as const) {
    if (!ID_PATTERN.test(o[name])) {
      throw new AgentOptionError(
        `${name}: "${o[name]}" is not a valid id (1-128 of [A-Za-z0-9._-], starting alphanumeric)`,
      );
    }
  }
  positive(o, "batchBytes", "batchMs", "maxBatchBytes", "maxBufferedBytes");
  positive(o, "requestTimeoutMs", "closeTimeoutMs", "retryBaseMs");
  positive(o, "retryMaxMs");
  notNegative(o, "retries", "partialIdleMs", "partialMaxWaitMs");
  if (!(o.maxTailChars >= 16)) {
    throw new AgentOptionError("maxTailChars: must be at least 16");
  }
  if (o.batchBytes > o.maxBatchBytes) {
    throw new AgentOptionError(
      `batchBytes (${o.batchBytes}) must not exceed maxBatchBytes (${o.maxBatchBytes})`,
    );
  }
  // Room for the batch envelope and secrets within the API's body limit.
  if (o.maxBatchBytes > MAX_BODY_BYTES / 2) {
    throw new AgentOptionError(
      `maxBatchBytes: at most ${MAX_BODY_BYTES / 2} (half the API's body limit)`,
    );
  }
  return o;
}

/** `agent-` and 12 random hex digits. */
export function randomAgentId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return `agent-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

type Numbers<T> = {
  [K in keyof T]: T[K] extends number ? K : never;
}[keyof T];

function positive<T>(o: T, ...names: Numbers<T>[]): void {
  for (const name of names) {
    const v = o[name];
    if (!(typeof v === "number" && v > 0)) {
      throw new AgentOptionError(
        `${String(name)}: must be a positive number, got ${String(v)}`,
      );
    }
  }
}

function notNegative<T>(o: T, ...names: Numbers<T>[]): void {
  for (const name of names) {
    const v = o[name];
    if (!(typeof v === "number" && v >= 0)) {
      throw new AgentOptionError(
        `${String(name)}: must be 0 or more, got ${String(v)}`,
      );
    }
  }
}
