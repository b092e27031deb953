/**
 * Helpers for tests that run inside the Workers runtime.
 */
import { env, SELF } from "cloudflare:test";
import { SignJWT } from "jose";

let counter = 0;

/** A deployment id no other test uses. */
export function freshId(prefix = "dep"): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Signs a token the way `npm run token` does. */
export async function token(
  opts: {
    tenant?: string;
    scope?: string;
    deployments?: string[] | "*";
    ttl?: number;
    secret?: string;
  } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    tenant: opts.tenant ?? "acme",
    scope: opts.scope ?? "logs:write logs:read",
    deployments: opts.deployments ?? "*",
  })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt(now)
    .setAudience("edgetail")
    .setExpirationTime(now + (opts.ttl ?? 600))
    .sign(
      new TextEncoder().encode(
        opts.secret ?? (env as unknown as { JWT_SECRET: string }).JWT_SECRET,
      ),
    );
}

/** Calls the Worker like a client would. */
export async function api(
  path: string,
  init: RequestInit & { token?: string } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  return SELF.fetch(`https://edgetail.test${path}`, { ...init, headers });
}

/** Posts JSON lines; returns the parsed answer. */
export async function push(
  id: string,
  auth: string,
  lines: unknown[],
  extra: Record<string, unknown> = {},
): Promise<{ first_seq: number; last_seq: number; cursor: string; lines: number }> {
  const res = await api(`/v1/deployments/${id}/logs`, {
    method: "POST",
    token: auth,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ lines, ...extra }),
  });
  if (res.status !== 201 && res.status !== 200) {
    throw new Error(`push failed: ${res.status} ${await res.text()}`);
  }
  return res.json();
}
