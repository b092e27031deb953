/**
 * @module The `edgetail` entry point: parses the command line, runs the
 * command, turns failures into one line on stderr and an exit code.
 */
import { CommanderError } from "commander";
import { AgentOptionError } from "../agent";
import { CliError, EXIT } from "./errors";
import { buildProgram } from "./program";
import { note } from "./shared";

/** Runs the CLI on `argv` (process.argv shape); resolves the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (err) {
    // commander printed its own message (or the help) already.
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliError) {
      note(err.message);
      return err.code;
    }
    if (err instanceof AgentOptionError) {
      note(err.message);
      return EXIT.config;
    }
    note(`internal error, please report it: ${String(err)}`);
    if (err instanceof Error && err.stack)
      process.stderr.write(`${err.stack}\n`);
    return EXIT.usage;
  }
}

const code = await main(process.argv);
// Let stdout drain (a pipe may be asynchronous), then leave even if a
// socket or timer is still open.
await new Promise((resolve) => process.stdout.write("", resolve));
process.exit(code);
