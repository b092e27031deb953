/**
 * @module One error type with a stable code, mapped to its status in
 * schemas/errors.ts, and the one handler that turns anything thrown into
 * `{ error: { code, message, request_id, field? } }`. Internal messages
 * and stacks never reach the client.
 */
import type { Context } from "hono";
import type { z } from "zod";
import { errorMessage, log } from "../durable-objects/log";
import {
  ERROR_STATUS,
  type ErrorBody,
  type ErrorCode,
} from "../schemas/errors";
import type { AppEnv } from "./env";

export class ApiError extends Error {
  override readonly name = "ApiError";

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

/** An ApiError naming the first field zod refused. */
export function fromZod(error: z.ZodError, prefix = ""): ApiError {
  const issue = error.issues[0];
  const path = [prefix, ...(issue?.path ?? []).map(String)]
    .filter((p) => p !== "")
    .join(".");
  const message = issue
    ? `${path || "body"}: ${issue.message}`
    : "invalid request";
  return new ApiError("invalid_field", message, path || undefined);
}

/** The error response for anything thrown while handling a request. */
export function errorResponse(err: unknown, c: Context<AppEnv>): Response {
  const requestId = c.get("requestId") ?? "";
  const apiError =
    err instanceof ApiError
      ? err
      : new ApiError(
          "internal",
          "internal error; retry, or report the request_id",
        );
  if (!(err instanceof ApiError)) {
    log("error", "request.failed", {
      request_id: requestId,
      path: new URL(c.req.url).pathname,
      error: errorMessage(err),
    });
  }
  const body: ErrorBody = {
    error: {
      code: apiError.code,
      message: apiError.message,
      request_id: requestId,
    },
  };
  if (apiError.field) body.error.field = apiError.field;
  return new Response(JSON.stringify(body), {
    status: apiError.status,
    headers: { "content-type": "application/json", ...apiError.headers },
  });
}
