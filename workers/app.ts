/**
 * @module The edge API: routing, request ids, auth and the error contract.
 */

import type { MiddlewareHandler } from "hono";
import { Hono } from "hono";
import { log } from "../durable-objects/log";
import { authenticate } from "./auth";
import { CONNECT_PREFIX, serveConnect } from "./connect";
import { describeLog, target } from "./deployments";
import type { AppEnv } from "./env";
import { ApiError, errorResponse } from "./errors";
import { exportRoutes } from "./routes/export";
import { historyRoutes } from "./routes/history";
import { ingestRoutes } from "./routes/ingest";
import { streamRoutes } from "./routes/stream";

export const app = new Hono<AppEnv>();

app.use(async (c, next) => {
  c.set("requestId", c.req.header("cf-ray") ?? crypto.randomUUID());
  await next();
  c.header("x-request-id", c.get("requestId"));
});

/**
 * Compresses GET answers for clients that accept gzip. The Workers runtime
 * compresses a body itself when the response says `Content-Encoding: gzip`,
 * so compressing here too (as hono/compress does) would do it twice.
 */
function gzipWhenAccepted(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const accepts = /\bgzip\b/.test(c.req.header("accept-encoding") ?? "");
    if (c.req.method !== "GET" || !accepts || !c.res.ok) return;
    if (c.res.headers.has("content-encoding")) return;
    const headers = new Headers(c.res.headers);
    headers.set("content-encoding", "gzip");
    headers.append("vary", "accept-encoding");
    c.res = new Response(c.res.body, { status: c.res.status, headers });
  };
}

app.get("/healthz", (c) => c.json({ ok: true }));

const v1 = new Hono<AppEnv>();
v1.use(authenticate());
v1.use(async (c, next) => {
  // Access is audited: who (tenant, token subject) did what to which log.
  await next();
  const claims = c.get("claims");
  log("info", "audit.access", {
    request_id: c.get("requestId"),
    tenant: claims.tenant,
    subject: claims.sub,
    method: c.req.method,
    path: new URL(c.req.url).pathname,
    status: c.res.status,
  });
});
v1.use("/:id/logs", gzipWhenAccepted());
v1.use("/:id/export", gzipWhenAccepted());
v1.route("/", ingestRoutes);
v1.route("/", historyRoutes);
v1.route("/", streamRoutes);
v1.route("/", exportRoutes);
v1.get("/:id", async (c) => {
  const t = target(c, "logs:read");
  const info = await describeLog(t);
  return c.json(info);
});
// A known path with a method it does not take: 405 with Allow.
const METHODS: Record<string, string> = {
  "/:id/logs": "GET, POST",
  "/:id/complete": "POST",
  "/:id/secrets": "POST",
  "/:id/stream": "GET",
  "/:id/export": "GET",
  "/:id": "GET",
};
for (const [path, allow] of Object.entries(METHODS)) {
  v1.all(path, () => {
    throw new ApiError(
      "method_not_allowed",
      `this path takes ${allow}`,
      undefined,
      {
        allow,
      },
    );
  });
}
app.route("/v1/deployments", v1);
app.all(`${CONNECT_PREFIX}*`, (c) => serveConnect(c.req.raw, c.env));

app.notFound(() => {
  throw new ApiError("not_found", "no such route; see the README for the API");
});
app.onError((err, c) => errorResponse(err, c));
