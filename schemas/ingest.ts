/**
 * @module Requests and answers of the ingest API:
 * `POST /v1/deployments/{id}/logs`, `/complete` and `/secrets`.
 */
import { z } from "zod";
import {
  ID_PATTERN,
  MAX_LINES_PER_BATCH,
  MAX_SECRET_LENGTH,
  MAX_SECRETS_PER_REQUEST,
  MIN_SECRET_LENGTH,
} from "./limits";
import { levelSchema, metadataSchema, stepSchema, streamSchema } from "./line";

/** A line's time: ISO 8601 text or epoch milliseconds. */
const epochMs = z.number().int().min(0).max(253402300799999);

/** A line's time, ISO 8601 or epoch milliseconds, 1970 to 9999. */
export const timestampSchema = z.union([
  z.iso
    .datetime({ offset: true })
    .transform((s) => Date.parse(s))
    .pipe(epochMs),
  epochMs,
]);

/** One line as an agent sends it, in JSON or NDJSON bodies. */
export const lineInputSchema = z.object({
  ts: timestampSchema.optional(),
  step: stepSchema.optional(),
  level: levelSchema.optional(),
  stream: streamSchema.optional(),
  message: z.string(),
  metadata: metadataSchema.optional(),
  partial: z.boolean().optional(),
});
export type LineInput = z.infer<typeof lineInputSchema>;

export const secretSchema = z
  .string()
  .min(MIN_SECRET_LENGTH)
  .max(MAX_SECRET_LENGTH);

export const secretsSchema = z.array(secretSchema).max(MAX_SECRETS_PER_REQUEST);

/** Agent-numbered batches: a retry with the same pair stores nothing new. */
export const batchRefSchema = z.object({
  agent: z.string().regex(ID_PATTERN, "agent must match [A-Za-z0-9._-]"),
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});

/** The JSON body of an ingest request. */
export const ingestBodySchema = z.object({
  batch: batchRefSchema.optional(),
  lines: z.array(lineInputSchema).max(MAX_LINES_PER_BATCH),
  secrets: secretsSchema.optional(),
});
export type IngestBody = z.infer<typeof ingestBodySchema>;

/** Defaults for text/plain bodies, from the query string. */
export const plainTextQuerySchema = z.object({
  step: stepSchema.optional(),
  level: levelSchema.optional(),
  stream: streamSchema.optional(),
});

/** The answer to an accepted (or replayed) ingest request. */
export interface IngestAnswer {
  first_seq: number;
  last_seq: number;
  /** The cursor of the last line stored. */
  cursor: string;
  /** Lines stored, after long lines were split. */
  lines: number;
  /** True when this answer replays an earlier request's. */
  replayed?: true;
}

/** `POST /v1/deployments/{id}/complete`. */
export const completeBodySchema = z.object({
  status: z.enum(["success", "failed", "canceled"]),
  exit_code: z.number().int().min(-255).max(255).optional(),
});
export type CompleteBody = z.infer<typeof completeBodySchema>;

/** `POST /v1/deployments/{id}/secrets`: masks, like GitHub's add-mask. */
export const secretsBodySchema = z.object({ secrets: secretsSchema.min(1) });
