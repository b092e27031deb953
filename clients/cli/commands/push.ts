/**
 * @module `edgetail push <file|->`: uploads a file or stdin through the
 * agent (numbered gzip'd batches, retried without duplicates), with a
 * progress bar when stderr is a terminal.
 */
import { createReadStream, statSync } from "node:fs";
import type { Readable } from "node:stream";
import { type Command, InvalidArgumentError } from "commander";
import { AGENT_DEFAULTS } from "../../agent";
import { createNodeAgent, pipeText } from "../../agent/node";
import { CliError, EXIT } from "../errors";
import { progress } from "../progress";
import {
  agentTiming,
  contextOf,
  deploymentId,
  exitCode,
  level,
  newDeploymentId,
  note,
  STATUSES,
  settle,
  stream,
} from "../shared";

interface PushFlags {
  deployment?: string;
  step?: string;
  level?: ReturnType<typeof level>;
  stream?: ReturnType<typeof stream>;
  complete?: (typeof STATUSES)[number];
  exitCode?: number;
  quiet?: boolean;
}

/** Adds `push` to the program. */
export function registerPush(program: Command): Command {
  return program
    .command("push")
    .summary("upload a file or stdin as a deployment's log")
    .description(
      "Uploads a file (or stdin, with -) line by line, exactly as it is:\n" +
        "the export gives the same bytes back (ANSI escapes and \\r kept).",
    )
    .argument("<file>", "a file, or - for stdin")
    .option(
      "-d, --deployment <id>",
      "deployment id (default: a new push-... id, printed)",
      deploymentId,
    )
    .option("--step <name>", "step of every line")
    .option("--level <level>", "level of every line (default info)", level)
    .option(
      "--stream <stream>",
      "stream of every line (default stdout)",
      stream,
    )
    .option(
      "--complete <status>",
      `then mark the deployment complete: ${STATUSES.join(", ")}`,
      (v: string) => status(v),
    )
    .option("--exit-code <n>", "exit code to record with --complete", exitCode)
    .option("-q, --quiet", "no progress bar, no summary")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  edgetail push build.log -d web-42 --step build\n" +
        "  make 2>&1 | edgetail push - -d web-42 --complete success",
    )
    .action(async (file: string, flags: PushFlags, cmd: Command) => {
      process.exitCode = await push(file, flags, cmd);
    });
}

async function push(file: string, flags: PushFlags, cmd: Command) {
  const ctx = contextOf(cmd);
  const stdin = file === "-";
  let total = 0;
  if (!stdin) {
    try {
      total = statSync(file).size;
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new CliError(`cannot read ${file} (${why}); check the path`);
    }
  }
  const deployment = flags.deployment ?? newDeploymentId("push");
  if (!flags.deployment && !flags.quiet) note(`deployment ${deployment}`);

  let source: Readable = process.stdin;
  if (!stdin) source = createReadStream(file, { highWaterMark: 64 * 1024 });
  let retrying = false;
  // Set when reading was cut short on purpose: Ctrl-C or a refused token.
  let stopped = false;
  const agent = createNodeAgent({
    url: ctx.config.url,
    token: ctx.token,
    deployment,
    ...agentTiming(),
    step: flags.step,
    level: flags.level,
    stream: flags.stream,
    // A file waits for the agent (backpressure); nothing to spill.
    spill: false,
    exitHooks: false,
    // A file is read at once: only stdin needs partial tails sent early.
    partialIdleMs: stdin ? AGENT_DEFAULTS.partialIdleMs : 0,
    partialMaxWaitMs: stdin ? AGENT_DEFAULTS.partialMaxWaitMs : 0,
    onError: () => {
      // A batch given up: nothing more is sent, so stop reading.
      if (!agent.halted) return;
      stopped = true;
      source.destroy();
    },
    onRetry: ({ error, delayMs }) => {
      // Once per outage: the progress bar shows the rest.
      if (flags.quiet || retrying) return;
      retrying = true;
      note(`${error.code}: ${error.message}; retrying (${delayMs} ms)`);
    },
    onDelivered: () => {
      retrying = false;
    },
  });

  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(EXIT.interrupted);
    interrupted = true;
    stopped = true;
    source.destroy();
  };
  process.on("SIGINT", onSignal);
  const bar = progress(`push ${deployment}`, "bytes", total, !flags.quiet);
  let read = 0;
  try {
    await pipeText(source, agent.text(), (n) => {
      read += n;
      bar.update(read);
    });
  } catch (err) {
    // A destroyed source ends its loop with an error; only others count.
    if (!stopped) {
      bar.stop();
      await agent.close();
      const why = err instanceof Error ? err.message : String(err);
      throw new CliError(`reading ${file} failed (${why})`, EXIT.usage);
    }
  } finally {
    bar.stop();
  }

  const report = await agent.close(
    flags.complete && !interrupted
      ? { status: flags.complete, exitCode: flags.exitCode }
      : {},
  );
  process.off("SIGINT", onSignal);
  const code = settle(report, ctx.config.url);
  if (interrupted) {
    note(`interrupted after ${read} bytes; ${report.delivered} lines stored`);
    return EXIT.interrupted;
  }
  if (code === EXIT.ok && !flags.quiet) {
    note(
      `pushed ${report.delivered} lines to ${deployment} ` +
        `(last seq ${report.lastSeq})`,
    );
  }
  return code;
}

function status(value: string): (typeof STATUSES)[number] {
  const found = STATUSES.find((s) => s === value);
  if (!found) throw new InvalidArgumentError(`use ${STATUSES.join(", ")}`);
  return found;
}
