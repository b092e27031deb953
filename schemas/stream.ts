/**
 * @module Messages of the live stream, the same over WebSocket and SSE.
 */
import type { WireLine } from "./line";

/** Lines in seq order; `cursor` is that of the last one. */
export interface LinesMessage {
  type: "lines";
  lines: WireLine[];
  cursor: string;
}

/** Sent when idle, so a viewer can tell a quiet stream from a dead one. */
export interface HeartbeatMessage {
  type: "heartbeat";
  /** Cursor of the last line the deployment holds. */
  cursor: string;
  last_seq: number;
  server_time: string;
}

/** The deployment completed; no line follows. */
export interface EndMessage {
  type: "end";
  status: string;
  exit_code?: number;
  cursor: string;
  last_seq: number;
}

/**
 * The cursor came from an earlier incarnation of this log (the stream was
 * re-created), so the stream restarts from the first line of the new one.
 */
export interface ResetMessage {
  type: "reset";
  reason: string;
  cursor: string;
}

/**
 * The viewer fell too far behind: the server stops sending and closes.
 * Resume from `cursor`, the last line delivered.
 */
export interface LaggedMessage {
  type: "lagged";
  cursor: string;
  message: string;
}

export type StreamMessage =
  | LinesMessage
  | HeartbeatMessage
  | EndMessage
  | ResetMessage
  | LaggedMessage;
