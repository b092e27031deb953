/**
 * @module The one logger: a JSON object per line with a `domain.action`
 * event name. Workers Logs and `wrangler tail` index these fields.
 */

export type LogFields = Record<string, unknown>;

/** Writes one structured log line. */
export function log(
  level: "info" | "warn" | "error",
  event: string,
  fields: LogFields = {},
): void {
  const line = JSON.stringify({ level, event, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/** The message of an unknown thrown value, for logs only. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
