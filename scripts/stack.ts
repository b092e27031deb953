/**
 * @module The whole system on one machine: the ClickHouse dev server (chDB,
 * in this process), the migrations, and `wrangler dev` (the Worker, the
 * Queue consumer, the Deployment object and R2, in workerd) as a child
 * process. `npm run dev` and `npm run bench` both start it from here.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { CliError, sleep } from "./cli.ts";
import {
  type ClickHouseDevServer,
  startClickHouseDevServer,
} from "./clickhouse-dev/server.ts";
import { ensureDevVars, REPO_ROOT } from "./dev-vars.ts";
import { applyMigrations } from "./migrate.ts";

/** The ClickHouse database the Worker reads (wrangler.toml). */
export const CLICKHOUSE_DATABASE = "edgetail";

const HOST = "127.0.0.1";
const WRANGLER = join(REPO_ROOT, "node_modules", ".bin", "wrangler");
/** wrangler dev bundles and boots workerd; a cold start takes ~10 s. */
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 10_000;
const OUTPUT_TAIL_LINES = 40;

/** Where output of the stack goes, one line at a time. */
export type StackOutput = (
  source: "wrangler" | "clickhouse",
  line: string,
) => void;

/** Options of {@link startStack}. */
export interface StackOptions {
  /** API port on 127.0.0.1. */
  port: number;
  /** ClickHouse dev server port on 127.0.0.1. */
  clickhousePort: number;
  /** Local state: `clickhouse/` and `wrangler/` go under it. */
  persistDir: string;
  /** workerd's inspector; wrangler picks one when absent. */
  inspectorPort?: number;
  /** Extra Worker vars (`--var NAME:value`), e.g. tunables. */
  vars?: Record<string, string>;
  /** Receives wrangler's output and failed ClickHouse queries. */
  output?: StackOutput;
  /** Passed to `wrangler dev --log-level`. */
  logLevel?: "debug" | "info" | "log" | "warn" | "error" | "none";
}

/** A running stack. */
export interface Stack {
  /** Base URL of the API, e.g. http://127.0.0.1:8787. */
  url: string;
  clickhouseUrl: string;
  /** Resolves when wrangler exits by itself (a crash, or a signal). */
  exited: Promise<number | null>;
  /** Stops wrangler, then ClickHouse. Safe to call twice. */
  stop(): Promise<void>;
}

/** Raised when a port the stack needs is taken. */
export class PortInUseError extends CliError {
  override readonly name = "PortInUseError";
}

/**
 * Starts ClickHouse, applies the migrations, starts `wrangler dev` and
 * resolves once the API answers /healthz. On failure everything started
 * so far is stopped again.
 */
export async function startStack(opts: StackOptions): Promise<Stack> {
  await assertPortFree(opts.port, "the API", "PORT");
  await assertPortFree(opts.clickhousePort, "ClickHouse", "CLICKHOUSE_PORT");
  ensureDevVars();
  const output = opts.output ?? (() => {});

  const clickhouse = await startClickHouseDevServer({
    host: HOST,
    port: opts.clickhousePort,
    dataDir: join(opts.persistDir, "clickhouse"),
    log: (event, fields) => {
      const failed = typeof fields.status === "number" && fields.status >= 400;
      if (failed || event !== "clickhouse.query") {
        output("clickhouse", JSON.stringify({ event, ...fields }));
      }
    },
  });
  let wrangler: Wrangler | undefined;
  try {
    await applyMigrations({
      url: clickhouse.url,
      database: CLICKHOUSE_DATABASE,
    });
    wrangler = startWrangler(opts, clickhouse.url, output);
    const url = `http://${HOST}:${opts.port}`;
    await waitForHealth(url, wrangler);
    return stackOf(url, clickhouse, wrangler);
  } catch (err) {
    await wrangler?.stop();
    await clickhouse.close();
    throw err;
  }
}

/** A port the OS has free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("no port from the OS"));
      });
    });
  });
}

/** Throws PortInUseError, naming the env var to change, if `port` is taken. */
export function assertPortFree(
  port: number,
  what: string,
  envName: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EADDRINUSE" && err.code !== "EACCES") {
        reject(err);
        return;
      }
      reject(
        new PortInUseError(
          `port ${port} on ${HOST} (for ${what}) is ${
            err.code === "EACCES" ? "not allowed" : "already in use"
          }: is another \`npm run dev\` running? Stop it, or pick another ` +
            `port with ${envName}=<port>`,
        ),
      );
    });
    server.listen(port, HOST, () => server.close(() => resolve()));
  });
}

interface Wrangler {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** The last lines it printed, for error messages. */
  tail: string[];
  stop(): Promise<void>;
}

function startWrangler(
  opts: StackOptions,
  clickhouseUrl: string,
  output: StackOutput,
): Wrangler {
  const persist = join(opts.persistDir, "wrangler");
  mkdirSync(persist, { recursive: true });
  const args = [
    "dev",
    "--ip",
    HOST,
    "--port",
    String(opts.port),
    "--persist-to",
    persist,
    "--var",
    `CLICKHOUSE_URL:${clickhouseUrl}`,
    "--show-interactive-dev-session=false",
  ];
  for (const [name, value] of Object.entries(opts.vars ?? {})) {
    args.push("--var", `${name}:${value}`);
  }
  if (opts.inspectorPort) {
    args.push("--inspector-port", String(opts.inspectorPort));
  }
  if (opts.logLevel) args.push("--log-level", opts.logLevel);

  const child = spawn(WRANGLER, args, {
    cwd: REPO_ROOT,
    env: {
      // Local only: no metrics, and no fetch of the `Request.cf` fixture
      // from workers.cloudflare.com (it warns twice when offline).
      WRANGLER_SEND_METRICS: "false",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      ...process.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const tail: string[] = [];
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
    output("wrangler", line);
  };
  if (child.stdout) forEachLine(child.stdout, onLine);
  if (child.stderr) forEachLine(child.stderr, onLine);

  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code, signal) => resolve(signal ? null : code));
    child.once("error", (err) => {
      onLine(`could not start ${WRANGLER}: ${err.message}`);
      resolve(127);
    });
  });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    })();
    return stopping;
  };
  return { child, exited, tail, stop };
}

function forEachLine(
  stream: NodeJS.ReadableStream,
  onLine: (line: string) => void,
): void {
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const lines = (rest + chunk).split(/\r?\n/);
    rest = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  });
  stream.on("end", () => {
    if (rest) onLine(rest);
  });
}

async function waitForHealth(url: string, wrangler: Wrangler): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exitCode: number | null | undefined;
  void wrangler.exited.then((code) => {
    exitCode = code;
  });
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new CliError(
        `wrangler dev exited (code ${exitCode}) before the API answered:\n` +
          explain(wrangler.tail),
      );
    }
    try {
      const res = await fetch(`${url}/healthz`, {
        signal: AbortSignal.timeout(2_000),
      });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(250);
  }
  throw new CliError(
    `the API did not answer ${url}/healthz within ` +
      `${READY_TIMEOUT_MS / 1000} s; wrangler said:\n${explain(wrangler.tail)}`,
  );
}

function explain(tail: string[]): string {
  const text = tail.join("\n");
  if (/EADDRINUSE|address already in use/i.test(text)) {
    return `${text}\n(a port wrangler needs is taken: set PORT=<port>, or stop the other process)`;
  }
  return text;
}

function stackOf(
  url: string,
  clickhouse: ClickHouseDevServer,
  wrangler: Wrangler,
): Stack {
  let stopping: Promise<void> | undefined;
  return {
    url,
    clickhouseUrl: clickhouse.url,
    exited: wrangler.exited,
    stop() {
      stopping ??= (async () => {
        await wrangler.stop();
        await clickhouse.close();
      })();
      return stopping;
    },
  };
}
