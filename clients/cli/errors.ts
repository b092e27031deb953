/**
 * @module The CLI's exit codes and its one error type: a failure is one
 * line on stderr that names the problem and the fix, then an exit code a
 * script can switch on.
 */
import {
  AgentError,
  type ReportedError,
  retryableStatus,
} from "../agent/errors";

/** Exit codes, as documented in the README. */
export const EXIT = {
  ok: 0,
  /** Bad flags or arguments. */
  usage: 1,
  /** Configuration or credentials: no URL or token, 401, 403. */
  config: 2,
  /** The API is unreachable or failing (network, 5xx, retries spent). */
  server: 3,
  /** The API refused the request (another 4xx: not found, bad cursor...). */
  refused: 4,
  /** Stopped by SIGINT (128 + 2). */
  interrupted: 130,
} as const;

/** A failure reported as `edgetail: message`, exiting with `code`. */
export class CliError extends Error {
  override readonly name = "CliError";

  constructor(
    message: string,
    readonly code: number = EXIT.usage,
  ) {
    super(message);
  }
}

/** The CliError for an API failure, with a hint at the fix. */
export function apiFailure(err: unknown, url: string, doing: string): CliError {
  if (err instanceof CliError) return err;
  if (!(err instanceof AgentError)) {
    const message = err instanceof Error ? err.message : String(err);
    return new CliError(`${doing}: ${message}`, EXIT.server);
  }
  return new CliError(`${doing}: ${explain(err, url)}`, exitCodeOf(err));
}

/** The exit code an AgentError maps to. */
export function exitCodeOf(err: AgentError | ReportedError): number {
  const status = err.status;
  if (status === 401 || status === 403) return EXIT.config;
  if (status === undefined || retryableStatus(status)) return EXIT.server;
  return EXIT.refused;
}

/** What went wrong and how to fix it, for one AgentError. */
export function explain(err: AgentError | ReportedError, url: string): string {
  const what = `${err.code}: ${err.message}`;
  switch (err.code) {
    case "network_error":
      return (
        `cannot reach ${url} (${err.message}); is the API running ` +
        "(npm run dev)? Set --url or EDGETAIL_URL to where it is"
      );
    case "token_missing":
    case "token_invalid":
    case "token_expired":
      return (
        `${what}; pass a valid token with --token or EDGETAIL_TOKEN ` +
        "(locally: export EDGETAIL_TOKEN=$(npx edgetail token))"
      );
    case "forbidden_scope":
    case "forbidden_deployment":
      return (
        `${what}; use a token minted for it ` +
        "(edgetail token --deployment ID --scope logs:read,logs:write)"
      );
    case "deployment_not_found":
      return `${what}; check the deployment id (nothing was ever written to it)`;
    case "deployment_completed":
      return `${what}; completed logs take no more lines: use a new deployment id`;
    default:
      return err.status ? `HTTP ${err.status} ${what}` : what;
  }
}
