/**
 * @module Pieces the commands share: option parsers that name the flag
 * at fault, the API context of a command, deployment ids, stderr notes,
 * and the exit code of an agent's close report.
 */
import { randomBytes } from "node:crypto";
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { ID_PATTERN } from "../../schemas/limits";
import type { Level, Stream } from "../../schemas/line";
import type { CloseReport } from "../agent";
import { describeProblems } from "../agent";
import type { ReportedError } from "../agent/errors";
import { Transport } from "../agent/transport";
import { type CliConfig, loadConfig, requireToken } from "./config";
import { CliError, EXIT, exitCodeOf, explain } from "./errors";

/** Level names the API takes. */
export const LEVEL_NAMES = ["trace", "debug", "info", "warn", "error", "fatal"];
const STREAM_NAMES = ["stdout", "stderr", "system"];
/** How a deployment can end. */
export const STATUSES = ["success", "failed", "canceled"] as const;

/** A command's configuration, token and API client. */
export interface Context {
  config: CliConfig;
  token: string;
  api: Transport;
}

/** Resolves the global flags of `cmd` into an API context. */
export function contextOf(cmd: Command): Context {
  const config = loadConfig(cmd.optsWithGlobals());
  const token = requireToken(config);
  return { config, token, api: transportFor(config, token) };
}

/** The API client the read-side commands use. */
export function transportFor(config: CliConfig, token: string): Transport {
  return new Transport({
    url: config.url,
    token,
    // A few seconds of retries: enough for a restart, short enough that
    // a wrong URL is reported quickly.
    retries: 5,
    retryBaseMs: 250,
    retryMaxMs: 2_000,
    requestTimeoutMs: 60_000,
  });
}

/**
 * Agent timing from the environment, for tests and impatient CI jobs:
 * `EDGETAIL_RETRY_MAX_MS` (longest wait between attempts, 30 s) and
 * `EDGETAIL_CLOSE_TIMEOUT_MS` (how long the end may wait for the API).
 */
export function agentTiming(env: NodeJS.ProcessEnv = process.env): {
  retryBaseMs?: number;
  retryMaxMs?: number;
  closeTimeoutMs?: number;
} {
  const read = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === "") return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) {
      throw new CliError(
        `${name}="${raw}" is not a positive number of milliseconds; fix or unset it`,
        EXIT.config,
      );
    }
    return n;
  };
  const out: ReturnType<typeof agentTiming> = {};
  const max = read("EDGETAIL_RETRY_MAX_MS");
  if (max !== undefined) {
    out.retryMaxMs = max;
    out.retryBaseMs = Math.min(250, max);
  }
  const close = read("EDGETAIL_CLOSE_TIMEOUT_MS");
  if (close !== undefined) out.closeTimeoutMs = close;
  return out;
}

/** A fresh deployment id: `run-20261203-171502-3fa9`. */
export function newDeploymentId(prefix: string): string {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace("T", "-")
    .slice(0, 15);
  return `${prefix}-${stamp}-${randomBytes(2).toString("hex")}`;
}

/** commander parser of a deployment id. */
export function deploymentId(value: string): string {
  if (!ID_PATTERN.test(value)) {
    throw new InvalidArgumentError(
      "a deployment id is 1-128 of [A-Za-z0-9._-], starting alphanumeric",
    );
  }
  return value;
}

/** commander parser of a level name. */
export function level(value: string): Level {
  const v = value.toLowerCase();
  const alias = v === "warning" ? "warn" : v === "err" ? "error" : v;
  if (!LEVEL_NAMES.includes(alias)) {
    throw new InvalidArgumentError(`use one of ${LEVEL_NAMES.join(", ")}`);
  }
  return alias as Level;
}

/** commander parser of a comma-separated list of levels. */
export function levels(value: string): Level[] {
  return value.split(",").filter(Boolean).map(level);
}

/** commander parser of a stream name. */
export function stream(value: string): Stream {
  if (!STREAM_NAMES.includes(value)) {
    throw new InvalidArgumentError(`use one of ${STREAM_NAMES.join(", ")}`);
  }
  return value as Stream;
}

/** commander parser of a non-negative integer. */
export function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new InvalidArgumentError("must be a whole number, 0 or more");
  }
  return n;
}

/** commander parser of an exit code, -255 to 255 as the API takes. */
export function exitCode(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < -255 || n > 255) {
    throw new InvalidArgumentError("must be a whole number from -255 to 255");
  }
  return n;
}

/** Writes `edgetail: text` on stderr. */
export function note(text: string): void {
  process.stderr.write(`edgetail: ${text}\n`);
}

/** One line for an agent's error: what happened, and the fix. */
export function describeError(e: ReportedError, url: string): string {
  const text = explain(e, url);
  return e.status && !text.startsWith("HTTP")
    ? `HTTP ${e.status} ${text}`
    : text;
}

/**
 * Prints what a close report says went wrong; returns the exit code it
 * calls for (0 when everything was delivered and completed).
 */
export function settle(
  report: CloseReport,
  url: string,
  shown: ReadonlySet<string> = new Set(),
): number {
  const problems = describeProblems(report, (e) => describeError(e, url));
  for (const line of problems) if (!shown.has(line)) note(line);
  if (problems.length === 0) return EXIT.ok;
  const first = report.errors.find(
    (e) => e.code !== "aborted" && e.code !== "not_completed",
  );
  return first ? exitCodeOf(first) : EXIT.server;
}
