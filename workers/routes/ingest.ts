/**
 * @module Write side: `POST /v1/deployments/{id}/logs`, `/complete` and
 * `/secrets`.
 */
import { Hono } from "hono";
import type { Failure } from "../../durable-objects/types";
import { completeBodySchema, secretsBodySchema } from "../../schemas/ingest";
import { parseIngest, parseJson, readBody } from "../body";
import { target } from "../deployments";
import type { AppEnv } from "../env";
import { ApiError, fromZod } from "../errors";

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export const ingestRoutes = new Hono<AppEnv>();

ingestRoutes.post("/:id/logs", async (c) => {
  const t = target(c, "logs:write");
  const header = c.req.header("idempotency-key");
  if (header !== undefined && !IDEMPOTENCY_KEY.test(header)) {
    throw new ApiError(
      "invalid_field",
      "Idempotency-Key must be 1-255 printable ASCII characters",
      "idempotency-key",
    );
  }
  const body = await parseIngest(c.req.raw);
  if (body.lines.length === 0) {
    throw new ApiError("empty_batch", "the batch holds no lines", "lines");
  }
  const idempotencyKey = body.batch
    ? `batch:${body.batch.agent}:${body.batch.seq}`
    : header
      ? `key:${header}`
      : undefined;
  const result = await t.stub.ingest({
    tenant: t.tenant,
    deployment: t.deployment,
    idempotencyKey,
    lines: body.lines,
    secrets: body.secrets,
  });
  if (!result.ok) throw failure(result);
  return c.json(result.answer, result.answer.replayed ? 200 : 201);
});

ingestRoutes.post("/:id/complete", async (c) => {
  const t = target(c, "logs:write");
  const body = completeBodySchema.safeParse(await jsonBody(c.req.raw));
  if (!body.success) throw fromZod(body.error);
  const result = await t.stub.complete({
    tenant: t.tenant,
    deployment: t.deployment,
    ...body.data,
  });
  if (!result.ok) throw failure(result);
  const { ok: _, ...description } = result;
  return c.json(description);
});

ingestRoutes.post("/:id/secrets", async (c) => {
  const t = target(c, "logs:write");
  const body = secretsBodySchema.safeParse(await jsonBody(c.req.raw));
  if (!body.success) throw fromZod(body.error);
  const result = await t.stub.addSecrets({
    tenant: t.tenant,
    deployment: t.deployment,
    secrets: body.data.secrets,
  });
  if (!result.ok) throw failure(result);
  return c.json({ secrets: result.count });
});

/** A JSON body for the small control endpoints. */
async function jsonBody(request: Request): Promise<unknown> {
  const type = request.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/json")) {
    throw new ApiError(
      "unsupported_media_type",
      "Content-Type must be application/json",
      "content-type",
    );
  }
  return parseJson(new TextDecoder().decode(await readBody(request)));
}

/** The ApiError for a refusal from the Deployment object. */
export function failure(f: Failure): ApiError {
  const headers: Record<string, string> = {};
  if (f.retryAfter) headers["retry-after"] = String(f.retryAfter);
  return new ApiError(f.code, f.message, undefined, headers);
}
