/**
 * @module The agent's one error type. API refusals keep the server's stable
 * `error.code` (schemas/errors.ts); the agent adds its own few codes for
 * what happens before an answer arrives.
 */
import type { ErrorBody, ErrorCode } from "../../schemas/errors";

/** The server's codes, plus the agent's own. */
export type AgentErrorCode =
  | ErrorCode
  /** No answer: DNS, refused or reset connection, timeout. */
  | "network_error"
  /** An answer that is not edgetail's error shape (a proxy's page). */
  | "http_error"
  /** A 2xx answer whose body could not be read as expected. */
  | "invalid_response"
  /** The agent gave up because `close()` ran out of time. */
  | "aborted"
  /** Lines were lost, so the agent did not mark the log complete. */
  | "not_completed";

/** Details of an {@link AgentError}. */
export interface AgentErrorInfo {
  /** HTTP status, when the server answered. */
  status?: number;
  requestId?: string;
  /** The request field at fault, as the server names it. */
  field?: string;
  /** True when sending again may succeed (network, 429, 5xx). */
  retryable: boolean;
  /** The server's Retry-After, in milliseconds. */
  retryAfterMs?: number;
}

/** An error as the close report keeps it: plain data, JSON-safe. */
export interface ReportedError {
  code: AgentErrorCode;
  message: string;
  /** HTTP status, when the server answered. */
  status?: number;
}

/** A request the agent could not get accepted. */
export class AgentError extends Error {
  override readonly name = "AgentError";

  constructor(
    readonly code: AgentErrorCode,
    message: string,
    readonly info: AgentErrorInfo,
  ) {
    super(message);
  }

  get status(): number | undefined {
    return this.info.status;
  }

  /** The plain form reports keep: `{ code, message, status }`. */
  toJSON(): ReportedError {
    const out: ReportedError = { code: this.code, message: this.message };
    if (this.info.status !== undefined) out.status = this.info.status;
    return out;
  }

  get retryable(): boolean {
    return this.info.retryable;
  }

  /**
   * True when no later request of this agent can succeed either: the token
   * is refused or the deployment is already complete.
   */
  get fatal(): boolean {
    const status = this.info.status;
    return (
      status === 401 || status === 403 || this.code === "deployment_completed"
    );
  }
}

/** Whether an HTTP status is worth retrying: 429 and 5xx. */
export function retryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** The AgentError for a non-2xx answer; reads (and consumes) its body. */
export async function errorFromResponse(res: Response): Promise<AgentError> {
  const retryable = retryableStatus(res.status);
  const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
  let text = "";
  try {
    text = await res.text();
  } catch {
    // The body broke off; the status alone still says what happened.
  }
  const body = parseErrorBody(text);
  const info: AgentErrorInfo = { status: res.status, retryable };
  if (retryAfterMs !== undefined) info.retryAfterMs = retryAfterMs;
  if (!body) {
    const snippet = text.slice(0, 120).replace(/\s+/g, " ").trim();
    return new AgentError(
      "http_error",
      `HTTP ${res.status}${snippet ? `: ${snippet}` : ""}`,
      info,
    );
  }
  if (body.request_id) info.requestId = body.request_id;
  if (body.field) info.field = body.field;
  return new AgentError(body.code, body.message, info);
}

/** The AgentError for a request that got no answer. */
export function networkError(err: unknown): AgentError {
  return new AgentError("network_error", describeNetworkError(err), {
    retryable: true,
  });
}

/** Retry-After in milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - Date.now());
}

function parseErrorBody(text: string): ErrorBody["error"] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null) return null;
  if (!("error" in parsed)) return null;
  const error = parsed.error;
  if (typeof error !== "object" || error === null) return null;
  if (!("code" in error) || typeof error.code !== "string") return null;
  const message = "message" in error ? String(error.message) : error.code;
  const out: ErrorBody["error"] = {
    // The server's code list may grow; an unknown code is kept as sent.
    code: error.code as ErrorCode,
    message,
    request_id: "request_id" in error ? String(error.request_id) : "",
  };
  if ("field" in error && typeof error.field === "string") {
    out.field = error.field;
  }
  return out;
}

/** `fetch failed: connect ECONNREFUSED ...`: the cause says the most. */
function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause;
  if (cause instanceof Error && cause.message) {
    return `${err.message}: ${cause.message}`;
  }
  return err.message;
}
