/**
 * @module `edgetail tail <deployment>`: history pages, then (with -f) the
 * live stream from the last line printed, resumed after any drop without
 * a gap or a duplicate. Without -f, lines not yet in history (ClickHouse
 * is about a second behind) come from the export, which never is.
 */
import { once } from "node:events";
import type { Command } from "commander";
import type { Level, WireLine } from "../../../schemas/line";
import { apiFailure, CliError, EXIT } from "../errors";
import {
  type Context,
  contextOf,
  count,
  deploymentId,
  levels,
  note,
} from "../shared";
import { follow } from "../tail/follow";
import {
  type DeploymentInfo,
  describe,
  exported,
  type Filters,
  forward,
  page,
  parseSince,
} from "../tail/history";
import { Printer } from "../tail/printer";

/** Longest --grep the API takes (`q`). */
const MAX_GREP_CHARS = 256;

interface TailFlags {
  follow?: boolean;
  since?: string;
  tail?: number;
  level?: Level[];
  step?: string;
  grep?: string;
  json?: boolean;
  color?: boolean;
  timestamps?: boolean;
  quiet?: boolean;
}

/** Adds `tail` to the program. */
export function registerTail(program: Command): Command {
  return program
    .command("tail")
    .summary("print a deployment's log; follow it live with -f")
    .argument("<deployment>", "deployment id", deploymentId)
    .option("-f, --follow", "then follow live lines until the deployment ends")
    .option(
      "--since <cursor|time>",
      "start after a cursor, or at a time: ISO 8601, epoch ms, or 90s, 15m, 2h, 1d ago",
    )
    .option(
      "-n, --tail <n>",
      "only the last N lines (then follow, with -f)",
      count,
    )
    .option("--level <levels>", "only these levels, e.g. warn,error", levels)
    .option("--step <name>", "only this step")
    .option(
      "--grep <text>",
      "only lines with this text (any case, ANSI ignored)",
    )
    .option("--json", "print line objects as NDJSON")
    .option("--color", "keep ANSI colours even when piped")
    .option("--no-color", "strip ANSI colours even on a terminal")
    .option("-t, --timestamps", "start each line with its time")
    .option("-q, --quiet", "no notes on stderr")
    .addHelpText(
      "after",
      "\nColours are kept on a terminal and stripped when piped. Parts of a\n" +
        "split line are joined before printing (--json: one object, with the\n" +
        "seq and cursor of the last part). Ctrl-C prints the cursor to resume\n" +
        "from on stderr.\n\n" +
        "Exit codes: 0 done (with -f: the deployment ended), 2 token or\n" +
        "config, 3 API unreachable or failing, 4 refused (e.g. unknown\n" +
        "deployment without -f, bad cursor), 130 Ctrl-C.\n\n" +
        "Examples:\n" +
        "  edgetail tail web-42 -f\n" +
        "  edgetail tail web-42 --level warn,error --grep timeout --json\n" +
        "  edgetail tail web-42 -f --since AQAAAAAB...",
    )
    .action(async (deployment: string, flags: TailFlags, cmd: Command) => {
      process.exitCode = await tail(deployment, flags, cmd);
    });
}

async function tail(
  deployment: string,
  flags: TailFlags,
  cmd: Command,
): Promise<number> {
  if (flags.since !== undefined && flags.tail !== undefined) {
    throw new CliError("--since and --tail do not combine; pick one");
  }
  let since: ReturnType<typeof parseSince> | undefined;
  try {
    since = flags.since === undefined ? undefined : parseSince(flags.since);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new CliError(
      `--since: ${why}; use a cursor (from --json or Ctrl-C), an ISO 8601 ` +
        "time (2026-12-03T17:00:00Z), epoch ms, or a duration ago like 10m",
    );
  }
  if (flags.grep !== undefined) {
    if (flags.grep === "") {
      throw new CliError(
        "--grep: empty; give the text to look for, or leave --grep out",
      );
    }
    if (flags.grep.length > MAX_GREP_CHARS) {
      throw new CliError(
        `--grep: ${flags.grep.length} characters; at most ${MAX_GREP_CHARS} (search for a shorter part)`,
      );
    }
  }
  const ctx = contextOf(cmd);
  const sinceCursor = since && "cursor" in since ? since.cursor : undefined;
  const filters: Filters = {
    levels: flags.level,
    step: flags.step,
    grep: flags.grep,
  };
  const color =
    flags.color ?? (process.stdout.isTTY === true && !process.env.NO_COLOR);
  // Without -f, --tail N keeps only the last N lines printed.
  const ring =
    !flags.follow && flags.tail !== undefined ? new Ring(flags.tail) : null;
  const printer = new Printer({
    ...filters,
    json: flags.json === true,
    color,
    timestamps: flags.timestamps === true,
    write: ring ? async (t) => ring.add(t) : writeStdout,
  });
  const say = (text: string) => {
    if (!flags.quiet) note(text);
  };

  const stopper = new AbortController();
  const onSignal = () => {
    if (stopper.signal.aborted) process.exit(EXIT.interrupted);
    printer.stopped = true;
    stopper.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.stdout.on("error", quitOnBrokenPipe);
  try {
    const info = await describe(ctx.api, deployment);
    if (!info && !flags.follow) {
      throw new CliError(
        `no log for ${deployment}; check the id, or add -f to wait for its first line`,
        EXIT.refused,
      );
    }
    if (info) await history(ctx, deployment, flags, since, printer, info);
    if (stopper.signal.aborted) {
      // Stopped: the resume hint follows.
    } else if (flags.follow) {
      let reset = false;
      const end = await follow({
        url: ctx.config.url,
        token: ctx.token,
        deployment,
        position: () =>
          printer.receivedCursor ?? (reset ? undefined : sinceCursor),
        tail:
          !printer.filtered && printer.receivedSeq === 0
            ? flags.tail
            : undefined,
        signal: stopper.signal,
        onNote: say,
        onMessage: async (m) => {
          if (m.type === "lines") {
            for (const line of m.lines) await printer.accept(line);
          } else if (m.type === "reset") {
            reset = true;
            printer.reset();
            say(`the log was re-created (${m.reason}); from its first line`);
          } else if (m.type === "lagged") {
            say(`fell behind the stream (${m.message}); resuming`);
          } else if (m.type === "end") {
            await printer.flush();
          }
        },
      });
      if (end) {
        say(
          `${deployment} ended: ${end.status}` +
            (end.exit_code === undefined ? "" : ` (exit ${end.exit_code})`),
        );
      }
    } else if (info && info.last_seq > printer.receivedSeq) {
      const after = printer.receivedCursor ?? sinceCursor;
      for await (const line of exported(
        ctx.api,
        deployment,
        after,
        info.cursor,
      )) {
        if (stopper.signal.aborted) break;
        await printer.accept(line);
      }
    }
    if (!stopper.signal.aborted) await printer.flush();
  } catch (err) {
    if (!stopper.signal.aborted) {
      throw apiFailure(err, ctx.config.url, `tail ${deployment}`);
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  if (ring) await writeStdout(ring.text());
  await new Promise((r) => process.stdout.write("", r));
  if (!stopper.signal.aborted) return EXIT.ok;

  const cursor = printer.doneCursor ?? sinceCursor;
  note(
    cursor
      ? `stopped; resume with: edgetail tail ${deployment} -f --since ${cursor}`
      : "stopped before any line; run the same command to start over",
  );
  return EXIT.interrupted;
}

/** Prints what history holds; leaves the printer where live lines start. */
async function history(
  ctx: Context,
  deployment: string,
  flags: TailFlags,
  since: ReturnType<typeof parseSince> | undefined,
  printer: Printer,
  info: DeploymentInfo,
): Promise<void> {
  const filters: Filters = {
    levels: flags.level,
    step: flags.step,
    grep: flags.grep,
  };
  const print = async (lines: WireLine[]) => {
    for (const line of lines) await printer.accept(line);
  };
  const loaded = info.loaded_upto ?? 0;

  if (flags.tail === 0) {
    printer.skipTo(info.last_seq, info.cursor);
    return;
  }
  if (flags.tail !== undefined) {
    await print(await lastLines(ctx, deployment, filters, flags.tail));
  } else if (since && "time" in since) {
    await fromTime(ctx, deployment, filters, since.time, print);
  } else {
    const cursor = since && "cursor" in since ? since.cursor : undefined;
    for await (const lines of forward(ctx.api, deployment, filters, cursor)) {
      if (printer.stopped) return;
      await print(lines);
    }
  }

  // History covered every line up to `loaded`, matching or not: go on
  // from there (with a --since cursor and nothing printed, from it).
  const fromSinceCursor =
    since && "cursor" in since && printer.receivedSeq === 0;
  if (loaded > printer.receivedSeq && !fromSinceCursor) {
    const at = await page(
      ctx.api,
      deployment,
      filters,
      { from_seq: loaded, limit: 1 },
      false,
    );
    const line = at.lines[0];
    if (line) printer.skipTo(line.seq, line.cursor);
  }
}

/** The last `n` lines (that match), oldest first. */
async function lastLines(
  ctx: Context,
  deployment: string,
  filters: Filters,
  n: number,
): Promise<WireLine[]> {
  const out: WireLine[] = [];
  let cursor: string | undefined;
  while (out.length < n) {
    const p = await page(ctx.api, deployment, filters, {
      cursor,
      limit: Math.min(1000, n - out.length),
      direction: "backward",
    });
    out.push(...p.lines);
    if (!p.has_more || !p.next_cursor) break;
    cursor = p.next_cursor;
  }
  return out.reverse();
}

/**
 * Lines from the first one at or after `time`: pages backward to find it
 * (keeping them when one page holds all), then forward from it.
 */
async function fromTime(
  ctx: Context,
  deployment: string,
  filters: Filters,
  time: string,
  print: (lines: WireLine[]) => Promise<void>,
): Promise<void> {
  let cursor: string | undefined;
  let oldest: WireLine | undefined;
  for (let pages = 0; ; pages++) {
    const p = await page(ctx.api, deployment, filters, {
      cursor,
      till: time,
      limit: 1000,
      direction: "backward",
    });
    if (pages === 0 && !p.has_more) return print(p.lines.reverse());
    oldest = p.lines.at(-1) ?? oldest;
    if (!p.has_more || !p.next_cursor) break;
    cursor = p.next_cursor;
  }
  if (!oldest) return;
  await print([oldest]);
  for await (const lines of forward(
    ctx.api,
    deployment,
    filters,
    oldest.cursor,
  )) {
    await print(lines);
  }
}

/** The last `n` outputs, for --tail without -f. */
class Ring {
  private readonly items: string[] = [];
  private head = 0;
  constructor(private readonly n: number) {}
  add(text: string): void {
    if (this.n === 0) return;
    if (this.items.length < this.n) this.items.push(text);
    else {
      this.items[this.head] = text;
      this.head = (this.head + 1) % this.n;
    }
  }
  text(): string {
    return [
      ...this.items.slice(this.head),
      ...this.items.slice(0, this.head),
    ].join("");
  }
}

function writeStdout(text: string): Promise<void> {
  if (text === "" || process.stdout.write(text)) return Promise.resolve();
  return once(process.stdout, "drain").then(() => {});
}

function quitOnBrokenPipe(err: NodeJS.ErrnoException): void {
  // `edgetail tail d | head`: the reader left; nothing more to do.
  if (err.code === "EPIPE") process.exit(EXIT.ok);
  throw err;
}
