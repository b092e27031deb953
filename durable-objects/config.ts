/**
 * @module Tunables of the Deployment object, read from the Worker's vars.
 * Each is checked once when the object is built; a bad value names the
 * variable and how to fix it.
 */

export interface DeploymentConfig {
  /** Lines kept in SQLite after they were sealed to R2. */
  hotTailLines: number;
  /** Lines per sealed R2 chunk. */
  chunkLines: number;
  /** Seal a partial chunk after this long without new lines. */
  sealIdleMs: number;
  /** Sustained ingest rate per deployment, lines per second. */
  rateLinesPerSecond: number;
  /** Burst allowance of the rate limit, in lines. */
  rateBurstLines: number;
  /** Heartbeat period on idle live streams. */
  heartbeatMs: number;
  /** Bytes a WebSocket viewer may have unacknowledged before it lags. */
  viewerWindowBytes: number;
  /** Logs are deleted this long after the deployment was created. */
  retentionMs: number;
  /**
   * Re-send lines to the Queue when ClickHouse loading made no progress
   * for this long (lost or dead-lettered messages).
   */
  reloadAfterMs: number;
}

const DEFAULTS: Record<string, [key: keyof DeploymentConfig, value: number]> = {
  HOT_TAIL_LINES: ["hotTailLines", 20_000],
  CHUNK_LINES: ["chunkLines", 5_000],
  SEAL_IDLE_MS: ["sealIdleMs", 10 * 60_000],
  INGEST_RATE_LINES_PER_SECOND: ["rateLinesPerSecond", 50_000],
  INGEST_BURST_LINES: ["rateBurstLines", 200_000],
  HEARTBEAT_MS: ["heartbeatMs", 15_000],
  VIEWER_WINDOW_BYTES: ["viewerWindowBytes", 8 * 1024 * 1024],
  RETENTION_DAYS: ["retentionMs", 30],
  RELOAD_AFTER_MS: ["reloadAfterMs", 120_000],
};

/** Reads the config from env vars, falling back to the defaults. */
export function readConfig(env: Record<string, unknown>): DeploymentConfig {
  const config = {} as Record<keyof DeploymentConfig, number>;
  for (const [name, [key, fallback]] of Object.entries(DEFAULTS)) {
    const raw = env[name];
    let value = fallback;
    if (raw !== undefined && raw !== "") {
      value = Number(raw);
      if (!Number.isFinite(value) || value <= 0) {
        throw new Error(
          `edgetail config: ${name}=${String(raw)} is not a positive ` +
            `number; set it in wrangler.toml [vars] or remove it to use ` +
            `the default ${fallback}`,
        );
      }
    }
    config[key] = key === "retentionMs" ? value * 86_400_000 : value;
  }
  return config;
}
