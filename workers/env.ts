/**
 * @module The Worker's bindings and vars (wrangler.toml, .dev.vars).
 */
import type { Deployment } from "../durable-objects/deployment";
import type { DeploymentEnv } from "../durable-objects/types";
import type { Claims } from "../schemas/auth";

export interface Env extends DeploymentEnv {
  DEPLOYMENT: DurableObjectNamespace<Deployment>;
  /** HS256 key for access tokens (.dev.vars locally, a secret deployed). */
  JWT_SECRET: string;
  JWT_AUDIENCE?: string;
  CLICKHOUSE_URL: string;
  CLICKHOUSE_DATABASE?: string;
  CLICKHOUSE_USER?: string;
  CLICKHOUSE_PASSWORD?: string;
}

/** Per-request values set by middleware. */
export interface Variables {
  requestId: string;
  claims: Claims;
}

export interface AppEnv {
  Bindings: Env;
  Variables: Variables;
}
