/**
 * @module Reading ingest bodies: JSON, NDJSON and plain text, optionally
 * gzip-encoded, within MAX_BODY_BYTES before and after decoding.
 */
import type { NormalizedLine } from "../durable-objects/types";
import {
  type IngestBody,
  ingestBodySchema,
  type LineInput,
  lineInputSchema,
  plainTextQuerySchema,
} from "../schemas/ingest";
import {
  MAX_BODY_BYTES,
  MAX_LINES_PER_BATCH,
  MAX_METADATA_BYTES,
} from "../schemas/limits";
import { ApiError, fromZod } from "./errors";

const NDJSON_TYPES = new Set([
  "application/x-ndjson",
  "application/ndjson",
  "application/jsonl",
  "application/x-jsonlines",
]);

/** A parsed ingest request, before the Deployment object sees it. */
export interface ParsedIngest {
  lines: NormalizedLine[];
  secrets: string[];
  batch?: IngestBody["batch"];
}

/** Reads and validates an ingest body of any supported type. */
export async function parseIngest(request: Request): Promise<ParsedIngest> {
  const type = mediaType(request.headers.get("content-type"));
  if (
    type !== "application/json" &&
    type !== "text/plain" &&
    !NDJSON_TYPES.has(type)
  ) {
    throw new ApiError(
      "unsupported_media_type",
      "Content-Type must be application/json, application/x-ndjson or text/plain",
      "content-type",
    );
  }
  const bytes = await readBody(request);

  if (type === "text/plain") {
    const query = plainTextQuerySchema.safeParse(
      Object.fromEntries(new URL(request.url).searchParams),
    );
    if (!query.success) throw fromZod(query.error);
    return { lines: plainLines(bytes, query.data), secrets: [] };
  }

  const text = new TextDecoder("utf-8", {
    fatal: false,
    ignoreBOM: true,
  }).decode(bytes);
  if (type === "application/json") {
    const raw = parseJson(text);
    const rawLines = (raw as { lines?: unknown } | null)?.lines;
    if (Array.isArray(rawLines) && rawLines.length > MAX_LINES_PER_BATCH) {
      throw tooManyLines();
    }
    const parsed = ingestBodySchema.safeParse(raw);
    if (!parsed.success) throw fromZod(parsed.error);
    const { lines, secrets, batch } = parsed.data;
    return { lines: normalize(lines), secrets: secrets ?? [], batch };
  }
  return { lines: normalize(ndjsonLines(text)), secrets: [] };
}

/** Reads the whole body, gunzipping if asked, never past the limit. */
export async function readBody(request: Request): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const encoding = (request.headers.get("content-encoding") ?? "identity")
    .trim()
    .toLowerCase();
  if (encoding !== "identity" && encoding !== "gzip") {
    throw new ApiError(
      "unsupported_media_type",
      "Content-Encoding must be gzip or absent",
      "content-encoding",
    );
  }
  if (!request.body) return new Uint8Array();
  let stream: ReadableStream<Uint8Array> = request.body;
  if (encoding === "gzip") {
    stream = stream.pipeThrough(new DecompressionStream("gzip"));
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      size += chunk.byteLength;
      if (size > MAX_BODY_BYTES) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError("invalid_encoding", "body is not valid gzip", "body");
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Parses JSON, answering 400 invalid_json on a syntax error. */
export function parseJson(text: string, field = "body"): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const detail = err instanceof SyntaxError ? err.message : "syntax error";
    throw new ApiError(
      "invalid_json",
      `${field} is not valid JSON: ${detail}`,
      field,
    );
  }
}

function ndjsonLines(text: string): LineInput[] {
  const out: LineInput[] = [];
  const rows = text.split("\n");
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]?.trim() ?? "";
    if (row === "") continue;
    if (out.length === MAX_LINES_PER_BATCH) throw tooManyLines();
    const parsed = lineInputSchema.safeParse(parseJson(row, `line ${i + 1}`));
    if (!parsed.success) throw fromZod(parsed.error, `lines.${i}`);
    out.push(parsed.data);
  }
  return out;
}

/**
 * Every `\n`-terminated line is a log line, its `\r` and escapes kept.
 * A last line with no `\n` is stored `partial`: the next request (or
 * nothing, if the file ends so) continues it. Invalid UTF-8 becomes U+FFFD.
 */
function plainLines(
  bytes: Uint8Array,
  defaults: {
    step?: string;
    level?: LineInput["level"];
    stream?: LineInput["stream"];
  },
): NormalizedLine[] {
  const text = new TextDecoder("utf-8", {
    fatal: false,
    ignoreBOM: true,
  }).decode(bytes);
  if (text === "") return [];
  const rows = text.split("\n");
  const open = rows.at(-1) !== "";
  if (!open) rows.pop();
  if (rows.length > MAX_LINES_PER_BATCH) throw tooManyLines();
  return rows.map((message, i) => ({
    step: defaults.step ?? "",
    level: defaults.level ?? "info",
    stream: defaults.stream ?? "stdout",
    message,
    metadata: {},
    partial: open && i === rows.length - 1,
  }));
}

/** Applies defaults and the metadata limit to validated lines. */
export function normalize(lines: LineInput[]): NormalizedLine[] {
  return lines.map((line, i) => {
    const metadata = line.metadata ?? {};
    if (JSON.stringify(metadata).length > MAX_METADATA_BYTES) {
      throw new ApiError(
        "invalid_field",
        `metadata is larger than ${MAX_METADATA_BYTES} bytes`,
        `lines.${i}.metadata`,
      );
    }
    const out: NormalizedLine = {
      step: line.step ?? "",
      level: line.level ?? "info",
      stream: line.stream ?? "stdout",
      message: line.message,
      metadata,
      partial: line.partial ?? false,
    };
    if (line.ts !== undefined) out.ts = line.ts;
    return out;
  });
}

function mediaType(header: string | null): string {
  return (header ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

function tooLarge(): ApiError {
  return new ApiError(
    "payload_too_large",
    `body exceeds ${MAX_BODY_BYTES} bytes (after gzip decoding)`,
    "body",
  );
}

function tooManyLines(): ApiError {
  return new ApiError(
    "too_many_lines",
    `a batch holds at most ${MAX_LINES_PER_BATCH} lines`,
    "lines",
  );
}
