/**
 * @module Applies `migrations/*.sql` to ClickHouse, once each, in name
 * order, and records them in `<database>.schema_migrations`. It speaks
 * plain HTTP through @clickhouse/client-web, so it works the same against
 * a real server and the chDB dev server.
 *
 *     tsx scripts/migrate.ts
 *
 * Env: CLICKHOUSE_URL (default http://127.0.0.1:8123, the dev server),
 * CLICKHOUSE_DATABASE (default edgetail), CLICKHOUSE_USER,
 * CLICKHOUSE_PASSWORD. Prints one JSON line with what it applied.
 *
 * Migration files use unqualified table names: statements run with the
 * client's database set. ClickHouse DDL is not transactional, so a file
 * that fails halfway is not recorded and reruns from its first statement;
 * write statements that can run twice (`IF NOT EXISTS`, `IF EXISTS`).
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ClickHouseClient, createClient } from "@clickhouse/client-web";
import { CliError, isMain, run } from "./cli.ts";

/** migrations/ at the repository root. */
export const MIGRATIONS_DIR = fileURLToPath(
  new URL("../migrations", import.meta.url),
);

/** Options of {@link applyMigrations}. */
export interface MigrateOptions {
  /** ClickHouse HTTP URL, e.g. `http://127.0.0.1:8123`. */
  url: string;
  /** Created if missing; every statement runs with it as current. */
  database: string;
  /** @default "default" */
  user?: string;
  password?: string;
  /** @default MIGRATIONS_DIR */
  dir?: string;
}

const LEDGER = "schema_migrations";
const LEDGER_DDL = `CREATE TABLE IF NOT EXISTS ${LEDGER} (
  name String,
  applied_at DateTime64(3) DEFAULT now64(3)
) ENGINE = MergeTree ORDER BY name`;

/**
 * Applies the migrations not yet recorded, in file name order; returns
 * their names (file names without `.sql`).
 */
export async function applyMigrations(opts: MigrateOptions): Promise<string[]> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.database)) {
    throw new Error(
      `database: "${opts.database}" must be a plain identifier ` +
        "(letters, digits, underscores)",
    );
  }
  const dir = opts.dir ?? MIGRATIONS_DIR;
  const names = (await readdir(dir))
    .filter((f) => f.endsWith(".sql"))
    .map((f) => f.slice(0, -".sql".length))
    .sort();
  const auth = {
    url: opts.url,
    username: opts.user ?? "default",
    password: opts.password ?? "",
  };

  // A request's `database` must already exist, so creating it goes
  // through a client that has none.
  const admin = createClient(auth);
  try {
    await admin.command({
      query: `CREATE DATABASE IF NOT EXISTS ${opts.database}`,
    });
  } finally {
    await admin.close();
  }

  const client = createClient({ ...auth, database: opts.database });
  try {
    await client.command({ query: LEDGER_DDL });
    const done = await appliedNames(client);
    const applied: string[] = [];
    for (const name of names) {
      if (done.has(name)) continue;
      const sql = await readFile(join(dir, `${name}.sql`), "utf8");
      await runFile(client, name, sql);
      await client.insert({
        table: LEDGER,
        values: [{ name }],
        format: "JSONEachRow",
      });
      applied.push(name);
    }
    return applied;
  } finally {
    await client.close();
  }
}

async function appliedNames(client: ClickHouseClient): Promise<Set<string>> {
  const result = await client.query({
    query: `SELECT DISTINCT name FROM ${LEDGER}`,
    format: "JSONEachRow",
  });
  const rows = await result.json<{ name: string }>();
  return new Set(rows.map((r) => r.name));
}

async function runFile(client: ClickHouseClient, name: string, sql: string) {
  const statements = splitStatements(sql);
  for (const [i, statement] of statements.entries()) {
    try {
      await client.command({ query: statement });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(
        `${name}.sql, statement ${i + 1} of ${statements.length}: ${reason}`,
        { cause: err },
      );
    }
  }
}

/**
 * Splits a migration file into statements: a statement ends at a `;` that
 * ends a line, and lines starting with `--` are dropped.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let lines: string[] = [];
  const flush = () => {
    const statement = lines.join("\n").trim();
    if (statement !== "") statements.push(statement);
    lines = [];
  };
  for (const line of sql.split(/\r?\n/)) {
    if (line.trimStart().startsWith("--")) continue;
    const end = line.trimEnd();
    if (end.endsWith(";")) {
      lines.push(end.slice(0, -1));
      flush();
    } else {
      lines.push(line);
    }
  }
  flush();
  return statements;
}

if (isMain(import.meta.url)) {
  run("migrate", async () => {
    const url = process.env.CLICKHOUSE_URL || "http://127.0.0.1:8123";
    const database = process.env.CLICKHOUSE_DATABASE || "edgetail";
    try {
      const applied = await applyMigrations({
        url,
        database,
        user: process.env.CLICKHOUSE_USER || undefined,
        password: process.env.CLICKHOUSE_PASSWORD,
      });
      console.log(JSON.stringify({ event: "migrate.done", database, applied }));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new CliError(`${url} (${database}): ${reason}`);
    }
  });
}
