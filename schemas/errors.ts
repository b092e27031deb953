/**
 * @module The error contract: every error body is
 * `{ error: { code, message, request_id, field? } }`, and `code` is one of
 * these stable strings, mapped to its HTTP status here and only here.
 */

export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_json: 400,
  invalid_field: 400,
  invalid_cursor: 400,
  invalid_deployment_id: 400,
  invalid_encoding: 400,
  empty_batch: 400,
  too_many_lines: 400,
  token_missing: 401,
  token_invalid: 401,
  token_expired: 401,
  forbidden_scope: 403,
  forbidden_deployment: 403,
  not_found: 404,
  deployment_not_found: 404,
  method_not_allowed: 405,
  not_acceptable: 406,
  deployment_completed: 409,
  idempotency_conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  too_many_secrets: 422,
  rate_limited: 429,
  internal: 500,
  upstream_unavailable: 503,
} as const;

/** A stable error code a client can switch on. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** The body of every error response. */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    request_id: string;
    /** The request field at fault, as a dotted path (`lines.3.level`). */
    field?: string;
  };
}
