/**
 * @module Finding a deployment's Durable Object, after checking the id and
 * the caller's right to it. Object names carry the tenant, so the same
 * deployment id under two tenants is two different logs.
 */
import type { Context } from "hono";
import type { Deployment } from "../durable-objects/deployment";
import type { Description } from "../durable-objects/types";
import type { Claims, Scope } from "../schemas/auth";
import { logKey } from "../schemas/cursor";
import { ID_PATTERN } from "../schemas/limits";
import { authorize } from "./auth";
import type { AppEnv, Env } from "./env";
import { ApiError } from "./errors";

/** The log a request is about, with its object stub. */
export interface Target {
  tenant: string;
  deployment: string;
  key: bigint;
  stub: DurableObjectStub<Deployment>;
}

/** Validates the id, checks the claims grant `scope` on it, finds the object. */
export function targetFor(
  env: Env,
  claims: Claims,
  deployment: string,
  scope: Scope,
  field = "id",
): Target {
  if (!ID_PATTERN.test(deployment)) {
    throw new ApiError(
      "invalid_deployment_id",
      "deployment ids are 1-128 characters of [A-Za-z0-9._-], starting alphanumeric",
      field,
    );
  }
  authorize(claims, scope, deployment);
  const tenant = claims.tenant;
  const id = env.DEPLOYMENT.idFromName(`${tenant}/${deployment}`);
  return {
    tenant,
    deployment,
    key: logKey(tenant, deployment),
    stub: env.DEPLOYMENT.get(id),
  };
}

/** The target of a `/v1/deployments/:id/...` route. */
export function target(c: Context<AppEnv>, scope: Scope): Target {
  return targetFor(c.env, c.get("claims"), c.req.param("id") ?? "", scope);
}

/** Where the log stands; 404 if nobody wrote, watched or completed it. */
export async function describeLog(t: Target): Promise<Description> {
  const info = await t.stub.describe();
  if (!info) {
    throw new ApiError(
      "deployment_not_found",
      `no log for ${t.deployment}`,
      "id",
    );
  }
  return info;
}
