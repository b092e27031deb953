/**
 * @module The log line in its three shapes: what an agent sends, what the
 * Deployment object stores (and the Queue carries), and what viewers get.
 */
import { z } from "zod";
import { MAX_STEP_LENGTH } from "./limits";

/** Severity, lowest first. `warning` and `err` are accepted as aliases. */
export const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"];
export type Level = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

const LEVEL_ALIASES: Record<string, Level> = { warning: "warn", err: "error" };

const levelEnum = z.enum(["trace", "debug", "info", "warn", "error", "fatal"]);

/** A level name; aliases map to their canonical name. */
export const levelSchema = z
  .string()
  .transform((v) => LEVEL_ALIASES[v.toLowerCase()] ?? v.toLowerCase())
  .pipe(levelEnum);

/** Which output a line came from; `system` is the agent's own notes. */
export const streamSchema = z.enum(["stdout", "stderr", "system"]);
export type Stream = z.infer<typeof streamSchema>;

export const stepSchema = z.string().max(MAX_STEP_LENGTH);

/**
 * What the redaction stage did to a line: `clean` when nothing matched,
 * `redacted` when at least one value was replaced by `***`.
 */
export type RedactionState = "clean" | "redacted";

/** Metadata values stay flat so they can be filtered and indexed later. */
export const metadataSchema = z.record(
  z.string().max(128),
  z.union([z.string(), z.number(), z.boolean(), z.null()]),
);
export type Metadata = z.infer<typeof metadataSchema>;

/**
 * A line as stored by the Deployment object, carried by the Queue and
 * sealed into R2 chunks. Times are epoch milliseconds.
 */
export interface StoredLine {
  seq: number;
  ts: number;
  /** When the Deployment object accepted the line (drives retention). */
  received_at: number;
  step: string;
  level: Level;
  stream: Stream;
  message: string;
  metadata: Metadata;
  redaction_state: RedactionState;
  partial: boolean;
}

/** A line as viewers, history pages and NDJSON exports see it. */
export interface WireLine {
  seq: number;
  /** ISO 8601 with milliseconds, UTC. */
  ts: string;
  step: string;
  level: Level;
  stream: Stream;
  message: string;
  metadata: Metadata;
  redaction_state: RedactionState;
  /** Present and true when the next line continues this one. */
  partial?: true;
  cursor: string;
}
