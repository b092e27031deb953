/**
 * @module `GET /v1/deployments/{id}/logs`: history pages from ClickHouse.
 */
import { Hono } from "hono";
import { errorMessage, log } from "../../durable-objects/log";
import { type HistoryPage, historyQuerySchema } from "../../schemas/history";
import type { StoredLine } from "../../schemas/line";
import { toWireLine } from "../../schemas/wire";
import { clickhouse, type PageQuery, queryPage } from "../clickhouse";
import { readCursor, readTill } from "../cursors";
import { describeLog, target } from "../deployments";
import type { AppEnv, Env } from "../env";
import { ApiError, fromZod } from "../errors";

export const historyRoutes = new Hono<AppEnv>();

historyRoutes.get("/:id/logs", async (c) => {
  const t = target(c, "logs:read");
  const query = historyQuerySchema.safeParse(c.req.query());
  if (!query.success) throw fromZod(query.error);
  const q = query.data;

  const info = await describeLog(t);
  if (q.cursor && q.from_seq !== undefined) {
    throw new ApiError(
      "invalid_field",
      "pass cursor or from_seq, not both",
      "from_seq",
    );
  }
  let from = q.cursor
    ? readCursor(t.key, q.cursor, info.epoch, "cursor", info.last_seq).seq
    : undefined;
  if (q.from_seq !== undefined) {
    // Exclusive bounds in the query: start just before (or after) from_seq.
    from = q.direction === "forward" ? q.from_seq - 1 : q.from_seq + 1;
  }
  const till = q.till ? readTill(t.key, q.till, info.epoch) : {};
  // Only lines up to the watermark are surely all in ClickHouse: a page
  // never skips a line that is still on its way.
  const loaded = info.loaded_upto;
  if (q.direction === "forward") {
    till.seq = Math.min(till.seq ?? loaded, loaded);
  } else {
    from = Math.min(from ?? loaded + 1, loaded + 1);
  }

  const pageQuery: PageQuery = {
    tenant: t.tenant,
    deployment: t.deployment,
    epoch: info.epoch,
    from,
    direction: q.direction,
    tillSeq: till.seq,
    tillTs: till.ts,
    levels: q.level,
    step: q.step,
    q: q.q,
    limit: q.limit,
  };
  // Every bound is resolved and at or below the watermark, so the rows of
  // this query never change: its answer is cached at the edge.
  const cacheKey = new Request(
    `https://history.edgetail/${await digest(pageQuery)}`,
  );
  const cached = await caches.default.match(cacheKey);
  let page: { lines: StoredLine[]; hasMore: boolean };
  if (cached) {
    page = await cached.json();
    c.header("x-edgetail-cache", "hit");
  } else {
    page = await fetchPage(pageQuery, c.env, c.get("requestId"));
    const entry = new Response(JSON.stringify(page), {
      headers: { "cache-control": `max-age=${CACHE_SECONDS}` },
    });
    c.executionCtx.waitUntil(caches.default.put(cacheKey, entry));
    c.header("x-edgetail-cache", "miss");
  }
  const lines = page.lines.map((l) => toWireLine(l, t.key, info.epoch));
  const body: HistoryPage = {
    lines,
    next_cursor: lines.at(-1)?.cursor ?? q.cursor ?? null,
    has_more: page.hasMore,
  };
  c.header("cache-control", "private, no-cache");
  return c.json(body);
});

/** How long the edge keeps a page; pages never change, retention does. */
const CACHE_SECONDS = 3600;

async function fetchPage(p: PageQuery, env: Env, requestId: string) {
  try {
    return await queryPage(clickhouse(env), p);
  } catch (err) {
    log("error", "history.query_failed", {
      request_id: requestId,
      error: errorMessage(err),
    });
    throw new ApiError(
      "upstream_unavailable",
      "history store is unavailable; retry shortly",
      undefined,
      { "retry-after": "2" },
    );
  }
}

async function digest(value: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}
