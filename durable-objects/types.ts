/**
 * @module The Deployment object's RPC surface: what the Worker sends and
 * gets back. Failures are values, not exceptions, because a thrown error
 * crosses RPC as a bare message and loses its code.
 */
import type { ErrorCode } from "../schemas/errors";
import type { CompleteBody, IngestAnswer } from "../schemas/ingest";
import type { Level, Metadata, Stream } from "../schemas/line";
import type { LinesQueueMessage } from "../schemas/queue";

/** Bindings and vars the Deployment object uses. */
export interface DeploymentEnv {
  LOG_CHUNKS: R2Bucket;
  LOG_QUEUE: Queue<LinesQueueMessage>;
  [variable: string]: unknown;
}

/** Which log a call is about; every call carries it. */
export interface LogRef {
  tenant: string;
  deployment: string;
}

/** A validated line, defaults applied, not yet redacted or split. */
export interface NormalizedLine {
  ts?: number;
  step: string;
  level: Level;
  stream: Stream;
  message: string;
  metadata: Metadata;
  partial: boolean;
}

export interface IngestCall extends LogRef {
  /** `batch:<agent>:<seq>` or `key:<Idempotency-Key>`. */
  idempotencyKey?: string;
  /** Digest of the lines and secrets, to catch a key reused for new data. */
  fingerprint?: string;
  lines: NormalizedLine[];
  secrets: string[];
}

export interface Failure {
  ok: false;
  code: ErrorCode;
  message: string;
  /** Seconds, for `rate_limited`. */
  retryAfter?: number;
}

export type Result<T> = ({ ok: true } & T) | Failure;

export type IngestResult = Result<{ answer: IngestAnswer }>;

export interface CompleteCall extends LogRef, CompleteBody {}

/** What `describe` tells about a log. */
export interface Description {
  tenant: string;
  deployment: string;
  epoch: number;
  status: "running" | "success" | "failed" | "canceled";
  exit_code?: number;
  created_at: string;
  completed_at?: string;
  last_seq: number;
  /** Cursor of the last line (or of the start when empty). */
  cursor: string;
  /** Every line up to this seq is in ClickHouse (history stops here). */
  loaded_upto: number;
  viewers: number;
}
