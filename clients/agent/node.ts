/**
 * @module The agent in Node: the core Agent with a queue that spills to a
 * temporary file instead of making writers wait, and hooks that flush on
 * process exit and on SIGINT/SIGTERM.
 */
import { constants } from "node:os";
import { Agent } from "./agent";
import { AGENT_DEFAULTS, type AgentOptions } from "./options";
import {
  type CloseReport,
  type CompleteStatus,
  describeProblems,
} from "./report";
import { SpillQueue } from "./spill";
import type { TextWriter } from "./text";

/** Options of {@link createNodeAgent}. */
export interface NodeAgentOptions extends AgentOptions {
  /**
   * Past `maxBufferedBytes` in memory, append lines to a temporary file
   * and send them from there later, instead of making writers wait.
   * `maxFileBytes` (1 GiB by default) bounds the file; past it writers
   * wait after all. Default: on.
   */
  spill?: boolean | { dir?: string; maxFileBytes?: number };
  /** Install {@link installExitHooks}. Default: on. */
  exitHooks?: boolean | ExitHookOptions;
}

/** Options of {@link installExitHooks}. */
export interface ExitHookOptions {
  /** Completes the deployment with this status on a signal. Default: no. */
  statusOnSignal?: CompleteStatus;
  /** Told the close report; by default problems go to stderr. */
  onReport?: (report: CloseReport) => void;
}

/** Default bound of the spill file. */
export const DEFAULT_MAX_SPILL_BYTES = 1024 * 1024 * 1024;

/** An Agent for Node: spills to disk and flushes at exit by default. */
export function createNodeAgent(opts: NodeAgentOptions): Agent {
  const { spill = true, exitHooks = true, ...rest } = opts;
  let queue = rest.queue;
  if (!queue && spill !== false) {
    const s = spill === true ? {} : spill;
    queue = new SpillQueue({
      memoryBytes: rest.maxBufferedBytes ?? AGENT_DEFAULTS.maxBufferedBytes,
      maxFileBytes: s.maxFileBytes ?? DEFAULT_MAX_SPILL_BYTES,
      dir: s.dir,
    });
  }
  const agent = new Agent({ ...rest, queue });
  if (exitHooks !== false) {
    installExitHooks(agent, exitHooks === true ? {} : exitHooks);
  }
  return agent;
}

/**
 * Closes the agent when the event loop runs dry (`beforeExit`) and on
 * SIGINT/SIGTERM (then exits 128 + the signal number; a second signal
 * exits at once). process.exit() cannot wait for a flush: the `exit`
 * hook then says on stderr how many lines were never sent. Returns a
 * function that removes the hooks.
 */
export function installExitHooks(
  agent: Agent,
  opts: ExitHookOptions = {},
): () => void {
  const onReport = opts.onReport ?? printProblems(agent);
  let closing = false;
  const close = async (status?: CompleteStatus): Promise<void> => {
    closing = true;
    onReport(await agent.close(status ? { status } : {}));
  };
  const beforeExit = () => {
    if (!closing) void close();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    const code = 128 + (constants.signals[signal] ?? 0);
    if (closing) process.exit(code);
    void close(opts.statusOnSignal).finally(() => process.exit(code));
  };
  const onExit = () => {
    const queued = agent.stats.queued;
    if (queued > 0 && !closing) {
      process.stderr.write(
        `edgetail agent: ${queued} lines for ${agent.options.deployment} ` +
          "were never sent: the process exited before close()\n",
      );
    }
  };
  process.on("beforeExit", beforeExit);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", onExit);
  return () => {
    process.off("beforeExit", beforeExit);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("exit", onExit);
  };
}

/**
 * Feeds a Node readable (a child's stdout, a file, stdin) to a text
 * writer, waiting whenever the agent is full; ends the writer at EOF.
 */
export async function pipeText(
  source: AsyncIterable<Uint8Array | string>,
  writer: TextWriter,
  onChunk?: (bytes: number) => void,
): Promise<void> {
  for await (const chunk of source) {
    await writer.write(chunk);
    onChunk?.(typeof chunk === "string" ? chunk.length : chunk.byteLength);
  }
  writer.end();
}

function printProblems(agent: Agent): (report: CloseReport) => void {
  return (report) => {
    for (const line of describeProblems(report)) {
      process.stderr.write(
        `edgetail agent (${agent.options.deployment}): ${line}\n`,
      );
    }
  };
}
