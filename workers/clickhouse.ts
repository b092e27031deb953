/**
 * @module ClickHouse access: the client, the Queue consumer's insert and
 * the history query. The same code talks to a real server in production
 * and to the chDB dev server locally; only CLICKHOUSE_URL differs.
 */
import { type ClickHouseClient, createClient } from "@clickhouse/client-web";
import type { Level, Metadata, StoredLine, Stream } from "../schemas/line";
import type { LinesQueueMessage } from "../schemas/queue";
import type { Env } from "./env";

const TABLE = "log_lines";

let cached: { url: string; client: ClickHouseClient } | null = null;

/** One client per isolate and URL. */
export function clickhouse(env: Env): ClickHouseClient {
  if (!env.CLICKHOUSE_URL) {
    throw new Error("CLICKHOUSE_URL is not set (wrangler.toml [vars])");
  }
  if (cached?.url !== env.CLICKHOUSE_URL) {
    cached = {
      url: env.CLICKHOUSE_URL,
      client: createClient({
        url: env.CLICKHOUSE_URL,
        database: env.CLICKHOUSE_DATABASE || "edgetail",
        username: env.CLICKHOUSE_USER || "default",
        password: env.CLICKHOUSE_PASSWORD || "",
        request_timeout: 30_000,
      }),
    };
  }
  return cached.client;
}

/** Inserts the lines of queue messages as rows. */
export async function insertLines(
  client: ClickHouseClient,
  messages: LinesQueueMessage[],
): Promise<number> {
  const rows = messages.flatMap((m) =>
    m.lines.map((l) => ({
      tenant: m.tenant,
      deployment_id: m.deployment_id,
      epoch: m.epoch,
      seq: l.seq,
      timestamp: chTime(l.ts),
      received_at: chTime(l.received_at),
      step_id: l.step,
      level: l.level,
      stream: l.stream,
      message: l.message,
      metadata: JSON.stringify(l.metadata),
      redaction_state: l.redaction_state,
      partial: l.partial,
      search_overlap: l.search_overlap ?? "",
    })),
  );
  if (rows.length === 0) return 0;
  await client.insert({ table: TABLE, values: rows, format: "JSONEachRow" });
  return rows.length;
}

/** Filters of one history page, already validated. */
export interface PageQuery {
  tenant: string;
  deployment: string;
  epoch: number;
  /** Exclusive start: lines after it (forward) or before it (backward). */
  from?: number;
  direction: "forward" | "backward";
  tillSeq?: number;
  tillTs?: number;
  levels?: Level[];
  step?: string;
  q?: string;
  limit: number;
}

interface Row {
  seq: string;
  ts: string;
  received_at: string;
  step_id: string;
  level: string;
  stream: string;
  message: string;
  metadata: string;
  redaction_state: string;
  partial: boolean | number;
}

/** One page of lines; asks for one more to know if there are more. */
export async function queryPage(
  client: ClickHouseClient,
  p: PageQuery,
): Promise<{ lines: StoredLine[]; hasMore: boolean }> {
  const forward = p.direction === "forward";
  const where = [
    "tenant = {tenant:String}",
    "deployment_id = {deployment:String}",
    "epoch = {epoch:UInt32}",
  ];
  if (p.from !== undefined) {
    where.push(forward ? "seq > {from:UInt64}" : "seq < {from:UInt64}");
  }
  if (p.tillSeq !== undefined) {
    where.push(forward ? "seq <= {tillSeq:UInt64}" : "seq >= {tillSeq:UInt64}");
  }
  if (p.tillTs !== undefined) {
    where.push(
      forward
        ? "timestamp <= fromUnixTimestamp64Milli({tillTs:Int64}, 'UTC')"
        : "timestamp >= fromUnixTimestamp64Milli({tillTs:Int64}, 'UTC')",
    );
  }
  if (p.levels) where.push("level IN {levels:Array(String)}");
  if (p.step !== undefined) where.push("step_id = {step:String}");
  if (p.q !== undefined) {
    where.push("lowerUTF8(message_plain) LIKE {pattern:String}");
  }
  const query = `
    SELECT seq, toUnixTimestamp64Milli(timestamp) AS ts,
           toUnixTimestamp64Milli(received_at) AS received_at,
           step_id, level, stream, message, metadata, redaction_state, partial
    FROM ${TABLE} FINAL
    WHERE ${where.join(" AND ")}
    ORDER BY seq ${forward ? "ASC" : "DESC"}
    LIMIT {limit:UInt32}`;
  const result = await client.query({
    query,
    format: "JSONEachRow",
    query_params: {
      tenant: p.tenant,
      deployment: p.deployment,
      epoch: p.epoch,
      from: p.from,
      tillSeq: p.tillSeq,
      tillTs: p.tillTs,
      levels: p.levels,
      step: p.step,
      pattern: p.q === undefined ? undefined : likePattern(p.q),
      limit: p.limit + 1,
    },
  });
  const rows = await result.json<Row>();
  const hasMore = rows.length > p.limit;
  return { lines: rows.slice(0, p.limit).map(rowToLine), hasMore };
}

/** A case-insensitive substring LIKE pattern with wildcards escaped. */
function likePattern(q: string): string {
  return `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function rowToLine(r: Row): StoredLine {
  return {
    seq: Number(r.seq),
    ts: Number(r.ts),
    received_at: Number(r.received_at),
    step: r.step_id,
    level: r.level as Level,
    stream: r.stream as Stream,
    message: r.message,
    metadata: JSON.parse(r.metadata) as Metadata,
    redaction_state: r.redaction_state === "redacted" ? "redacted" : "clean",
    partial: r.partial === true || r.partial === 1,
  };
}

/** DateTime64(3) text in UTC: `2024-07-08 16:48:09.375`. */
function chTime(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace("Z", "");
}
