/**
 * @module Bearer tokens: HS256 JWTs checked with jose. Browsers cannot set
 * headers on a WebSocket, so reads also accept `?access_token=`.
 */
import type { MiddlewareHandler } from "hono";
import { errors, jwtVerify } from "jose";
import { type Claims, claimsSchema, type Scope } from "../schemas/auth";
import type { AppEnv } from "./env";
import { ApiError } from "./errors";

const encoder = new TextEncoder();

/** Verifies the token and stores its claims; checks nothing else. */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    let token: string | undefined;
    if (header) {
      token = bearer(header);
    } else if (c.req.method === "GET") {
      // Query tokens end up in access logs; allow them only for reads.
      token = c.req.query("access_token") || undefined;
    }
    if (!token) {
      throw new ApiError(
        "token_missing",
        "send `Authorization: Bearer <token>` (or ?access_token= on GET requests)",
      );
    }
    c.set("claims", await verify(token, c.env.JWT_SECRET, c.env.JWT_AUDIENCE));
    await next();
  };
}

/** Verifies a raw token with the Worker's key and audience. */
export function verifyToken(
  token: string,
  env: { JWT_SECRET: string; JWT_AUDIENCE?: string },
): Promise<Claims> {
  return verify(token, env.JWT_SECRET, env.JWT_AUDIENCE);
}

/** The token of an `Authorization: Bearer` header; 401 if absent or malformed. */
export function bearer(header: string | null | undefined): string {
  if (!header) {
    throw new ApiError("token_missing", "send `Authorization: Bearer <token>`");
  }
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1]) {
    throw new ApiError(
      "token_invalid",
      "Authorization header must be `Bearer <token>`",
    );
  }
  return match[1];
}

async function verify(
  token: string,
  secret: string,
  audience?: string,
): Promise<Claims> {
  if (!secret) throw new Error("JWT_SECRET is not set (see .dev.vars)");
  try {
    const { payload } = await jwtVerify(token, encoder.encode(secret), {
      algorithms: ["HS256"],
      audience: audience || undefined,
      requiredClaims: ["exp"],
    });
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) {
      throw new ApiError(
        "token_invalid",
        "token lacks tenant, scope or deployments",
      );
    }
    return claims.data;
  } catch (err) {
    if (err instanceof ApiError) throw err;
    if (err instanceof errors.JWTExpired) {
      throw new ApiError("token_expired", "token expired; get a new one");
    }
    throw new ApiError(
      "token_invalid",
      "token signature or claims are invalid",
    );
  }
}

/** Throws 403 unless the claims grant `scope` on `deployment`. */
export function authorize(
  claims: Claims,
  scope: Scope,
  deployment: string,
): void {
  const scopes =
    typeof claims.scope === "string"
      ? claims.scope.split(/[\s,]+/)
      : claims.scope;
  if (!scopes.includes(scope)) {
    throw new ApiError("forbidden_scope", `token lacks the ${scope} scope`);
  }
  if (claims.deployments !== "*" && !claims.deployments.includes(deployment)) {
    throw new ApiError(
      "forbidden_deployment",
      `token does not grant deployment ${deployment}`,
    );
  }
}
