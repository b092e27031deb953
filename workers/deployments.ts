/**
 * @module Finding a deployment's Durable Object, after checking the id and
 * the caller's right to it. Object names carry the tenant, so the same
 * deployment id under two tenants is two different logs.
 */
import type { Context } from "hono";
import type { Scope } from "../schemas/auth";
import { logKey } from "../schemas/cursor";
import { ID_PATTERN } from "../schemas/limits";
import { authorize } from "./auth";
import type { AppEnv } from "./env";
import { ApiError } from "./errors";

/** The log a request is about, with its object stub. */
export interface Target {
  tenant: string;
  deployment: string;
  key: bigint;
  stub: DurableObjectStub<import("../durable-objects/deployment").Deployment>;
}

/** Validates `:id`, checks the token grants `scope` on it, finds the object. */
export function target(c: Context<AppEnv>, scope: Scope): Target {
  const deployment = c.req.param("id") ?? "";
  if (!ID_PATTERN.test(deployment)) {
    throw new ApiError(
      "invalid_deployment_id",
      "deployment ids are 1-128 characters of [A-Za-z0-9._-], starting alphanumeric",
      "id",
    );
  }
  const claims = c.get("claims");
  authorize(claims, scope, deployment);
  const tenant = claims.tenant;
  const id = c.env.DEPLOYMENT.idFromName(`${tenant}/${deployment}`);
  return {
    tenant,
    deployment,
    key: logKey(tenant, deployment),
    stub: c.env.DEPLOYMENT.get(id),
  };
}
