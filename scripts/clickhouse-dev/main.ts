/**
 * @module CLI of the chDB-backed ClickHouse dev server:
 *
 *     tsx scripts/clickhouse-dev/main.ts [--host 127.0.0.1] [--port 8123]
 *       [--data .edgetail/clickhouse] [--password pw]
 *       [--setting name=value]... [--verbose]
 *
 * `--port` defaults to $CLICKHOUSE_DEV_PORT, then 8123. Writes one JSON
 * object per line: `clickhouse.listening` with the URL once it listens,
 * failed queries (all queries with --verbose), and the shutdown on
 * SIGINT / SIGTERM.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { CliError, run } from "../cli.ts";
import {
  type ClickHouseDevServer,
  startClickHouseDevServer,
} from "./server.ts";

function logLine(event: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ event, ...fields }));
}

function parseSettings(pairs: string[]): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      throw new CliError(`--setting ${pair}: expected name=value`, 2);
    }
    settings[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return settings;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string" },
      data: { type: "string", default: ".edgetail/clickhouse" },
      password: { type: "string" },
      setting: { type: "string", multiple: true, default: [] },
      verbose: { type: "boolean", default: false },
    },
    strict: true,
  });
  const portText = values.port ?? process.env.CLICKHOUSE_DEV_PORT ?? "8123";
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CliError(
      `--port (or CLICKHOUSE_DEV_PORT): expected 0..65535, got ${portText}`,
      2,
    );
  }
  const dataDir = resolve(values.data);

  let server: ClickHouseDevServer;
  try {
    server = await startClickHouseDevServer({
      host: values.host,
      port,
      dataDir,
      password: values.password,
      settings: parseSettings(values.setting),
      log: (event, fields) => {
        const failed =
          typeof fields.status === "number" && fields.status >= 400;
        if (values.verbose || failed || event !== "clickhouse.query") {
          logLine(event, fields);
        }
      },
    });
  } catch (err) {
    if (err instanceof CliError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new CliError(`cannot start on ${values.host}:${port}: ${reason}`);
  }
  logLine("clickhouse.listening", { url: server.url, data: dataDir });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    // A second signal means the graceful path is stuck: leave now.
    if (stopping) process.exit(1);
    stopping = true;
    logLine("clickhouse.stopping", { signal });
    server.close().then(
      () => {
        logLine("clickhouse.stopped", {});
        process.exit(0);
      },
      (err: unknown) => {
        logLine("clickhouse.stop_failed", { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

run("clickhouse-dev", main);
