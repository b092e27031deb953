/**
 * @module The `edgetail` command line: commands, shared API options, and
 * the help text with the exit codes.
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { registerExport } from "./commands/export";
import { registerPush } from "./commands/push";
import { registerRun } from "./commands/run";
import { registerTail } from "./commands/tail";
import { registerToken } from "./commands/token";
import { DEFAULT_URL } from "./config";

const EXIT_CODES = `
Configuration: flags, then EDGETAIL_URL and EDGETAIL_TOKEN, then the JSON
file at --config, EDGETAIL_CONFIG or ~/.config/edgetail/config.json
({"url": "...", "token": "..."}); the URL defaults to ${DEFAULT_URL}.

Exit codes:
  0    done
  1    usage: bad flags or arguments, unreadable file (or an internal error)
  2    configuration or credentials: no token, bad URL, 401, 403
  3    the API is unreachable or failing, or lines were not delivered
  4    the API refused the request (unknown deployment, bad cursor, ...)
  130  interrupted (Ctrl-C); tail prints the cursor to resume from
  run  exits with the command's own code (127: could not start it)`;

/** Builds the program; commander throws instead of exiting. */
export function buildProgram(): Command {
  const program = new Command("edgetail")
    .description("Stream deployment logs to edgetail, and read them back.")
    .version(version(), "-V, --version")
    .exitOverride()
    .enablePositionalOptions()
    .showHelpAfterError("(add --help for usage)")
    .addHelpText("after", EXIT_CODES);
  for (const register of [
    registerRun,
    registerPush,
    registerTail,
    registerExport,
  ]) {
    apiOptions(register(program));
  }
  registerToken(program);
  return program;
}

function apiOptions(cmd: Command): void {
  cmd
    .option("--url <url>", `API origin (EDGETAIL_URL; default ${DEFAULT_URL})`)
    .option("--token <jwt>", "access token (EDGETAIL_TOKEN)")
    .option(
      "--config <file>",
      "config file (EDGETAIL_CONFIG; default ~/.config/edgetail/config.json)",
    );
}

function version(): string {
  try {
    const pkg = readFileSync(
      new URL("../../package.json", import.meta.url),
      "utf8",
    );
    return String(
      (JSON.parse(pkg) as { version?: unknown }).version ?? "0.0.0",
    );
  } catch {
    return "0.0.0";
  }
}
