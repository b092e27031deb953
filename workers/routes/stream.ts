/**
 * @module `GET /v1/deployments/{id}/stream`: the live tail, over WebSocket
 * (hibernating, in the Deployment object) or Server-Sent Events.
 */
import { Hono } from "hono";
import { STREAM_HEADERS } from "../../durable-objects/stream";
import { MAX_TAIL_LINES } from "../../schemas/limits";
import { readCursor } from "../cursors";
import { target } from "../deployments";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";

export const streamRoutes = new Hono<AppEnv>();

streamRoutes.get("/:id/stream", async (c) => {
  const t = target(c, "logs:read");
  const websocket = c.req.header("upgrade")?.toLowerCase() === "websocket";
  const sse = (c.req.header("accept") ?? "").includes("text/event-stream");
  if (!websocket && !sse) {
    throw new ApiError(
      "not_acceptable",
      "open a WebSocket, or send Accept: text/event-stream",
      "accept",
    );
  }

  const headers = new Headers();
  headers.set("x-request-id", c.get("requestId"));
  headers.set(STREAM_HEADERS.tenant, t.tenant);
  headers.set(STREAM_HEADERS.deployment, t.deployment);
  if (websocket) headers.set("upgrade", "websocket");
  // An EventSource reconnects to the same URL, so its Last-Event-ID is
  // newer than the ?cursor= it was opened with.
  const cursorText = c.req.header("last-event-id") || c.req.query("cursor");
  if (cursorText) {
    const cursor = readCursor(t.key, cursorText);
    headers.set(STREAM_HEADERS.after, String(cursor.seq));
    headers.set(STREAM_HEADERS.epoch, String(cursor.epoch));
    headers.set(STREAM_HEADERS.cursor, cursorText);
  }
  // A reconnecting EventSource repeats ?tail=; its Last-Event-ID wins.
  const tailText = c.req.header("last-event-id")
    ? undefined
    : c.req.query("tail");
  if (tailText !== undefined && cursorText) {
    throw new ApiError(
      "invalid_field",
      "pass cursor or tail, not both",
      "tail",
    );
  }
  if (tailText !== undefined) {
    const tail = /^\d{1,6}$/.test(tailText) ? Number(tailText) : -1;
    if (tail < 0 || tail > MAX_TAIL_LINES) {
      throw new ApiError(
        "invalid_field",
        `tail must be an integer from 0 to ${MAX_TAIL_LINES}`,
        "tail",
      );
    }
    headers.set(STREAM_HEADERS.tail, String(tail));
  }
  return t.stub.fetch("https://deployment/stream", { headers });
});
