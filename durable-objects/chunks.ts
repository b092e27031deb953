/**
 * @module Sealed chunks: immutable gzip NDJSON objects in R2, one per seq
 * range, under the tenant and deployment. They serve backlogs and exports
 * past the hot tail.
 */
import type { StoredLine } from "../schemas/line";

/** The R2 key of a chunk; seqs are zero-padded so keys sort by position. */
export function chunkKey(
  tenant: string,
  deployment: string,
  epoch: number,
  first: number,
  last: number,
): string {
  const pad = (n: number) => String(n).padStart(12, "0");
  return `${chunkPrefix(tenant, deployment)}e/${epoch}/${pad(first)}-${pad(last)}.ndjson.gz`;
}

/** Every object of one deployment lives under this prefix. */
export function chunkPrefix(tenant: string, deployment: string): string {
  return `t/${tenant}/d/${deployment}/`;
}

/** Writes lines as one gzip NDJSON object; returns its compressed size. */
export async function writeChunk(
  bucket: R2Bucket,
  key: string,
  lines: StoredLine[],
): Promise<number> {
  const text = `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`;
  const gz = await new Response(
    new Blob([text]).stream().pipeThrough(new CompressionStream("gzip")),
  ).arrayBuffer();
  await bucket.put(key, gz, {
    httpMetadata: {
      contentType: "application/x-ndjson",
      contentEncoding: "gzip",
    },
  });
  return gz.byteLength;
}

/** Reads a chunk back; null if the object is gone (retention). */
export async function readChunk(
  bucket: R2Bucket,
  key: string,
): Promise<StoredLine[] | null> {
  const object = await bucket.get(key);
  if (!object) return null;
  const text = await new Response(
    object.body.pipeThrough(new DecompressionStream("gzip")),
  ).text();
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as StoredLine);
}
