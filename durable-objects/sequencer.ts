/**
 * @module The sequencer's pure steps: the per-deployment rate limit, and
 * turning accepted lines into numbered, redacted, split stored lines.
 */
import type { StoredLine } from "../schemas/line";
import type { DeploymentConfig } from "./config";
import type { Redactor } from "./redaction/redactor";
import { splitUtf8 } from "./split";
import type { DeploymentState } from "./storage";
import type { Failure, NormalizedLine } from "./types";

/** A refusal value for RPC answers. */
export function fail(code: Failure["code"], message: string): Failure {
  return { ok: false, code, message };
}

/**
 * Takes `lines` tokens from the deployment's bucket, or refuses with a
 * Retry-After. Mutates the bucket in `state`; the caller persists it.
 */
export function takeTokens(
  state: DeploymentState,
  lines: number,
  config: DeploymentConfig,
  now: number,
): Failure | null {
  const { rateLinesPerSecond: rate, rateBurstLines: burst } = config;
  const tokens = Math.min(
    burst,
    state.rate_tokens + ((now - state.rate_at) / 1000) * rate,
  );
  state.rate_at = now;
  // A batch larger than the burst passes on a full bucket and leaves it
  // in debt; otherwise it could never pass.
  if (tokens < Math.min(lines, burst)) {
    state.rate_tokens = tokens;
    const wait = Math.ceil((Math.min(lines, burst) - tokens) / rate);
    return {
      ...fail(
        "rate_limited",
        `ingest rate limit: ${rate} lines/s, burst ${burst}`,
      ),
      retryAfter: Math.max(1, wait),
    };
  }
  state.rate_tokens = tokens - lines;
  return null;
}

/**
 * Numbers lines after `lastSeq`. Each line is redacted first, then split,
 * so no part of a long line holds half a secret.
 */
export function sequence(
  lastSeq: number,
  lines: NormalizedLine[],
  redactor: Redactor,
  now: number,
): StoredLine[] {
  const out: StoredLine[] = [];
  let seq = lastSeq;
  for (const line of lines) {
    const { text, redacted } = redactor.redact(
      line.message,
      `${line.step}\u0000${line.stream}`,
    );
    const parts = splitUtf8(text);
    parts.forEach((part, i) => {
      seq += 1;
      out.push({
        seq,
        ts: line.ts ?? now,
        received_at: now,
        step: line.step,
        level: line.level,
        stream: line.stream,
        message: part,
        metadata: line.metadata,
        redaction_state: redacted ? "redacted" : "clean",
        partial: i < parts.length - 1 || line.partial,
      });
    });
  }
  return out;
}
