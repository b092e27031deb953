/**
 * @module A chDB dev server on a temporary data directory for one test
 * file, and a @clickhouse/client-web client on it. chDB binds one data
 * directory per process; vitest's default `forks` pool gives each test file
 * its own process, so each file can have its own directory.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ClickHouseClient,
  ClickHouseError,
  createClient,
} from "@clickhouse/client-web";
import { afterAll, beforeAll } from "vitest";
import {
  type ClickHouseDevServer,
  startClickHouseDevServer,
} from "../../scripts/clickhouse-dev/server.ts";

/** Accessors valid inside tests (the server starts in beforeAll). */
export interface DevServerFixture {
  readonly dataDir: string;
  readonly url: string;
  /** A client on the fixture's database (or on `default`). */
  readonly ch: ClickHouseClient;
  /** The rows of a JSONEachRow query. */
  rows<T = unknown>(
    query: string,
    params?: Record<string, unknown>,
  ): Promise<T[]>;
  /** Stops the server and starts another on the same data directory. */
  restart(): Promise<void>;
}

/** Starts a server for this file; creates `database` when given. */
export function useDevServer(database?: string): DevServerFixture {
  const dir = mkdtempSync(join(tmpdir(), "clickhouse-dev-test-"));
  const dataDir = join(dir, "data");
  let server: ClickHouseDevServer | undefined;
  let client: ClickHouseClient | undefined;
  const start = async () => {
    server = await startClickHouseDevServer({ port: 0, dataDir });
    client = createClient({ url: server.url, database });
    return server;
  };
  const started = () => {
    if (!server || !client) throw new Error("use the fixture inside tests");
    return { server, client };
  };

  beforeAll(async () => {
    const { url } = await start();
    if (database === undefined) return;
    const admin = createClient({ url });
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  return {
    dataDir,
    get url() {
      return started().server.url;
    },
    get ch() {
      return started().client;
    },
    async rows<T>(query: string, params: Record<string, unknown> = {}) {
      const rs = await started().client.query({
        query,
        format: "JSONEachRow",
        query_params: params,
      });
      return rs.json<T>();
    },
    async restart() {
      await started().server.close();
      await start();
    },
  };
}

/** The ClickHouseError that `run` rejects with; throws if it does not. */
export async function clickHouseError(
  run: () => Promise<unknown>,
): Promise<ClickHouseError> {
  const err = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err instanceof ClickHouseError) return err;
  throw new Error(`expected a ClickHouseError, got ${String(err)}`);
}
