/**
 * @module The little SQL this server writes or reads itself: literals and
 * identifiers for the `USE` / `SET` statements it sends to chDB, and the
 * FORMAT and INSERT shapes it needs to recognise in a client's query.
 */
import type { RawInsertFormat } from "chdb";

/** A ClickHouse string literal that parses back to exactly `value`. */
export function quoteString(value: string): string {
  // Control characters go as \xHH so the statement stays one line and no
  // NUL byte can reach a C string boundary inside the engine.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping them
  return `'${value.replace(/[\\'\u0000-\u001f]/g, escapeChar)}'`;
}

function escapeChar(c: string): string {
  if (c === "\\" || c === "'") return `\\${c}`;
  return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
}

/** A backquoted identifier, safe for any database name a client sends. */
export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/[\\`]/g, (c) => `\\${c}`)}\``;
}

/** Setting and query parameter names: what `SET name = ...` accepts. */
export const NAME = /^[A-Za-z0-9_]+$/;

const TRAILING_FORMAT =
  /\bFORMAT\s+([A-Za-z][A-Za-z0-9_]*)\s*(?:SETTINGS\b[^;]*)?;?\s*$/i;

/**
 * The output format of a query: its trailing `FORMAT` clause, else the
 * `default_format` parameter, else TabSeparated as on a real server. The
 * FORMAT of an INSERT names its input, not its (empty) output.
 */
export function outputFormat(sql: string, defaultFormat?: string): string {
  const fallback = defaultFormat ?? "TabSeparated";
  if (/^\s*INSERT\b/i.test(sql)) return fallback;
  return TRAILING_FORMAT.exec(sql)?.[1] ?? fallback;
}

/** The Content-Type a real server sends with each output format. */
export function contentType(format: string): string {
  const f = format.toLowerCase();
  if (f.startsWith("json") || f === "ndjson" || f === "prettyjsoneachrow") {
    return "application/json; charset=UTF-8";
  }
  if (f.startsWith("tabseparated") || f.startsWith("tsv")) {
    return "text/tab-separated-values; charset=UTF-8";
  }
  if (f.startsWith("csv")) {
    const header = f.includes("withnames") ? "present" : "absent";
    return `text/csv; charset=UTF-8; header=${header}`;
  }
  if (/^(native|rowbinary|parquet|arrow|orc|avro|msgpack|bson|npy)/.test(f)) {
    return "application/octet-stream";
  }
  return "text/plain; charset=UTF-8";
}

/** An INSERT whose rows chDB can take as raw bytes (Session.insert). */
export interface RawInsert {
  table: string;
  columns?: string[];
  format: RawInsertFormat;
}

// The formats chDB's raw insert accepts, by lower-case name.
const RAW_FORMATS = new Map<string, RawInsertFormat>(
  (
    [
      "JSONEachRow",
      "JSONCompactEachRow",
      "CSV",
      "CSVWithNames",
      "TSV",
      "TabSeparated",
      "TSVWithNames",
      "TabSeparatedWithNames",
    ] as const
  ).map((f) => [f.toLowerCase(), f]),
);

// Exactly what client.insert() sends: `INSERT INTO t [(a, b)] FORMAT F`.
const INSERT_SHAPE =
  /^\s*INSERT\s+INTO\s+(\w+(?:\.\w+)?)\s*(?:\(([\w\s,]+)\))?\s*FORMAT\s+(\w+)\s*$/i;

/**
 * Recognises the plain INSERT shape whose rows can go to chDB as bytes.
 * Anything fancier (quoted names, `* EXCEPT`, SETTINGS) returns undefined
 * and is sent as SQL text with the rows appended, as the server would read it.
 */
export function parseRawInsert(sql: string): RawInsert | undefined {
  const m = INSERT_SHAPE.exec(sql);
  const format = RAW_FORMATS.get(m?.[3]?.toLowerCase() ?? "");
  if (m?.[1] === undefined || format === undefined) return undefined;
  const columns = m[2]?.split(",").map((c) => c.trim());
  if (columns?.some((c) => !NAME.test(c))) return undefined;
  return { table: m[1], format, ...(columns ? { columns } : {}) };
}

/** Whether an INSERT query's rows are all whitespace (nothing to insert). */
export function isEmptyInsert(sql: string, data: Uint8Array): boolean {
  if (!/^\s*INSERT\b/i.test(sql)) return false;
  return data.every((b) => b === 0x20 || b === 0x0a || b === 0x0d || b === 9);
}

const WORD = /[A-Za-z_]\w*/y;

/**
 * Where a second statement starts after a `;`, if any: a server refuses
 * those (`Multi-statements are not allowed`) while chDB runs them all.
 * Quoted text and comments are skipped, and an INSERT's inline rows (after
 * FORMAT or VALUES) are data, not SQL.
 */
export function secondStatementAt(sql: string): number | undefined {
  const insert = /^\s*INSERT\b/i.test(sql);
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] ?? "";
    if (c === "'" || c === '"' || c === "`") {
      i = afterQuoted(sql, i, c);
    } else if (sql.startsWith("--", i)) {
      const eol = sql.indexOf("\n", i);
      i = eol < 0 ? sql.length : eol + 1;
    } else if (sql.startsWith("/*", i)) {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === ";") {
      const rest = sql.slice(i + 1).replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, "");
      return rest.trim() === "" ? undefined : i;
    } else if (insert && /[A-Za-z_]/.test(c)) {
      WORD.lastIndex = i;
      const word = WORD.exec(sql)?.[0] ?? c;
      if (/^(FORMAT|VALUES)$/i.test(word)) return undefined;
      i += word.length;
    } else {
      i += 1;
    }
  }
  return undefined;
}

function afterQuoted(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === "\\") i += 2;
    else if (sql[i] !== quote) i += 1;
    else if (sql[i + 1] === quote) i += 2;
    else return i + 1;
  }
  return i;
}
