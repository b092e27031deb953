/**
 * @module `edgetail export <deployment>`: the whole log as a file (text by
 * default, or NDJSON), optionally gzip'd, with a progress bar counted in
 * lines against the `x-edgetail-last-seq` header.
 */
import { createWriteStream, renameSync, rmSync } from "node:fs";
import { Readable, Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { createGzip } from "node:zlib";
import { type Command, InvalidArgumentError } from "commander";
import { apiFailure, CliError, EXIT } from "../errors";
import { progress } from "../progress";
import { contextOf, deploymentId, note } from "../shared";

interface ExportFlags {
  output?: string;
  gzip?: boolean;
  format: "text" | "ndjson";
  since?: string;
  till?: string;
  quiet?: boolean;
}

/** Adds `export` to the program. */
export function registerExport(program: Command): Command {
  return program
    .command("export")
    .summary("download a deployment's whole log")
    .argument("<deployment>", "deployment id", deploymentId)
    .option("-o, --output <file>", "write to this file (default: stdout)")
    .option("--gzip", "gzip the output")
    .option(
      "--format <format>",
      "text (the log as printed) or ndjson (line objects)",
      (v: string) => {
        if (v !== "text" && v !== "ndjson") {
          throw new InvalidArgumentError("use text or ndjson");
        }
        return v;
      },
      "text",
    )
    .option("--since <cursor>", "only lines after this cursor")
    .option("--till <cursor>", "only lines up to this cursor")
    .option("-q, --quiet", "no progress bar, no summary")
    .addHelpText(
      "after",
      "\nA text export of a log pushed as text is the original file, byte for\n" +
        "byte (masked secrets aside). The file appears only once complete.\n\n" +
        "Examples:\n" +
        "  edgetail export web-42 -o web-42.log\n" +
        "  edgetail export web-42 --format ndjson --gzip -o web-42.ndjson.gz",
    )
    .action(async (deployment: string, flags: ExportFlags, cmd: Command) => {
      process.exitCode = await exportLog(deployment, flags, cmd);
    });
}

async function exportLog(
  deployment: string,
  flags: ExportFlags,
  cmd: Command,
): Promise<number> {
  if (flags.gzip && !flags.output && process.stdout.isTTY) {
    throw new CliError(
      "--gzip output is binary: pass -o FILE, or pipe it somewhere",
    );
  }
  const ctx = contextOf(cmd);
  const q = new URLSearchParams({ format: flags.format });
  if (flags.since) q.set("cursor", flags.since);
  if (flags.till) q.set("till", flags.till);
  const path = `/v1/deployments/${deployment}/export?${q}`;
  let res: Response;
  try {
    res = await ctx.api.send({ method: "GET", path }, async (r) => r);
  } catch (err) {
    throw apiFailure(err, ctx.config.url, `export ${deployment}`);
  }
  const lastSeq = Number(res.headers.get("x-edgetail-last-seq") ?? 0);
  const showBar =
    !flags.quiet && (flags.output !== undefined || !process.stdout.isTTY);
  const bar = progress(
    `export ${deployment}`,
    "lines",
    flags.since ? 0 : lastSeq,
    showBar,
  );

  let lines = 0;
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      for (
        let i = chunk.indexOf(0x0a);
        i !== -1;
        i = chunk.indexOf(0x0a, i + 1)
      ) {
        lines += 1;
      }
      bar.update(lines);
      done(null, chunk);
    },
  });
  const temp = flags.output ? `${flags.output}.partial-${process.pid}` : null;
  const sink: Writable = temp ? createWriteStream(temp) : process.stdout;
  const body = res.body
    ? Readable.fromWeb(res.body as WebReadableStream<Uint8Array>)
    : Readable.from([]);
  try {
    if (flags.gzip) await pipeline(body, counter, createGzip(), sink);
    else await pipeline(body, counter, sink);
  } catch (err) {
    bar.stop();
    if (temp) rmSync(temp, { force: true });
    const why = err instanceof Error ? err.message : String(err);
    throw new CliError(
      `export ${deployment} broke off after ${lines} lines (${why}); run it again`,
      EXIT.server,
    );
  }
  if (!flags.since) bar.update(lastSeq);
  bar.stop();
  if (temp && flags.output) renameSync(temp, flags.output);
  if (flags.output && !flags.quiet) {
    note(
      `wrote ${lines} lines (${bytes} bytes before gzip) to ${flags.output}`,
    );
  }
  return EXIT.ok;
}
