/**
 * @module `npm run dev`: the whole system locally, state under .edgetail/.
 *
 *   npm run dev                 ClickHouse :8123, API :8787 (PORT and
 *                               CLICKHOUSE_PORT override them)
 *   npm run dev -- --reset      wipe .edgetail/ first
 *   npm run reset               wipe .edgetail/ and exit (--reset-only)
 *
 * Ctrl-C (or SIGTERM) stops wrangler, then ClickHouse.
 */
import {
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CliError, isMain, run } from "./cli.ts";
import { ensureDevVars, REPO_ROOT } from "./dev-vars.ts";
import { CLICKHOUSE_DATABASE, type Stack, startStack } from "./stack.ts";

export { freePort, type Stack, startStack } from "./stack.ts";

/** All local state: ClickHouse data, wrangler's DO/R2/Queue state. */
export const STATE_DIR = join(REPO_ROOT, ".edgetail");
const PID_FILE = join(STATE_DIR, "dev.pid");

/** Deletes .edgetail/, refusing while a `npm run dev` still uses it. */
export function resetState(): void {
  const pid = runningDevPid();
  if (pid !== null) {
    throw new CliError(
      `npm run dev is running (pid ${pid}) and uses ${STATE_DIR}; ` +
        "stop it (Ctrl-C) before resetting",
    );
  }
  rmSync(STATE_DIR, { recursive: true, force: true });
}

/** The pid of a live `npm run dev`, from .edgetail/dev.pid, else null. */
function runningDevPid(): number | null {
  if (!existsSync(PID_FILE)) return null;
  const pid = Number(readFileSync(PID_FILE, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return null;
  try {
    // Signal 0 only checks that the process exists.
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new CliError(`${name}=${raw} is not a port (1-65535)`, 2);
  }
  return port;
}

function banner(stack: Stack, secretCreated: boolean): string {
  const corpus = "../shared/corpus/logs/gitlab-runner__log-1.log";
  const lines = [
    "",
    "edgetail is running",
    `  API         ${stack.url}  (try ${stack.url}/healthz)`,
    `  ClickHouse  ${stack.clickhouseUrl}  (database ${CLICKHOUSE_DATABASE})`,
    "  State       .edgetail/  (npm run reset wipes it)",
    `  Secret      .dev.vars${secretCreated ? "  (created now)" : ""}`,
    "",
    "  Token   npm run -s token -- --tenant dev --deployment my-deploy",
    `  Replay  npm run replay -- ${corpus}`,
    "          (prints the viewer link and curl/WebSocket commands)",
    `  Viewer  ${stack.url}/d/<deployment>#token=<token>`,
    "  Stop    Ctrl-C",
    "",
  ];
  return lines.join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      reset: { type: "boolean", default: false },
      "reset-only": { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.reset || values["reset-only"]) {
    resetState();
    console.log(`removed ${STATE_DIR}`);
    if (values["reset-only"]) return;
  }
  const port = portFromEnv("PORT", 8787);
  const clickhousePort = portFromEnv("CLICKHOUSE_PORT", 8123);
  const pid = runningDevPid();
  if (pid !== null) {
    throw new CliError(`npm run dev is already running (pid ${pid})`);
  }
  const { created } = ensureDevVars();

  mkdirSync(STATE_DIR, { recursive: true });
  const stack = await startStack({
    port,
    clickhousePort,
    persistDir: STATE_DIR,
    output: (source, line) => {
      console.log(
        `${source === "wrangler" ? "wrangler  " : "clickhouse"} │ ${line}`,
      );
    },
  });
  writeFileSync(PID_FILE, `${process.pid}\n`);
  console.log(banner(stack, created));

  let stopping = false;
  const stop = (reason: string, code: number) => {
    if (stopping) {
      // A second Ctrl-C: do not wait for a stuck child any longer.
      process.exit(1);
    }
    stopping = true;
    console.log(`\nstopping (${reason})…`);
    stack.stop().then(
      () => {
        rmSync(PID_FILE, { force: true });
        console.log("stopped");
        process.exit(code);
      },
      (err: unknown) => {
        console.error("stop failed:", err);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT", 0));
  process.on("SIGTERM", () => stop("SIGTERM", 0));
  process.on("exit", () => {
    if (runningDevPid() === null && existsSync(PID_FILE)) unlinkSync(PID_FILE);
  });
  void stack.exited.then((code) => {
    if (!stopping) stop(`wrangler exited with code ${code}`, 1);
  });
}

if (isMain(import.meta.url)) run("dev", main);
