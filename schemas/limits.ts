/**
 * @module Every limit edgetail enforces, in one place. The README's "Limits"
 * table documents these numbers; tests import them so the two cannot drift.
 */

/** Largest request body, in bytes, before and after gzip decoding. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** Most log lines one ingest request may carry (before long lines split). */
export const MAX_LINES_PER_BATCH = 20_000;

/**
 * Longest line, in UTF-8 bytes. A longer line is split into consecutive
 * lines of at most this size, every part but the last marked `partial`.
 */
export const MAX_LINE_BYTES = 8 * 1024;

/** Largest `metadata` object per line, as JSON text in bytes. */
export const MAX_METADATA_BYTES = 2 * 1024;

/** Longest `step` name, in characters. */
export const MAX_STEP_LENGTH = 128;

/** Secrets (masks) one request may register, and their length bounds. */
export const MAX_SECRETS_PER_REQUEST = 100;
export const MIN_SECRET_LENGTH = 4;
export const MAX_SECRET_LENGTH = 4 * 1024;

/** Most secrets one deployment may hold; GitHub's add-mask has no bound. */
export const MAX_SECRETS_PER_DEPLOYMENT = 1_000;

/** History page size: default and ceiling. */
export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1_000;

/** `?tail=N` ceiling for the live stream. */
export const MAX_TAIL_LINES = 10_000;

/** Deployment, tenant, agent and step ids: a conservative URL-safe set. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
