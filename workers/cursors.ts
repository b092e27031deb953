/**
 * @module Turning `cursor` and `till` parameters into positions, with one
 * error for all that is wrong with them: 400 `invalid_cursor`.
 */
import { type Cursor, CursorError, decodeCursor } from "../schemas/cursor";
import { ApiError } from "./errors";

/** Decodes a cursor of log `key`, checking its epoch if given. */
export function readCursor(
  key: bigint,
  text: string,
  epoch?: number,
  field = "cursor",
  lastSeq?: number,
): Cursor {
  let cursor: Cursor;
  try {
    cursor = decodeCursor(key, text);
  } catch (err) {
    if (err instanceof CursorError) {
      throw new ApiError("invalid_cursor", err.message, field);
    }
    throw err;
  }
  if (lastSeq !== undefined && cursor.seq > lastSeq) {
    throw new ApiError("invalid_cursor", "cursor is ahead of the log", field);
  }
  if (epoch !== undefined && cursor.epoch !== epoch) {
    throw new ApiError(
      "invalid_cursor",
      "cursor is from an earlier incarnation of this log; start again without it",
      field,
    );
  }
  return cursor;
}

/** `till`: a cursor (bound by seq) or a time (ISO 8601 or epoch ms). */
export function readTill(
  key: bigint,
  text: string,
  epoch: number,
): { seq?: number; ts?: number } {
  if (/^\d{1,16}$/.test(text)) return { ts: Number(text) };
  const time = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    if (Number.isNaN(time)) {
      throw new ApiError("invalid_field", "till is not a valid time", "till");
    }
    return { ts: time };
  }
  return { seq: readCursor(key, text, epoch, "till").seq };
}
