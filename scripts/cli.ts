/**
 * @module Small pieces the dev CLIs share: "am I the entry point", and
 * failing with a message and an exit code instead of a stack trace.
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** A failure the CLI reports as one line on stderr, then exits `code`. */
export class CliError extends Error {
  override readonly name: string = "CliError";
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}

/** True when the module at `url` is the script node was started with. */
export function isMain(url: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(url));
  } catch {
    return false;
  }
}

/**
 * Runs a CLI's main function: a CliError (or a usage error from
 * parseArgs) prints `name: message` and exits with its code; anything
 * else is a bug and keeps its stack.
 */
export function run(name: string, main: () => Promise<void>): void {
  main().then(
    () => {},
    (err: unknown) => {
      if (err instanceof CliError) {
        console.error(`${name}: ${err.message}`);
        process.exitCode = err.code;
      } else if (isUsageError(err)) {
        console.error(`${name}: ${err.message}`);
        process.exitCode = 2;
      } else {
        console.error(err);
        process.exitCode = 1;
      }
    },
  );
}

function isUsageError(err: unknown): err is Error {
  if (!(err instanceof TypeError) || !("code" in err)) return false;
  return typeof err.code === "string" && err.code.startsWith("ERR_PARSE_ARGS");
}

/** Parses a positive integer option, naming the option when it is not. */
export function positiveInt(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new CliError(`--${name} must be a positive integer, got ${value}`, 2);
  }
  return n;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
