/**
 * @module The chDB side of the dev server. chDB is one engine per process
 * and data directory; a long-lived root Session holds it open, and every
 * query runs, one at a time, on a fresh connection to the same directory.
 *
 * Why a connection per query: `USE`, `SET` and `SET param_*` are
 * connection state in chDB, and there is no clean reset (`SET x = DEFAULT`
 * goes back to the compiled default, not the connection's; `SET param_x =
 * DEFAULT` binds the text 'DEFAULT'). A fresh connection costs ~0.3 ms and
 * makes each request as stateless as it is on a real server. Requests with a
 * `session_id` share one connection instead, as a server session would;
 * unlike a server, the URL settings and params of such a request then stay
 * set for the rest of the session.
 */
import { drainPending, Session } from "chdb";
import { ClickHouseDevError } from "./errors.ts";
import type { QueryRequest } from "./request.ts";
import {
  isEmptyInsert,
  NAME,
  parseRawInsert,
  quoteIdentifier,
  quoteString,
  secondStatementAt,
} from "./sql.ts";

/** Server defaults that chDB (clickhouse-local) does not share. */
export const SERVER_DEFAULTS: Readonly<Record<string, string>> = {
  // Servers before 25.8 quote 64-bit integers in JSON formats; 25.8 changed
  // the default to 0. Override with the `settings` option to match yours.
  output_format_json_quote_64bit_integers: "1",
  // clickhouse-local accepts a bare `1 + 1`; a server answers SYNTAX_ERROR.
  implicit_select: "0",
};

/** What a finished query hands back to the HTTP layer. */
export interface QueryResult {
  body: Uint8Array;
  /** X-ClickHouse-Summary: counters as decimal strings, as servers send. */
  summary: Record<string, string>;
}

interface ServerSession {
  conn: Session;
  timer: NodeJS.Timeout;
}

// SET statements are parsed like any query and must fit max_query_size
// (256 KiB by default); a server takes param_* values from the URL instead.
const LARGE_STATEMENT = 200_000;
const MAX_SESSION_TIMEOUT_S = 3600;
const EMPTY = new Uint8Array(0);

/** Runs QueryRequests against one chDB data directory, one at a time. */
export class ChdbEngine {
  #tail: Promise<unknown> = Promise.resolve();
  #sessions = new Map<string, ServerSession>();
  #closed = false;

  private constructor(
    private readonly root: Session,
    private readonly dataDir: string,
    private readonly args: string[],
    private readonly defaults: Record<string, string>,
    /** `SELECT version()`, for error bodies. */
    readonly version: string,
    /** Server time zone, for the X-ClickHouse-Timezone header. */
    readonly timezone: string,
  ) {}

  /** Opens the engine; `settings` override {@link SERVER_DEFAULTS}. */
  static async open(
    dataDir: string,
    settings: Record<string, string> = {},
  ): Promise<ChdbEngine> {
    const defaults = { ...SERVER_DEFAULTS, ...settings };
    for (const name of Object.keys(defaults)) {
      if (!NAME.test(name)) {
        throw new Error(`settings.${name}: not a ClickHouse setting name`);
      }
    }
    const args = Object.entries(defaults).map(([k, v]) => `--${k}=${v}`);
    const root = new Session(dataDir, { connectionArgs: args });
    try {
      // connectionArgs ignore names the engine does not know; SET does not.
      await root.queryAsync(`SET ${assignments(defaults)}`).catch((err) => {
        const reason = err instanceof Error ? err.message : String(err);
        throw new Error(`settings: ${reason}`);
      });
      const info = await root.queryAsync(
        "SELECT version() AS v, serverTimezone() AS tz",
        { format: "JSONEachRow" },
      );
      const { v, tz } = info.json<{ v: string; tz: string }>();
      return new ChdbEngine(root, dataDir, args, defaults, v, tz);
    } catch (err) {
      root.close();
      throw err;
    }
  }

  /** Runs one request after all earlier ones have finished. */
  run(req: QueryRequest): Promise<QueryResult> {
    if (this.#closed) {
      const err = new ClickHouseDevError(
        236,
        "ABORTED",
        "The ClickHouse dev server is shutting down",
      );
      return Promise.reject(err);
    }
    return this.#enqueue(async () => {
      const shared = req.sessionId
        ? this.#session(req.sessionId, req.sessionTimeout)
        : undefined;
      const conn = shared ?? this.#connect();
      try {
        return await this.#execute(conn, req);
      } finally {
        if (!shared) conn.close();
      }
    });
  }

  /** Lets queued queries finish, then releases chDB. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#enqueue(async () => {
      for (const s of this.#sessions.values()) {
        clearTimeout(s.timer);
        s.conn.close();
      }
      this.#sessions.clear();
      this.root.close();
    });
    // close() defers the native teardown of a busy connection; a new engine
    // on another directory in this process must wait for it.
    await drainPending();
  }

  // chDB runs each query on the libuv pool, so the event loop stays free;
  // serialising them keeps one engine from interleaving connection state.
  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task, task);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  #connect(): Session {
    return new Session(this.dataDir, { connectionArgs: this.args });
  }

  #session(id: string, timeoutS: number): Session {
    const existing = this.#sessions.get(id);
    if (existing) clearTimeout(existing.timer);
    const conn = existing?.conn ?? this.#connect();
    const seconds = Math.min(Math.max(timeoutS, 1), MAX_SESSION_TIMEOUT_S);
    const timer = setTimeout(() => {
      void this.#enqueue(async () => {
        if (this.#sessions.get(id)?.timer !== timer) return;
        this.#sessions.delete(id);
        conn.close();
      });
    }, seconds * 1000);
    timer.unref();
    this.#sessions.set(id, { conn, timer });
    return conn;
  }

  async #execute(conn: Session, req: QueryRequest): Promise<QueryResult> {
    if (req.query.trim() === "" && req.data === undefined) {
      throw new ClickHouseDevError(62, "SYNTAX_ERROR", "Empty query");
    }
    const second = secondStatementAt(req.query);
    if (second !== undefined) {
      throw new ClickHouseDevError(
        62,
        "SYNTAX_ERROR",
        "Syntax error (Multi-statements are not allowed): failed at " +
          `position ${second + 1} (end of query)`,
      );
    }
    if (req.database) {
      await conn.queryAsync(`USE ${quoteIdentifier(req.database)}`);
    }
    if (req.params.size > 0) await this.#setParams(conn, req.params);
    if (req.settings.size > 0) {
      await conn.queryAsync(`SET ${assignments(req.settings)}`);
    }

    const format = req.defaultFormat ?? "TabSeparated";
    if (req.data === undefined) return select(conn, req.query, format);
    if (isEmptyInsert(req.query, req.data)) {
      return { body: EMPTY, summary: summary({}) };
    }
    const insert = parseRawInsert(req.query);
    if (insert === undefined) {
      // The server reads `query` + "\n" + body as one statement.
      const sql = `${req.query}\n${req.data.toString("utf8")}`;
      return select(conn, sql, format);
    }
    // Raw bytes straight to the engine's parser: no multi-MB JS string.
    const r = await conn.insert({ ...insert, values: req.data });
    const counts = {
      written_rows: r.rowsWritten,
      written_bytes: r.bytesWritten,
      elapsed: r.elapsed,
    };
    return { body: EMPTY, summary: summary(counts) };
  }

  // `SET param_x = '<text>'` hands the engine the client's text verbatim,
  // and it parses it by the {x:Type} placeholder exactly as a server parses
  // param_x. queryBindAsync cannot: it TSV-escapes every string it is given,
  // which double-escapes String values and breaks Array(String) literals.
  async #setParams(conn: Session, params: Map<string, string>): Promise<void> {
    const sql = `SET ${[...params]
      .map(([name, value]) => `param_${name} = ${quoteString(value)}`)
      .join(", ")}`;
    const size = Buffer.byteLength(sql);
    if (size < LARGE_STATEMENT) {
      await conn.queryAsync(sql);
      return;
    }
    const restore = this.defaults.max_query_size;
    await conn.queryAsync(`SET max_query_size = ${size + 1024}`);
    await conn.queryAsync(sql);
    await conn.queryAsync(
      `SET max_query_size = ${restore ? quoteString(restore) : "DEFAULT"}`,
    );
  }
}

async function select(
  conn: Session,
  sql: string,
  format: string,
): Promise<QueryResult> {
  const r = await conn.queryAsync(sql, { format });
  const body = r.bytes();
  const counts = {
    read_rows: r.rowsRead,
    read_bytes: r.bytesRead,
    result_bytes: body.byteLength,
    elapsed: r.elapsed,
  };
  return { body, summary: summary(counts) };
}

/** `a = 'x', b = 'y'` for SET; names were checked against {@link NAME}. */
function assignments(values: Map<string, string> | Record<string, string>) {
  const entries = values instanceof Map ? [...values] : Object.entries(values);
  return entries.map(([k, v]) => `${k} = ${quoteString(v)}`).join(", ");
}

function summary(counts: {
  read_rows?: number;
  read_bytes?: number;
  written_rows?: number;
  written_bytes?: number;
  result_bytes?: number;
  /** Seconds, as chDB reports it. */
  elapsed?: number;
}): Record<string, string> {
  const n = (v: number | undefined) => String(v ?? 0);
  return {
    read_rows: n(counts.read_rows),
    read_bytes: n(counts.read_bytes),
    written_rows: n(counts.written_rows),
    written_bytes: n(counts.written_bytes),
    // chDB does not report these; clients only display them.
    total_rows_to_read: "0",
    result_rows: "0",
    result_bytes: n(counts.result_bytes),
    elapsed_ns: String(Math.round((counts.elapsed ?? 0) * 1e9)),
  };
}
