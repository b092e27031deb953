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
): Promise<{
  first_seq: number;
  last_seq: number;
  cursor: string;
  lines: number;
}> {
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

/** A line as viewers receive it (the fields tests look at). */
export interface Line {
  seq: number;
  message: string;
  partial?: boolean;
  cursor: string;
  redaction_state: string;
  level: string;
  step: string;
}

/** A WebSocket viewer that records messages and acknowledges them. */
export interface Viewer {
  messages: Array<{ type: string; [k: string]: unknown }>;
  lines(): Line[];
  /** Resolves once `predicate` holds, or rejects after `ms`. */
  until(predicate: (v: Viewer) => boolean, ms?: number): Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
  ws: WebSocket;
}

/** Opens a WebSocket viewer on the stream endpoint. */
export async function watch(
  id: string,
  auth: string,
  query = "",
  opts: { ack?: boolean; ackDelayMs?: number } = {},
): Promise<Viewer> {
  const res = await api(
    `/v1/deployments/${id}/stream?access_token=${auth}${query ? `&${query}` : ""}`,
    { headers: { upgrade: "websocket" } },
  );
  const ws = res.webSocket;
  if (!ws) throw new Error(`no websocket: ${res.status} ${await res.text()}`);
  ws.accept();
  let received = 0;
  let resolveClosed!: (v: { code: number; reason: string }) => void;
  const viewer: Viewer = {
    messages: [],
    lines: () =>
      viewer.messages.flatMap((m) =>
        m.type === "lines" ? (m.lines as Line[]) : [],
      ),
    until: (predicate, ms = 10_000) =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const check = () => {
          if (predicate(viewer)) return resolve();
          if (Date.now() - started > ms) {
            return reject(
              new Error(
                `timed out; last messages: ${JSON.stringify(viewer.messages.slice(-2)).slice(0, 500)}`,
              ),
            );
          }
          setTimeout(check, 10);
        };
        check();
      }),
    closed: new Promise((r) => {
      resolveClosed = r;
    }),
    close: () => ws.close(1000, "bye"),
    ws,
  };
  ws.addEventListener("message", (event) => {
    const text = String(event.data);
    received += text.length;
    viewer.messages.push(JSON.parse(text));
    if (opts.ack === false) return;
    const ack = JSON.stringify({ type: "ack", received });
    if (opts.ackDelayMs) setTimeout(() => ws.send(ack), opts.ackDelayMs);
    else ws.send(ack);
  });
  ws.addEventListener("close", (event) => {
    resolveClosed({ code: event.code, reason: event.reason });
  });
  return viewer;
}
