/**
 * @module Cursors: one opaque, versioned, URL-safe token that names a
 * position in one deployment's log. It resumes live streams, pages history
 * and ranges exports.
 *
 * Layout (29 bytes, base64url, no padding):
 *   u8  version (1)
 *   u64 FNV-1a of "tenant\ndeployment" (rejects cursors from other logs)
 *   u32 epoch (changes if the stream is ever re-created)
 *   u64 seq of the line (0 = before the first line)
 *   i64 wall clock of that line, epoch milliseconds
 */

const VERSION = 1;
const SIZE = 29;

/** A decoded cursor. */
export interface Cursor {
  epoch: number;
  seq: number;
  ts: number;
}

/** Why a cursor string was refused; the API answers 400 `invalid_cursor`. */
export class CursorError extends Error {
  override readonly name = "CursorError";
}

/** A stable 64-bit fingerprint of one tenant's deployment. */
export function logKey(tenant: string, deployment: string): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(`${tenant}\n${deployment}`)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash;
}

/** Encodes the position `seq` (written at `ts`) of one deployment's log. */
export function encodeCursor(key: bigint, cursor: Cursor): string {
  const bytes = new Uint8Array(SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, VERSION);
  view.setBigUint64(1, key);
  view.setUint32(9, cursor.epoch);
  view.setBigUint64(13, BigInt(cursor.seq));
  view.setBigInt64(21, BigInt(cursor.ts));
  return toBase64Url(bytes);
}

/**
 * Decodes a cursor and checks that it belongs to the log `key`.
 * Throws CursorError with a message fit for the client otherwise.
 */
export function decodeCursor(key: bigint, text: string): Cursor {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(text)) {
    throw new CursorError("cursor is not a base64url token");
  }
  const bytes = fromBase64Url(text);
  if (bytes.length !== SIZE || bytes[0] !== VERSION) {
    throw new CursorError("cursor has an unknown version or length");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (view.getBigUint64(1) !== key) {
    throw new CursorError("cursor belongs to another deployment");
  }
  const seq = view.getBigUint64(13);
  if (seq > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CursorError("cursor position is out of range");
  }
  return {
    epoch: view.getUint32(9),
    seq: Number(seq),
    ts: Number(view.getBigInt64(21)),
  };
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary)
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array {
  const padded = text.replaceAll("-", "+").replaceAll("_", "/");
  let binary: string;
  try {
    binary = atob(padded + "=".repeat((4 - (padded.length % 4)) % 4));
  } catch {
    throw new CursorError("cursor is not a base64url token");
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
