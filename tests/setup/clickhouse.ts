/**
 * Global setup of the worker tests: a real ClickHouse engine (chDB behind
 * the dev HTTP server) with the migrations applied, on a fixed port that
 * vitest.config.ts hands to the Worker as CLICKHOUSE_URL.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startClickHouseDevServer } from "../../scripts/clickhouse-dev/server.ts";
import { applyMigrations } from "../../scripts/migrate.ts";

export default async function setup(): Promise<() => Promise<void>> {
  const dataDir = mkdtempSync(join(tmpdir(), "edgetail-ch-"));
  const server = await startClickHouseDevServer({
    host: "127.0.0.1",
    port: Number(process.env.EDGETAIL_TEST_CLICKHOUSE_PORT ?? 18123),
    dataDir,
  });
  await applyMigrations({ url: server.url, database: "edgetail" });
  return async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
