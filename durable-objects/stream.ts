/**
 * @module Opening a live stream inside the Deployment object. The Worker
 * checked the token and decoded the cursor; it passes the position in
 * internal headers (the object has no public route).
 */
import type { StreamMessage } from "../schemas/stream";
import type { Deployment } from "./deployment";
import { Fanout, type ViewerStart } from "./fanout";

/** Headers the Worker sets on stream requests to the object. */
export const STREAM_HEADERS = {
  tenant: "x-edgetail-tenant",
  deployment: "x-edgetail-deployment",
  /** Seq the viewer already has (from its cursor). */
  after: "x-edgetail-after",
  /** Epoch of that cursor. */
  epoch: "x-edgetail-epoch",
  /** Cursor text the viewer sent, echoed back on lag. */
  cursor: "x-edgetail-cursor",
  /** `?tail=N`. */
  tail: "x-edgetail-tail",
} as const;

/** Answers a stream request with a WebSocket or an SSE response. */
export async function openStream(
  object: Deployment,
  request: Request,
): Promise<Response> {
  const h = request.headers;
  const tenant = h.get(STREAM_HEADERS.tenant);
  const deployment = h.get(STREAM_HEADERS.deployment);
  if (!tenant || !deployment) {
    return new Response("stream requests come through the Worker", {
      status: 400,
    });
  }
  const state = object.ensure({ tenant, deployment });
  const start = await startOf(object, h, state.epoch, state.last_seq);
  if ("error" in start) return start.error;

  if (h.get("upgrade")?.toLowerCase() === "websocket") {
    const [client, server] = Object.values(new WebSocketPair()) as [
      WebSocket,
      WebSocket,
    ];
    const attachment = Fanout.attachment(start);
    object.accept(server);
    server.serializeAttachment(attachment);
    const viewer = object.viewerFor(server, attachment);
    object.fanout.startSocket(viewer, start);
    await object.wake();
    return new Response(null, { status: 101, webSocket: client });
  }

  const body = object.fanout.openSse(start);
  await object.wake();
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}

async function startOf(
  object: Deployment,
  h: Headers,
  epoch: number,
  lastSeq: number,
): Promise<ViewerStart | { error: Response }> {
  const after = h.get(STREAM_HEADERS.after);
  const cursorEpoch = h.get(STREAM_HEADERS.epoch);
  const tail = h.get(STREAM_HEADERS.tail);
  const origin = object.cursor(0, 0);

  if (after !== null && Number(cursorEpoch) !== epoch) {
    const reset: StreamMessage = {
      type: "reset",
      reason: "the log was re-created; starting from its first line",
      cursor: origin,
    };
    return { sent: 0, cursor: origin, preface: [reset] };
  }
  if (after !== null) {
    const seq = Number(after);
    if (seq > lastSeq) {
      return {
        error: Response.json(
          {
            error: {
              code: "invalid_cursor",
              message: "cursor is ahead of the log",
              request_id: h.get("x-request-id") ?? "",
              field: "cursor",
            },
          },
          { status: 400 },
        ),
      };
    }
    return { sent: seq, cursor: h.get(STREAM_HEADERS.cursor) ?? origin };
  }
  if (tail !== null) {
    const sent = Math.max(0, lastSeq - Number(tail));
    if (sent === 0) return { sent, cursor: origin };
    const [line] = await object.read(sent - 1, 1);
    return { sent, cursor: object.cursor(sent, line?.ts ?? 0) };
  }
  return { sent: 0, cursor: origin };
}
