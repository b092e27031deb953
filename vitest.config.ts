import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

/**
 * Where the worker tests' ClickHouse dev server listens. The globalSetup
 * (same process) reads it back from the environment. A random high port
 * lets two test runs share a machine.
 */
const clickhousePort = Number(
  process.env.EDGETAIL_TEST_CLICKHOUSE_PORT ??
    20_000 + Math.floor(Math.random() * 20_000),
);
process.env.EDGETAIL_TEST_CLICKHOUSE_PORT = String(clickhousePort);

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                JWT_SECRET: "test-secret-for-edgetail-tests-only",
                CLICKHOUSE_URL: `http://127.0.0.1:${clickhousePort}`,
                // Small numbers so tests reach chunking, pruning and limits.
                HOT_TAIL_LINES: "50",
                CHUNK_LINES: "40",
                HEARTBEAT_MS: "1000",
                VIEWER_WINDOW_BYTES: "262144",
                RELOAD_AFTER_MS: "1500",
                INGEST_RATE_LINES_PER_SECOND: "2000",
                INGEST_BURST_LINES: "30000",
              },
            },
          }),
        ],
        test: {
          name: "worker",
          include: ["tests/worker/**/*.test.ts"],
          globalSetup: ["tests/setup/clickhouse.ts"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "node",
          include: ["tests/node/**/*.test.ts"],
          environment: "node",
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        // The viewer in Debian's Chromium (playwright-core) against the
        // whole local stack; needs `npm run build` first (npm test does it).
        test: {
          name: "browser",
          include: ["tests/browser/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
