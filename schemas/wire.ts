/**
 * @module From stored lines to what viewers, history and exports send.
 */
import { encodeCursor } from "./cursor";
import type { StoredLine, WireLine } from "./line";

/** The wire shape of a stored line, with its own cursor. */
export function toWireLine(
  line: StoredLine,
  key: bigint,
  epoch: number,
): WireLine {
  const wire: WireLine = {
    seq: line.seq,
    ts: new Date(line.ts).toISOString(),
    step: line.step,
    level: line.level,
    stream: line.stream,
    message: line.message,
    metadata: line.metadata,
    redaction_state: line.redaction_state,
    cursor: encodeCursor(key, { epoch, seq: line.seq, ts: line.ts }),
  };
  if (line.partial) wire.partial = true;
  return wire;
}
