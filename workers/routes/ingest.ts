/**
 * @module Write side over HTTP: `POST /v1/deployments/{id}/logs`,
 * `/complete` and `/secrets`.
 */
import { Hono } from "hono";
import { completeBodySchema, secretsBodySchema } from "../../schemas/ingest";
import { parseIngest, parseJson, readBody } from "../body";
import { targetFor } from "../deployments";
import type { AppEnv } from "../env";
import { ApiError, fromZod } from "../errors";
import { completeDeployment, ingestBatch, registerSecrets } from "../writes";

export const ingestRoutes = new Hono<AppEnv>();

ingestRoutes.post("/:id/logs", async (c) => {
  const id = c.req.param("id");
  const claims = c.get("claims");
  // Check access before reading a body that may be large.
  targetFor(c.env, claims, id, "logs:write");
  const body = await parseIngest(c.req.raw);
  const answer = await ingestBatch(
    c.env,
    claims,
    id,
    body,
    c.req.header("idempotency-key"),
  );
  return c.json(answer, answer.replayed ? 200 : 201);
});

ingestRoutes.post("/:id/complete", async (c) => {
  targetFor(c.env, c.get("claims"), c.req.param("id"), "logs:write");
  const body = completeBodySchema.safeParse(await jsonBody(c.req.raw));
  if (!body.success) throw fromZod(body.error);
  const claims = c.get("claims");
  return c.json(
    await completeDeployment(c.env, claims, c.req.param("id"), body.data),
  );
});

ingestRoutes.post("/:id/secrets", async (c) => {
  targetFor(c.env, c.get("claims"), c.req.param("id"), "logs:write");
  const body = secretsBodySchema.safeParse(await jsonBody(c.req.raw));
  if (!body.success) throw fromZod(body.error);
  const claims = c.get("claims");
  const count = await registerSecrets(
    c.env,
    claims,
    c.req.param("id"),
    body.data.secrets,
  );
  return c.json({ secrets: count });
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
