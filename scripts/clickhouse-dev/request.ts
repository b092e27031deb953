/**
 * @module Reads an HTTP request the way the ClickHouse HTTP interface does:
 * query text from the `query` parameter and/or the body, settings and
 * `param_<name>` values from the URL (or a multipart body), compressed
 * bodies, and credentials from Basic auth or X-ClickHouse-* headers.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { ClickHouseDevError } from "./errors.ts";
import { NAME } from "./sql.ts";

/** One query as the client described it, before it reaches chDB. */
export interface QueryRequest {
  /** SQL text: the `query` parameter, else the body. */
  query: string;
  /** The body, when `query` came from the URL: INSERT rows, usually. */
  data?: Buffer;
  settings: Map<string, string>;
  params: Map<string, string>;
  database?: string;
  defaultFormat?: string;
  queryId: string;
  sessionId?: string;
  /** Idle seconds before a `session_id` session is dropped. */
  sessionTimeout: number;
  /** Response encoding when enable_http_compression=1 and accepted. */
  encoding?: "gzip" | "deflate" | "br";
  compressionLevel: number;
  user: string;
  password?: string;
}

// Longer than V8's longest string (~512 MiB) cannot become SQL text anyway.
const MAX_BODY_BYTES = 256 * 1024 * 1024;

// URL parameters the HTTP layer consumes; every other one is a setting.
const NOT_SETTINGS = new Set([
  "query",
  "database",
  "default_format",
  "query_id",
  "session_id",
  "session_timeout",
  "session_check",
  "user",
  "password",
  "quota_key",
  "role",
  "stacktrace",
  "compress",
  "decompress",
  "buffer_size",
  "wait_end_of_query",
  "client_protocol_version",
  "enable_http_compression",
  "http_zlib_compression_level",
]);

/** Parses the URL, headers and body of one query request. */
export async function readQueryRequest(
  req: IncomingMessage,
  url: URL,
): Promise<QueryRequest> {
  const q = url.searchParams;
  const settings = new Map<string, string>();
  const params = new Map<string, string>();
  for (const [key, value] of q) {
    if (key.startsWith("param_")) params.set(key.slice(6), value);
    else if (!NOT_SETTINGS.has(key)) settings.set(key, value);
  }

  const body = await readBody(req);
  let query = q.get("query") ?? undefined;
  let data: Buffer | undefined;
  const boundary = multipartBoundary(req.headers["content-type"]);
  if (boundary !== undefined) {
    for (const [name, value] of multipartParts(body, boundary)) {
      if (name === "query") query = value;
      else if (name.startsWith("param_")) params.set(name.slice(6), value);
      else throw unsupported(`multipart part "${name}" (external tables)`);
    }
  } else if (query === undefined) {
    query = body.toString("utf8");
  } else if (body.length > 0) {
    data = body;
  }

  // Both kinds of name go into SET statements: only identifiers pass.
  for (const name of settings.keys()) {
    if (!NAME.test(name)) {
      throw new ClickHouseDevError(
        115,
        "UNKNOWN_SETTING",
        `Unknown setting '${name}'`,
      );
    }
  }
  for (const name of params.keys()) {
    if (!NAME.test(name)) {
      throw new ClickHouseDevError(
        457,
        "BAD_QUERY_PARAMETER",
        `Query parameter name '${name}' is not an identifier`,
      );
    }
  }
  const { user, password } = credentials(req, q);
  const level = Number(q.get("http_zlib_compression_level") ?? 3);
  return {
    query: query ?? "",
    data,
    settings,
    params,
    database: q.get("database") || undefined,
    defaultFormat: q.get("default_format") || undefined,
    queryId: q.get("query_id") || randomUUID(),
    sessionId: q.get("session_id") || undefined,
    sessionTimeout: Number(q.get("session_timeout") ?? 60) || 60,
    encoding: responseEncoding(req, q),
    compressionLevel: Number.isInteger(level) ? level : 3,
    user,
    password,
  };
}

function unsupported(what: string): ClickHouseDevError {
  return new ClickHouseDevError(
    48,
    "NOT_IMPLEMENTED",
    `The ClickHouse dev server does not support ${what}`,
  );
}

type Inflate = (
  buf: Buffer,
  opts: { maxOutputLength: number },
) => Promise<Buffer>;
const INFLATE = new Map<string, Inflate>([
  ["gzip", promisify(zlib.gunzip)],
  ["x-gzip", promisify(zlib.gunzip)],
  ["deflate", promisify(zlib.inflate)],
  ["br", promisify(zlib.brotliDecompress)],
]);

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(buf);
  }
  const raw = Buffer.concat(chunks);
  const encoding = (req.headers["content-encoding"] ?? "identity").trim();
  if (encoding === "identity" || encoding === "") return raw;
  const decode = INFLATE.get(encoding);
  if (decode === undefined) throw unsupported(`Content-Encoding: ${encoding}`);
  try {
    return await decode(raw, { maxOutputLength: MAX_BODY_BYTES });
  } catch (err) {
    if (err instanceof RangeError) throw tooLarge();
    const reason = err instanceof Error ? err.message : String(err);
    throw new ClickHouseDevError(
      271,
      "CANNOT_DECOMPRESS",
      `Cannot decompress ${encoding} request body: ${reason}`,
    );
  }
}

function tooLarge(): ClickHouseDevError {
  return new ClickHouseDevError(
    229,
    "QUERY_IS_TOO_LARGE",
    `Request body exceeds the dev server's ${MAX_BODY_BYTES} bytes`,
  );
}

function multipartBoundary(type: string | undefined): string | undefined {
  if (!type?.toLowerCase().startsWith("multipart/form-data")) return undefined;
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(type);
  const boundary = m?.[1] ?? m?.[2];
  if (boundary === undefined) throw unsupported("multipart without boundary");
  return boundary;
}

// Enough of RFC 7578 for what client-web's buildMultipartBody writes: text
// parts named by Content-Disposition, each ending in CRLF.
function multipartParts(body: Buffer, boundary: string): [string, string][] {
  const parts: [string, string][] = [];
  for (const part of body.toString("utf8").split(`--${boundary}`).slice(1)) {
    if (part.startsWith("--")) break;
    const split = part.indexOf("\r\n\r\n");
    const name = /name="([^"]*)"/i.exec(part.slice(0, split))?.[1];
    if (split < 0 || name === undefined) continue;
    parts.push([name, part.slice(split + 4).replace(/\r\n$/, "")]);
  }
  return parts;
}

function credentials(req: IncomingMessage, q: URLSearchParams) {
  const header = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const basic = /^Basic\s+(\S+)$/i.exec(header("authorization") ?? "")?.[1];
  if (basic !== undefined) {
    const decoded = Buffer.from(basic, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return {
      user: colon < 0 ? decoded : decoded.slice(0, colon),
      password: colon < 0 ? "" : decoded.slice(colon + 1),
    };
  }
  return {
    user: header("x-clickhouse-user") ?? q.get("user") ?? "default",
    password: header("x-clickhouse-key") ?? q.get("password") ?? undefined,
  };
}

function responseEncoding(
  req: IncomingMessage,
  q: URLSearchParams,
): QueryRequest["encoding"] {
  const enabled = q.get("enable_http_compression");
  if (enabled !== "1" && enabled !== "true") return undefined;
  const accepted = (req.headers["accept-encoding"] ?? "")
    .split(",")
    .map((e) => e.trim().split(";"))
    .filter(([, q]) => q?.replace(/\s/g, "") !== "q=0")
    .map(([e]) => e?.toLowerCase());
  return (["gzip", "deflate", "br"] as const).find((e) => accepted.includes(e));
}
