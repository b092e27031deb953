/**
 * @module `edgetail run -- <command...>`: runs a command, shows its output
 * as usual, streams stdout and stderr as two streams, marks the deployment
 * complete with the command's exit status, and exits with it.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { constants } from "node:os";
import type { Readable, Writable } from "node:stream";
import type { Command } from "commander";
import type { Level } from "../../../schemas/line";
import type { CompleteStatus, TextWriter } from "../../agent";
import { createNodeAgent } from "../../agent/node";
import { EXIT } from "../errors";
import {
  agentTiming,
  contextOf,
  deploymentId,
  describeError,
  level,
  newDeploymentId,
  note,
  settle,
} from "../shared";

interface RunFlags {
  deployment?: string;
  step?: string;
  stderrLevel?: Level;
  echo: boolean;
  quiet?: boolean;
}

/** Adds `run` to the program. */
export function registerRun(program: Command): Command {
  return program
    .command("run")
    .summary("run a command and stream its output")
    .description(
      "Runs <command...>, shows its output as usual and streams stdout and\n" +
        "stderr to the deployment as two streams (stderr lines at level\n" +
        "error). Then completes the deployment (success on exit 0, failed\n" +
        "otherwise, with exit_code) and exits with the command's code.\n" +
        "Output that never ends a line (\\r progress bars) is sent as it\n" +
        "comes, as partial lines. If the API is slow or down, lines wait\n" +
        "in a temporary file; the command is never slowed down for it.",
    )
    .argument("<command...>", "the command and its arguments, after --")
    .option(
      "-d, --deployment <id>",
      "deployment id (default: a new run-... id, printed)",
      deploymentId,
    )
    .option("--step <name>", "step of every line")
    .option("--stderr-level <level>", "level of stderr lines", level, "error")
    .option("--no-echo", "do not show the command's output")
    .option("-q, --quiet", "no notes from edgetail on stderr")
    .passThroughOptions()
    .addHelpText(
      "after",
      "\nExit code: the command's own; 127 if it could not be started,\n" +
        "128+N if it was killed by signal N.\n\n" +
        "Example:\n  edgetail run -d web-42 --step test -- npm test",
    )
    .action(async (command: string[], flags: RunFlags, cmd: Command) => {
      process.exitCode = await run(command, flags, cmd);
    });
}

async function run(
  command: string[],
  flags: RunFlags,
  cmd: Command,
): Promise<number> {
  const ctx = contextOf(cmd);
  const deployment = flags.deployment ?? newDeploymentId("run");
  if (!flags.deployment && !flags.quiet) note(`deployment ${deployment}`);
  // Told once while the command runs; not repeated at the end.
  const shown = new Set<string>();
  const agent = createNodeAgent({
    url: ctx.config.url,
    token: ctx.token,
    deployment,
    ...agentTiming(),
    step: flags.step,
    exitHooks: false,
    onError: (e) => {
      const text = describeError(e, ctx.config.url);
      if (flags.quiet || shown.size > 0 || shown.has(text)) return;
      shown.add(text);
      note(text);
    },
  });
  const out = agent.text({ stream: "stdout" });
  const err = agent.text({
    stream: "stderr",
    level: flags.stderrLevel ?? "error",
  });

  const [file = "", ...args] = command;
  const child = spawn(file, args, { stdio: ["inherit", "pipe", "pipe"] });
  let canceled = false;
  const forward = (signal: NodeJS.Signals) => {
    canceled = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
    }
  };
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);

  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    error?: Error;
  }>((resolve) => {
    child.once("error", (error) =>
      resolve({ code: null, signal: null, error }),
    );
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
  const echo = flags.echo !== false;
  const pumps = Promise.all([
    pump(child.stdout, out, echo ? process.stdout : null),
    pump(child.stderr, err, echo ? process.stderr : null),
  ]);
  const result = await exited;
  await pumps;
  process.off("SIGINT", forward);
  process.off("SIGTERM", forward);
  // Closing is bounded (closeTimeoutMs); a second Ctrl-C stops waiting.
  const quit = () => process.exit(EXIT.interrupted);
  process.once("SIGINT", quit);

  let code: number;
  if (result.error) {
    const missing = "code" in result.error && result.error.code === "ENOENT";
    code = missing ? 127 : 126;
    const why = `cannot run "${file}": ${result.error.message}`;
    note(`${why}; check the command and PATH`);
    await agent.write({
      message: `edgetail: ${why}`,
      stream: "system",
      level: "error",
    });
  } else if (result.signal) {
    code = 128 + (constants.signals[result.signal] ?? 0);
  } else {
    code = result.code ?? 1;
  }
  const status: CompleteStatus = canceled
    ? "canceled"
    : code === 0
      ? "success"
      : "failed";
  const report = await agent.close({ status, exitCode: code });
  process.off("SIGINT", quit);
  const delivery = settle(report, ctx.config.url, shown);
  if (report.undelivered.count > 0) {
    // Loud, whatever --quiet says: the stored log is not the output.
    const n = report.undelivered.count;
    note(
      `LOG INCOMPLETE: ${n} line${n === 1 ? "" : "s"} of the command's ` +
        `output did not reach ${deployment}; it holds the output up to ` +
        `seq ${report.lastSeq} and was left running, not marked ` +
        `${status}. Exiting with the command's code (${code}).`,
    );
  } else if (!flags.quiet && delivery === EXIT.ok) {
    note(
      `${report.delivered} line${report.delivered === 1 ? "" : "s"} to ` +
        `${deployment}; ${status}` +
        (code === 0 ? "" : ` (exit ${code})`),
    );
  }
  return code;
}

/** Copies a child's output to the terminal and to the agent. */
async function pump(
  from: Readable,
  writer: TextWriter,
  echo: Writable | null,
): Promise<void> {
  for await (const chunk of from) {
    const bytes = chunk as Buffer;
    if (echo && !echo.write(bytes)) await once(echo, "drain");
    await writer.write(bytes);
  }
  writer.end();
}
