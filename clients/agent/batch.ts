/**
 * @module Lines to request bodies: each line is encoded to JSON once, when
 * written, and a batch is those strings joined in the JSON body of
 * `POST /v1/deployments/{id}/logs`, gzip'd with CompressionStream.
 */
import type { Level, Metadata, Stream } from "../../schemas/line";
import { utf8Length } from "./queue";

/** A line as the agent takes it; only `message` is required. */
export interface AgentLine {
  message: string;
  /** When it was printed; the time of write() by default. */
  ts?: number | string | Date;
  step?: string;
  level?: Level;
  stream?: Stream;
  metadata?: Metadata;
  /** The next line continues this one (both are joined when read). */
  partial?: boolean;
}

/** Defaults the agent applies to every line. */
export interface LineDefaults {
  step?: string;
  level?: Level;
  stream?: Stream;
  metadata?: Metadata;
}

/**
 * Longest message per encoded line, in UTF-16 code units. JSON escaping
 * can grow a character to 6 bytes, so a part stays far below the 8 MiB
 * body limit; longer messages become consecutive `partial` parts, which
 * the server joins back exactly like its own 8 KiB split.
 */
export const MAX_PART_CHARS = 256 * 1024;

/** One line (or its parts) as JSON strings with their UTF-8 sizes. */
export function encodeLine(
  line: AgentLine,
  defaults: LineDefaults,
  now = Date.now(),
): { json: string; bytes: number }[] {
  const base: Record<string, unknown> = { ts: timeOf(line.ts, now) };
  const step = line.step ?? defaults.step;
  const level = line.level ?? defaults.level;
  const stream = line.stream ?? defaults.stream;
  const metadata = line.metadata ?? defaults.metadata;
  if (step !== undefined && step !== "") base.step = step;
  if (level !== undefined) base.level = level;
  if (stream !== undefined) base.stream = stream;
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    base.metadata = metadata;
  }
  return splitMessage(line.message).map((part, i, parts) => {
    const last = i === parts.length - 1;
    const partial = last ? line.partial === true : true;
    const json = JSON.stringify({
      ...base,
      message: part,
      ...(partial ? { partial: true } : {}),
    });
    return { json, bytes: utf8Length(json) };
  });
}

/** The JSON body of one numbered batch. */
export function batchBody(
  agent: string,
  seq: number,
  lines: readonly string[],
  secrets: readonly string[],
): string {
  const head = JSON.stringify({ batch: { agent, seq } }).slice(0, -1);
  const tail =
    secrets.length > 0 ? `,"secrets":${JSON.stringify(secrets)}` : "";
  return `${head},"lines":[${lines.join(",")}]${tail}}`;
}

/** The message of an encoded line (for reports). */
export function messageOf(json: string | undefined): string | undefined {
  if (json === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed === "object" && parsed && "message" in parsed) {
      return String(parsed.message);
    }
  } catch {
    // Not ours; report it raw.
  }
  return json;
}

/** Gzips text with the web-platform CompressionStream. */
export async function gzipText(text: string): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([text])
    .stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function timeOf(ts: AgentLine["ts"], now: number): number {
  if (ts === undefined) return now;
  if (ts instanceof Date) return ts.getTime();
  if (typeof ts === "number") return ts;
  const parsed = Date.parse(ts);
  if (Number.isNaN(parsed)) {
    throw new RangeError(`line ts "${ts}" is not an ISO 8601 time`);
  }
  return parsed;
}

function splitMessage(message: string): string[] {
  if (message.length <= MAX_PART_CHARS) return [message];
  const parts: string[] = [];
  let start = 0;
  while (start < message.length) {
    let end = Math.min(start + MAX_PART_CHARS, message.length);
    const c = message.charCodeAt(end - 1);
    if (end < message.length && c >= 0xd800 && c < 0xdc00) end -= 1;
    parts.push(message.slice(start, end));
    start = end;
  }
  return parts;
}
