/**
 * @module `npm run token`: mints an access token for the local API.
 *
 *   npm run token -- --tenant dev --deployment my-deploy \
 *     [--deployment other | --deployment '*'] \
 *     [--scope logs:write,logs:read] [--ttl 3600]
 *
 * Prints the token alone on stdout, so `TOKEN=$(npm run -s token -- ...)`
 * works. The secret is JWT_SECRET from the environment, else `.dev.vars`.
 */
import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import { SCOPES, type Scope } from "../schemas/auth.ts";
import { ID_PATTERN } from "../schemas/limits.ts";
import { CliError, isMain, positiveInt, run } from "./cli.ts";
import { MissingSecretError, readJwtSecret } from "./dev-vars.ts";

/** The audience the Worker expects (wrangler.toml JWT_AUDIENCE). */
export const AUDIENCE = "edgetail";

/** Default token lifetime in seconds: long enough to watch a replay. */
export const DEFAULT_TTL_SECONDS = 600;

/** What a token grants. */
export interface TokenOptions {
  /** HS256 key; the Worker's JWT_SECRET. */
  secret: string;
  tenant: string;
  /** Deployment ids, or `*` for all of the tenant's. */
  deployments: string[] | "*";
  /** Defaults to both scopes. */
  scopes?: readonly Scope[];
  /** Lifetime in seconds; DEFAULT_TTL_SECONDS if absent. */
  ttlSeconds?: number;
  /** Defaults to AUDIENCE. */
  audience?: string;
}

/** Signs an HS256 JWT with the claims the Worker checks. */
export async function signToken(opts: TokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    tenant: opts.tenant,
    scope: (opts.scopes ?? SCOPES).join(" "),
    deployments: opts.deployments,
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setAudience(opts.audience ?? AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + (opts.ttlSeconds ?? DEFAULT_TTL_SECONDS))
    .sign(new TextEncoder().encode(opts.secret));
}

/** Parses `logs:write,logs:read` (commas or spaces) into known scopes. */
export function parseScopes(text: string): Scope[] {
  const out: Scope[] = [];
  for (const word of text.split(/[\s,]+/).filter(Boolean)) {
    const scope = SCOPES.find((s) => s === word);
    if (!scope) {
      throw new CliError(
        `--scope: unknown scope "${word}"; use ${SCOPES.join(", ")}`,
        2,
      );
    }
    if (!out.includes(scope)) out.push(scope);
  }
  if (out.length === 0) throw new CliError("--scope is empty", 2);
  return out;
}

function parseDeployments(values: string[]): string[] | "*" {
  if (values.length === 0) {
    throw new CliError(
      "--deployment is required (an id, repeatable, or '*' for all)",
      2,
    );
  }
  if (values.includes("*")) {
    if (values.length > 1) {
      throw new CliError("--deployment '*' cannot be combined with ids", 2);
    }
    return "*";
  }
  for (const id of values) {
    if (!ID_PATTERN.test(id)) {
      throw new CliError(
        `--deployment "${id}" is not a valid id ([A-Za-z0-9._-], 1-128, ` +
          "starting alphanumeric)",
        2,
      );
    }
  }
  return [...new Set(values)];
}

const USAGE = `usage: npm run token -- [options]

Prints a signed access token (HS256, key from JWT_SECRET or .dev.vars),
alone on stdout.

  --tenant T          tenant (default dev)
  --deployment D      a deployment the token grants; repeat, or * for all
                      (default *)
  --scope S           logs:write,logs:read or one of them (default both)
  --ttl SECONDS       lifetime (default ${DEFAULT_TTL_SECONDS})
  --help              this text
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      help: { type: "boolean", default: false },
      tenant: { type: "string", default: "dev" },
      deployment: { type: "string", multiple: true, default: [] },
      scope: { type: "string", default: SCOPES.join(",") },
      ttl: { type: "string", default: String(DEFAULT_TTL_SECONDS) },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (!ID_PATTERN.test(values.tenant)) {
    throw new CliError(`--tenant "${values.tenant}" is not a valid id`, 2);
  }
  const deployments = parseDeployments(values.deployment);
  const scopes = parseScopes(values.scope);
  const ttlSeconds = positiveInt("ttl", values.ttl);

  let secret: string;
  try {
    secret = readJwtSecret();
  } catch (err) {
    if (err instanceof MissingSecretError) throw new CliError(err.message, 2);
    throw err;
  }
  const token = await signToken({
    secret,
    tenant: values.tenant,
    deployments,
    scopes,
    ttlSeconds,
  });
  process.stdout.write(`${token}\n`);
}

if (isMain(import.meta.url)) run("token", main);
