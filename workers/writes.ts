/**
 * @module The write operations, independent of transport: the HTTP routes
 * and the Connect/gRPC-Web service both call these, so auth, limits,
 * idempotency and answers are the same on both.
 */
import type { Description, Failure } from "../durable-objects/types";
import type { Claims } from "../schemas/auth";
import type { CompleteBody, IngestAnswer } from "../schemas/ingest";
import type { ParsedIngest } from "./body";
import { targetFor } from "./deployments";
import type { Env } from "./env";
import { ApiError } from "./errors";

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** Stores a parsed batch; a retried batch gets the earlier answer. */
export async function ingestBatch(
  env: Env,
  claims: Claims,
  deployment: string,
  body: ParsedIngest,
  idempotencyKey?: string,
): Promise<IngestAnswer> {
  const t = targetFor(env, claims, deployment, "logs:write");
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw new ApiError(
      "invalid_field",
      "Idempotency-Key must be 1-255 printable ASCII characters",
      "idempotency-key",
    );
  }
  if (body.lines.length === 0) {
    throw new ApiError("empty_batch", "the batch holds no lines", "lines");
  }
  const key = body.batch
    ? `batch:${body.batch.agent}:${body.batch.seq}`
    : idempotencyKey
      ? `key:${idempotencyKey}`
      : undefined;
  const result = await t.stub.ingest({
    tenant: t.tenant,
    deployment: t.deployment,
    idempotencyKey: key,
    fingerprint: key ? await fingerprint(body) : undefined,
    lines: body.lines,
    secrets: body.secrets,
  });
  if (!result.ok) throw failure(result);
  return result.answer;
}

/** Ends a deployment's stream. */
export async function completeDeployment(
  env: Env,
  claims: Claims,
  deployment: string,
  body: CompleteBody,
): Promise<Description> {
  const t = targetFor(env, claims, deployment, "logs:write");
  const result = await t.stub.complete({
    tenant: t.tenant,
    deployment: t.deployment,
    ...body,
  });
  if (!result.ok) throw failure(result);
  const { ok: _, ...description } = result;
  return description;
}

/** Registers masks; answers how many the deployment holds. */
export async function registerSecrets(
  env: Env,
  claims: Claims,
  deployment: string,
  secrets: string[],
): Promise<number> {
  const t = targetFor(env, claims, deployment, "logs:write");
  const result = await t.stub.addSecrets({
    tenant: t.tenant,
    deployment: t.deployment,
    secrets,
  });
  if (!result.ok) throw failure(result);
  return result.count;
}

/** SHA-256 of what a batch carries, to compare retries with. */
async function fingerprint(body: ParsedIngest): Promise<string> {
  const text = JSON.stringify([body.lines, body.secrets]);
  const hash = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(text),
  );
  return btoa(String.fromCharCode(...new Uint8Array(hash)));
}

/** The ApiError for a refusal from the Deployment object. */
function failure(f: Failure): ApiError {
  const headers: Record<string, string> = {};
  if (f.retryAfter) headers["retry-after"] = String(f.retryAfter);
  return new ApiError(f.code, f.message, undefined, headers);
}
