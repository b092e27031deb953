/**
 * @module The read side `tail` and `export` use before (or instead of) the
 * live stream: the deployment's description, history pages from
 * ClickHouse, and the export, which reads the Deployment object and is
 * never behind.
 */
import type { HistoryPage } from "../../../schemas/history";
import type { Level, WireLine } from "../../../schemas/line";
import { AgentError } from "../../agent/errors";
import type { Transport } from "../../agent/transport";

/** What `GET /v1/deployments/{id}` tells (the fields `tail` uses). */
export interface DeploymentInfo {
  status: "running" | "success" | "failed" | "canceled";
  exit_code?: number;
  last_seq: number;
  cursor: string;
  /** Every line up to this seq is in ClickHouse (history pages stop here). */
  loaded_upto?: number;
}

/** Filters of history pages (and of live lines, client-side). */
export interface Filters {
  levels?: Level[];
  step?: string;
  grep?: string;
}

/** The description, or null when nothing was ever written. */
export async function describe(
  api: Transport,
  deployment: string,
): Promise<DeploymentInfo | null> {
  try {
    return await api.getJson<DeploymentInfo>(`/v1/deployments/${deployment}`);
  } catch (err) {
    if (err instanceof AgentError && err.code === "deployment_not_found") {
      return null;
    }
    throw err;
  }
}

/** One history page. */
export function page(
  api: Transport,
  deployment: string,
  filters: Filters,
  query: {
    cursor?: string;
    from_seq?: number;
    till?: string;
    limit: number;
    direction?: "forward" | "backward";
  },
  filtered = true,
): Promise<HistoryPage> {
  const q = new URLSearchParams();
  if (query.cursor) q.set("cursor", query.cursor);
  if (query.from_seq !== undefined) q.set("from_seq", String(query.from_seq));
  if (query.till) q.set("till", query.till);
  q.set("limit", String(query.limit));
  if (query.direction) q.set("direction", query.direction);
  if (filtered) {
    if (filters.levels) q.set("level", filters.levels.join(","));
    if (filters.step !== undefined) q.set("step", filters.step);
    if (filters.grep !== undefined) q.set("q", filters.grep);
  }
  return api.getJson<HistoryPage>(`/v1/deployments/${deployment}/logs?${q}`);
}

/** Every page from `cursor` on, oldest first, until has_more is false. */
export async function* forward(
  api: Transport,
  deployment: string,
  filters: Filters,
  cursor: string | undefined,
): AsyncGenerator<WireLine[]> {
  let at = cursor;
  for (;;) {
    const p = await page(api, deployment, filters, { cursor: at, limit: 1000 });
    if (p.lines.length > 0) yield p.lines;
    if (!p.has_more || !p.next_cursor) return;
    at = p.next_cursor;
  }
}

/**
 * Lines from the export (`?format=ndjson`), after `cursor` and up to
 * `till`, as they stream in.
 */
export async function* exported(
  api: Transport,
  deployment: string,
  cursor: string | undefined,
  till: string | undefined,
): AsyncGenerator<WireLine> {
  const q = new URLSearchParams({ format: "ndjson" });
  if (cursor) q.set("cursor", cursor);
  if (till) q.set("till", till);
  const res = await api.send(
    { method: "GET", path: `/v1/deployments/${deployment}/export?${q}` },
    async (r) => r,
  );
  if (!res.body) return;
  const decoder = new TextDecoder();
  let rest = "";
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    rest += decoder.decode(value, { stream: true });
    const rows = rest.split("\n");
    rest = rows.pop() ?? "";
    for (const row of rows) if (row) yield JSON.parse(row) as WireLine;
  }
  rest += decoder.decode();
  if (rest.trim()) yield JSON.parse(rest) as WireLine;
}

/**
 * `--since`: a cursor, or a time as ISO 8601, epoch milliseconds, or a
 * duration back from now (`90s`, `15m`, `2h`, `1d`). Times come back as
 * ISO 8601 text, cursors as they are.
 */
export function parseSince(
  text: string,
  now = Date.now(),
): { time: string } | { cursor: string } {
  const ago = /^(\d+)(s|m|h|d)$/.exec(text);
  if (ago) {
    const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[
      ago[2] as "s" | "m" | "h" | "d"
    ];
    return { time: new Date(now - Number(ago[1]) * unit).toISOString() };
  }
  if (/^\d{10,16}$/.test(text)) {
    return { time: new Date(Number(text)).toISOString() };
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const time = Date.parse(text);
    if (Number.isNaN(time)) throw new RangeError(`"${text}" is not a time`);
    return { time: new Date(time).toISOString() };
  }
  if (isCursor(text)) return { cursor: text };
  throw new RangeError(
    `"${text}" is not a cursor, an ISO 8601 time, epoch ms or a duration`,
  );
}

/**
 * Whether `text` has a cursor's shape (schemas/cursor.ts): 29 bytes in
 * base64url, version 1 first. Whose log it is, only the API can tell.
 */
export function isCursor(text: string): boolean {
  if (!/^[A-Za-z0-9_-]{39}$/.test(text)) return false;
  const bytes = Buffer.from(text, "base64url");
  return bytes.length === 29 && bytes[0] === 1;
}
