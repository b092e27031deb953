/**
 * @module `.dev.vars`, the gitignored file wrangler reads local secrets
 * from. The dev scripts keep the JWT secret there so that `npm run dev`,
 * `npm run token` and `npm run replay` agree on it without setup.
 */
import { randomBytes } from "node:crypto";
import {
  appendFileSync,
  existsSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (scripts/ sits directly under it). */
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Where wrangler looks for local secrets: next to wrangler.toml. */
export const DEV_VARS_PATH = join(REPO_ROOT, ".dev.vars");

/** Raised when no JWT secret is configured; the CLIs exit 2 on it. */
export class MissingSecretError extends Error {
  override readonly name = "MissingSecretError";
  constructor() {
    super(
      "JWT_SECRET is not set and .dev.vars has none: run `npm run dev` " +
        "once (it creates .dev.vars), or create .dev.vars with a line " +
        "JWT_SECRET=<random text>, or export JWT_SECRET",
    );
  }
}

/** Parses dotenv-style `KEY=value` lines; quotes around a value go. */
export function parseDevVars(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(
      line,
    );
    if (!match?.[1]) continue;
    let value = match[2] ?? "";
    const quoted = /^(["'])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2] ?? "";
    vars.set(match[1], value);
  }
  return vars;
}

/** Reads `.dev.vars`; an absent file reads as empty. */
export function readDevVars(path = DEV_VARS_PATH): Map<string, string> {
  if (!existsSync(path)) return new Map();
  return parseDevVars(readFileSync(path, "utf8"));
}

/**
 * The JWT secret: `JWT_SECRET` from the environment, else from
 * `.dev.vars`. Throws MissingSecretError when neither has one.
 */
export function readJwtSecret(
  env: NodeJS.ProcessEnv = process.env,
  path = DEV_VARS_PATH,
): string {
  const secret = env.JWT_SECRET || readDevVars(path).get("JWT_SECRET");
  if (!secret) throw new MissingSecretError();
  return secret;
}

/**
 * Makes sure `.dev.vars` holds a JWT_SECRET, adding a random one if not.
 * Returns the secret and whether it was just created.
 */
export function ensureDevVars(path = DEV_VARS_PATH): {
  secret: string;
  created: boolean;
} {
  const existing = readDevVars(path).get("JWT_SECRET");
  if (existing) return { secret: existing, created: false };

  const secret = randomBytes(32).toString("base64url");
  const line = `JWT_SECRET=${secret}\n`;
  if (existsSync(path)) {
    const text = readFileSync(path, "utf8");
    appendFileSync(
      path,
      text === "" || text.endsWith("\n") ? line : `\n${line}`,
    );
  } else {
    writeFileSync(path, line, { mode: 0o600 });
  }
  return { secret, created: true };
}
