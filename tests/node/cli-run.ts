/**
 * Running the `edgetail` bin (clients/cli/bin.mjs) as a child process the
 * way a user would, and reading a deployment back through the API.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

/** The checkout, the bin, and the real CI logs. */
export const REPO = join(import.meta.dirname, "../..");
export const BIN = join(REPO, "clients/cli/bin.mjs");
export const CORPUS = join(import.meta.dirname, "../../../shared/corpus/logs");

/** A finished CLI run. */
export interface CliResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** A CLI child with its output collected as it comes. */
export interface CliChild {
  child: ChildProcess;
  stdout: () => Buffer;
  stderr: () => string;
  done: Promise<CliResult>;
}

/** Starts `edgetail ...args` against `url` with `token`. */
export function startCli(
  args: string[],
  opts: { url: string; token: string; stdin?: Buffer; env?: NodeJS.ProcessEnv },
): CliChild {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO,
    env: {
      ...process.env,
      EDGETAIL_URL: opts.url,
      EDGETAIL_TOKEN: opts.token,
      // No user config file leaks into the tests.
      EDGETAIL_CONFIG: "",
      XDG_CONFIG_HOME: join(REPO, "node_modules", ".cache", "no-config"),
      ...opts.env,
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const out: Buffer[] = [];
  let err = "";
  child.stdout?.on("data", (c: Buffer) => out.push(c));
  child.stderr?.on("data", (c: Buffer) => {
    err += c.toString("utf8");
  });
  if (opts.stdin) child.stdin?.end(opts.stdin);
  else child.stdin?.end();
  const done = new Promise<CliResult>((resolve) => {
    child.on("close", (code) =>
      resolve({ code, stdout: Buffer.concat(out), stderr: err }),
    );
  });
  return {
    child,
    stdout: () => Buffer.concat(out),
    stderr: () => err,
    done,
  };
}

/** Runs `edgetail ...args` to the end. */
export function cli(
  args: string[],
  opts: { url: string; token: string; stdin?: Buffer; env?: NodeJS.ProcessEnv },
): Promise<CliResult> {
  return startCli(args, opts).done;
}

/** A line as the export's NDJSON gives it. */
export interface ExportedLine {
  seq: number;
  message: string;
  stream: string;
  level: string;
  step: string;
  partial?: true;
  cursor: string;
}

/** GETs a deployment path with the token; throws on a non-2xx. */
export async function api(
  url: string,
  token: string,
  path: string,
): Promise<Response> {
  const res = await fetch(`${url}/v1/deployments/${path}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res;
}

/** The text export, as bytes. */
export async function exportBytes(
  url: string,
  token: string,
  id: string,
): Promise<Buffer> {
  const res = await api(url, token, `${id}/export`);
  return Buffer.from(await res.arrayBuffer());
}

/** The NDJSON export, as line objects. */
export async function exportLines(
  url: string,
  token: string,
  id: string,
): Promise<ExportedLine[]> {
  const res = await api(url, token, `${id}/export?format=ndjson`);
  return (await res.text())
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ExportedLine);
}

/** Resolves once `check` is true, polling; throws after `ms`. */
export async function until(
  check: () => boolean,
  what: string,
  ms = 60_000,
): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
