/**
 * @module Errors in the shape the ClickHouse HTTP interface reports them:
 * an HTTP status, an `X-ClickHouse-Exception-Code` header and a body like
 * `Code: 60. DB::Exception: <message>. (UNKNOWN_TABLE) (version 26.7.2.1)`,
 * which @clickhouse/client-common's `parseError` turns into a
 * `ClickHouseError` with `code` and `type`.
 */

/** A ClickHouse exception: numeric code, symbolic name and message. */
export class ClickHouseDevError extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = "ClickHouseDevError";
  }
}

// The server's exceptionCodeToHTTPStatus, keyed by name rather than number:
// chDB's messages carry the name, and names are easier to review than codes.
const BAD_REQUEST = new Set([
  "CANNOT_PARSE_TEXT",
  "CANNOT_PARSE_ESCAPE_SEQUENCE",
  "CANNOT_PARSE_QUOTED_STRING",
  "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
  "CANNOT_PARSE_DATE",
  "CANNOT_PARSE_DATETIME",
  "CANNOT_PARSE_NUMBER",
  "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
  "CANNOT_PARSE_IPV4",
  "CANNOT_PARSE_IPV6",
  "CANNOT_PARSE_UUID",
  "DUPLICATE_COLUMN",
  "ILLEGAL_COLUMN",
  "THERE_IS_NO_COLUMN",
  "UNKNOWN_ELEMENT_IN_AST",
  "UNKNOWN_TYPE_OF_AST_NODE",
  "TOO_DEEP_AST",
  "TOO_BIG_AST",
  "UNEXPECTED_AST_STRUCTURE",
  "SYNTAX_ERROR",
  "INCORRECT_DATA",
  "TYPE_MISMATCH",
  "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
]);
const NOT_FOUND = new Set([
  "UNKNOWN_TABLE",
  "UNKNOWN_FUNCTION",
  "UNKNOWN_IDENTIFIER",
  "UNKNOWN_TYPE",
  "UNKNOWN_STORAGE",
  "UNKNOWN_DATABASE",
  "UNKNOWN_SETTING",
  "UNKNOWN_DIRECTION_OF_SORTING",
  "UNKNOWN_AGGREGATE_FUNCTION",
  "UNKNOWN_FORMAT",
  "UNKNOWN_DATABASE_ENGINE",
  "UNKNOWN_TYPE_OF_QUERY",
  "UNKNOWN_ROLE",
]);
const UNAUTHORIZED = new Set([
  "UNKNOWN_USER",
  "WRONG_PASSWORD",
  "REQUIRED_PASSWORD",
  "AUTHENTICATION_FAILED",
]);

/** The HTTP status a real server answers with for an exception name. */
export function httpStatus(type: string): number {
  if (BAD_REQUEST.has(type)) return 400;
  if (NOT_FOUND.has(type)) return 404;
  if (UNAUTHORIZED.has(type)) return 401;
  if (type === "ACCESS_DENIED") return 403;
  if (type === "QUERY_IS_TOO_LARGE") return 413;
  if (type === "NOT_IMPLEMENTED") return 501;
  return 500;
}

const CODE_PREFIX = /^Code: (\d+)\. DB::Exception: /;
// Same guard as client-common's parser: at least three capitals, so `(2)` or
// `(official build)` are not taken for an exception name.
const TYPE_MARKER = /\(((?=[A-Z0-9_]*[A-Z]{3})[A-Z0-9_]+)\)/g;

/**
 * Turns anything thrown while serving a query into a ClickHouse exception.
 * chDB errors already read `Code: N. DB::Exception: ... (NAME)`; anything
 * else is a bug in this server and is reported without its internals.
 */
export function toDevError(err: unknown): ClickHouseDevError {
  if (err instanceof ClickHouseDevError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const prefix = CODE_PREFIX.exec(message);
  if (prefix?.[1] === undefined) {
    return new ClickHouseDevError(
      1001,
      "STD_EXCEPTION",
      "Internal error in the ClickHouse dev server, see its log",
    );
  }
  const types = [...message.matchAll(TYPE_MARKER)];
  const type = types.at(-1)?.[1] ?? "UNKNOWN_EXCEPTION";
  return new ClickHouseDevError(Number(prefix[1]), type, message);
}

/** The response body a real server sends for an exception. */
export function errorBody(err: ClickHouseDevError, version: string): string {
  // chDB messages arrive complete except for the version suffix; our own
  // errors carry only the message text.
  const text = CODE_PREFIX.test(err.message)
    ? err.message.trimEnd()
    : `Code: ${err.code}. DB::Exception: ${err.message}. (${err.type})`;
  const suffix = / \(version [^)]*\)$/.test(text)
    ? ""
    : ` (version ${version})`;
  return `${text}${suffix}\n`;
}
