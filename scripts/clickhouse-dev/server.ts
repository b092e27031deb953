/**
 * @module A dev-only ClickHouse HTTP server backed by chDB: the part of the
 * HTTP interface that @clickhouse/client-web uses (query, insert, command,
 * exec, ping), so local runs and tests need no ClickHouse server.
 *
 * Not product code: no TLS, no users or grants, no external tables, no
 * streaming (results are buffered), queries run one at a time.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { mkdir } from "node:fs/promises";
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from "node:http";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { ChdbEngine } from "./engine.ts";
import {
  ClickHouseDevError,
  errorBody,
  httpStatus,
  toDevError,
} from "./errors.ts";
import { type QueryRequest, readQueryRequest } from "./request.ts";
import { contentType, outputFormat } from "./sql.ts";

/** Receives one event per request (`clickhouse.query`) and internal errors. */
export type DevServerLog = (
  event: string,
  fields: Record<string, unknown>,
) => void;

/** Options of {@link startClickHouseDevServer}. */
export interface ClickHouseDevServerOptions {
  /** @default "127.0.0.1" */
  host?: string;
  /** 0 picks a free port. @default 8123 */
  port?: number;
  /** chDB data directory; MergeTree tables persist here across restarts. */
  dataDir: string;
  /** When set, every request must carry this password (any user name). */
  password?: string;
  /** Server-wide setting defaults, applied over SERVER_DEFAULTS. */
  settings?: Record<string, string | number | boolean>;
  log?: DevServerLog;
}

/** A running dev server. */
export interface ClickHouseDevServer {
  /** Base URL for `createClient({ url })`. */
  url: string;
  port: number;
  /** Lets in-flight requests finish, then closes sockets and chDB. */
  close(): Promise<void>;
}

// A server accepts URIs up to http_max_uri_size (1 MiB), and clients put
// param_* values there; Node's default of 16 KiB would refuse a long one.
const MAX_HEADER_BYTES = 1024 * 1024 + 64 * 1024;

/** Starts the server; resolves once it listens. */
export async function startClickHouseDevServer(
  opts: ClickHouseDevServerOptions,
): Promise<ClickHouseDevServer> {
  const host = opts.host ?? "127.0.0.1";
  const log = opts.log ?? (() => {});
  const settings = Object.fromEntries(
    Object.entries(opts.settings ?? {}).map(([k, v]) => [k, settingText(v)]),
  );
  await mkdir(opts.dataDir, { recursive: true });
  const engine = await ChdbEngine.open(opts.dataDir, settings);

  const inFlight = new Set<Promise<void>>();
  const server = createServer(
    { maxHeaderSize: MAX_HEADER_BYTES },
    (req, res) => {
      const done = handle(req, res, engine, opts.password, log).catch((err) => {
        log("clickhouse.internal_error", { error: String(err) });
        res.destroy();
      });
      inFlight.add(done);
      void done.finally(() => inFlight.delete(done));
    },
  );
  const port = await listen(server, opts.port ?? 8123, host).catch(
    async (err) => {
      await engine.close();
      throw err;
    },
  );

  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    async close() {
      const stopped = new Promise<void>((resolve) =>
        server.close(() => resolve()),
      );
      server.closeIdleConnections();
      await Promise.allSettled([...inFlight]);
      server.closeAllConnections();
      await engine.close();
      await stopped;
    },
  };
}

function settingText(v: string | number | boolean): string {
  if (typeof v === "boolean") return v ? "1" : "0";
  return String(v);
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      if (address === null || typeof address === "string") {
        reject(new Error(`Unexpected listen address ${address}`));
      } else {
        resolve(address.port);
      }
    });
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  engine: ChdbEngine,
  password: string | undefined,
  log: DevServerLog,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (isHealthCheck(req, url)) {
    await reply(res, 200, "Ok.\n", {
      "Content-Type": "text/html; charset=UTF-8",
    });
    return;
  }

  const started = performance.now();
  let request: QueryRequest | undefined;
  try {
    if (req.method !== "GET" && req.method !== "POST") {
      throw new ClickHouseDevError(48, "NOT_IMPLEMENTED", "Use GET or POST");
    }
    request = await readQueryRequest(req, url);
    authenticate(request, password);
    const result = await engine.run(request);
    const format = outputFormat(request.query, request.defaultFormat);
    await reply(
      res,
      200,
      result.body,
      {
        "Content-Type": contentType(format),
        "X-ClickHouse-Format": format,
        "X-ClickHouse-Query-Id": request.queryId,
        "X-ClickHouse-Summary": JSON.stringify(result.summary),
        "X-ClickHouse-Timezone": engine.timezone,
        "X-ClickHouse-Server-Display-Name": "clickhouse-dev",
      },
      request,
    );
    log("clickhouse.query", fields(request, 200, started));
  } catch (err) {
    const e = toDevError(err);
    if (e.code === 1001) {
      const error = err instanceof Error ? err.stack : String(err);
      log("clickhouse.internal_error", { error });
    }
    const status = httpStatus(e.type);
    const headers: OutgoingHttpHeaders = {
      "Content-Type": "text/plain; charset=UTF-8",
      "X-ClickHouse-Exception-Code": String(e.code),
    };
    if (request) headers["X-ClickHouse-Query-Id"] = request.queryId;
    await reply(res, status, errorBody(e, engine.version), headers, request);
    log("clickhouse.query", {
      ...fields(request, status, started),
      code: e.code,
      type: e.type,
    });
  }
}

function isHealthCheck(req: IncomingMessage, url: URL): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  if (url.pathname === "/ping") return true;
  return url.pathname === "/" && !url.searchParams.has("query");
}

function fields(
  request: QueryRequest | undefined,
  status: number,
  started: number,
): Record<string, unknown> {
  return {
    query_id: request?.queryId,
    status,
    elapsed_ms: Math.round(performance.now() - started),
    query: request?.query.replace(/\s+/g, " ").trim().slice(0, 200),
  };
}

function authenticate(req: QueryRequest, password: string | undefined) {
  if (password === undefined) return;
  // Hashing first gives timingSafeEqual two buffers of one length.
  const digest = (s: string) => createHash("sha256").update(s).digest();
  if (timingSafeEqual(digest(req.password ?? ""), digest(password))) return;
  throw new ClickHouseDevError(
    516,
    "AUTHENTICATION_FAILED",
    `${req.user}: Authentication failed: password is incorrect, ` +
      "or there is no user with such name",
  );
}

const gzip = promisify(zlib.gzip);
const deflate = promisify(zlib.deflate);
const brotli = promisify(zlib.brotliCompress);

function compress(
  data: Uint8Array,
  encoding: NonNullable<QueryRequest["encoding"]>,
  level: number,
): Promise<Buffer> {
  // http_zlib_compression_level is 1..9 on a server; brotli goes to 11.
  const lvl = Math.min(Math.max(level, 1), 9);
  if (encoding === "gzip") return gzip(data, { level: lvl });
  if (encoding === "deflate") return deflate(data, { level: lvl });
  const quality = zlib.constants.BROTLI_PARAM_QUALITY;
  return brotli(data, { params: { [quality]: lvl } });
}

async function reply(
  res: ServerResponse,
  status: number,
  body: Uint8Array | string,
  headers: OutgoingHttpHeaders,
  request?: QueryRequest,
): Promise<void> {
  let payload = typeof body === "string" ? Buffer.from(body) : body;
  if (request?.encoding) {
    payload = await compress(
      payload,
      request.encoding,
      request.compressionLevel,
    );
    headers["Content-Encoding"] = request.encoding;
  }
  res.writeHead(status, { ...headers, "Content-Length": payload.byteLength });
  res.end(payload);
}
