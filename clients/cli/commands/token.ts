/**
 * @module `edgetail token`: mints an access token for a local API, signed
 * with JWT_SECRET from the environment or from `.dev.vars` (which
 * `npm run dev` creates). For development only: production tokens come
 * from whoever holds the real secret.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Command, InvalidArgumentError, Option } from "commander";
import { SignJWT } from "jose";
import { ID_PATTERN } from "../../../schemas/limits";
import { CliError, EXIT } from "../errors";

const SCOPES = ["logs:write", "logs:read"];
/** The audience the Worker checks by default (JWT_AUDIENCE). */
const AUDIENCE = "edgetail";

interface TokenFlags {
  tenant: string;
  deployment: string[];
  scope: string[];
  ttl: number;
  devVars?: string;
  audience: string;
}

/** Adds `token` to the program. */
export function registerToken(program: Command): Command {
  return program
    .command("token")
    .summary("mint a token for a local API (development)")
    .description(
      "Prints an HS256 access token signed with JWT_SECRET (from the\n" +
        "environment, else from .dev.vars in the current directory or the\n" +
        "edgetail checkout), alone on stdout:\n" +
        "  export EDGETAIL_TOKEN=$(npx edgetail token)",
    )
    .option("--tenant <id>", "tenant", tenantId, "dev")
    .addOption(
      new Option(
        "-d, --deployment <id>",
        "a deployment the token may touch (repeatable); * for all",
      )
        .argParser((v: string, all: string[]) => [...all, deployment(v)])
        .default([] as string[], "*, all"),
    )
    .addOption(
      new Option(
        "--scope <scopes>",
        "logs:write, logs:read or both, comma-separated",
      )
        .argParser(scopes)
        .default(SCOPES, SCOPES.join(",")),
    )
    .option("--ttl <seconds>", "lifetime in seconds", seconds, 3600)
    .option("--dev-vars <file>", "read JWT_SECRET from this file")
    .option("--audience <aud>", "the aud claim", AUDIENCE)
    .action(async (flags: TokenFlags) => {
      const secret = readSecret(flags.devVars);
      const now = Math.floor(Date.now() / 1000);
      const deployments =
        flags.deployment.length === 0 || flags.deployment.includes("*")
          ? "*"
          : [...new Set(flags.deployment)];
      const token = await new SignJWT({
        tenant: flags.tenant,
        scope: flags.scope.join(" "),
        deployments,
      })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setAudience(flags.audience)
        .setIssuedAt(now)
        .setExpirationTime(now + flags.ttl)
        .sign(new TextEncoder().encode(secret));
      process.stdout.write(`${token}\n`);
    });
}

/** JWT_SECRET from the environment, else from a .dev.vars file. */
function readSecret(file: string | undefined): string {
  if (process.env.JWT_SECRET) return process.env.JWT_SECRET;
  const here = fileURLToPath(new URL(".", import.meta.url));
  const candidates = file
    ? [resolve(file)]
    : [resolve(".dev.vars"), join(here, "..", "..", "..", ".dev.vars")];
  for (const path of candidates) {
    if (!existsSync(path)) {
      if (file) {
        throw new CliError(`--dev-vars: ${path} does not exist`, EXIT.config);
      }
      continue;
    }
    const secret = parseDotenv(readFileSync(path, "utf8")).get("JWT_SECRET");
    if (secret) return secret;
  }
  throw new CliError(
    "no JWT_SECRET: export it, or run `npm run dev` once in the edgetail " +
      "checkout (it writes .dev.vars), or pass --dev-vars FILE",
    EXIT.config,
  );
}

/** `KEY=value` lines; `export`, comments and quotes as dotenv has them. */
function parseDotenv(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_]\w*)\s*=\s*(.*?)\s*$/.exec(raw);
    if (!m?.[1] || raw.trim().startsWith("#")) continue;
    const value = m[2] ?? "";
    const quoted = /^(["'])(.*)\1$/.exec(value);
    vars.set(m[1], quoted ? (quoted[2] ?? "") : value);
  }
  return vars;
}

function tenantId(value: string): string {
  if (!ID_PATTERN.test(value)) {
    throw new InvalidArgumentError(
      "1-128 of [A-Za-z0-9._-], starting alphanumeric",
    );
  }
  return value;
}

function deployment(value: string): string {
  if (value === "*") return value;
  return tenantId(value);
}

function scopes(value: string): string[] {
  const out = value.split(/[\s,]+/).filter(Boolean);
  for (const s of out) {
    if (!SCOPES.includes(s)) {
      throw new InvalidArgumentError(
        `unknown scope "${s}"; use ${SCOPES.join(", ")}`,
      );
    }
  }
  if (out.length === 0) throw new InvalidArgumentError("no scope given");
  return [...new Set(out)];
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new InvalidArgumentError("a whole number of seconds, above 0");
  }
  return n;
}
