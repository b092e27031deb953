/**
 * scripts/migrate.ts against the chDB dev server: files apply in name
 * order, once, and land in schema_migrations.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@clickhouse/client-web";
import { afterAll, describe, expect, it } from "vitest";
import { applyMigrations, splitStatements } from "../../scripts/migrate.ts";
import { useDevServer } from "./clickhouse-dev.fixture.ts";

// No database up front: applyMigrations must create it.
const dev = useDevServer();
const migrations = mkdtempSync(join(tmpdir(), "migrations-"));
afterAll(() => rmSync(migrations, { recursive: true, force: true }));

const write = (name: string, sql: string) =>
  writeFileSync(join(migrations, name), sql);

async function select(query: string): Promise<unknown[]> {
  const client = createClient({ url: dev.url, database: "migtest" });
  const rs = await client.query({ query, format: "JSONEachRow" });
  return rs.json();
}

describe("applyMigrations", () => {
  it("creates the database and applies files in name order, once", async () => {
    const opts = { url: dev.url, database: "migtest", dir: migrations };
    write(
      "0002_more.sql",
      "-- adds b;\n" +
        "ALTER TABLE m ADD COLUMN IF NOT EXISTS b String DEFAULT 'x';\n" +
        "INSERT INTO m (a) VALUES (2);\n",
    );
    write(
      "0001_init.sql",
      "-- the table\nCREATE TABLE IF NOT EXISTS m\n(\n  a UInt8\n)\n" +
        "ENGINE = MergeTree ORDER BY a;\n\nINSERT INTO m VALUES (1);\n",
    );
    expect(await applyMigrations(opts)).toEqual(["0001_init", "0002_more"]);
    expect(await applyMigrations(opts)).toEqual([]);

    write("0003_last.sql", "INSERT INTO m VALUES (3, 'z')");
    expect(await applyMigrations(opts)).toEqual(["0003_last"]);
    expect(await select("SELECT a, b FROM m ORDER BY a")).toEqual([
      { a: 1, b: "x" },
      { a: 2, b: "x" },
      { a: 3, b: "z" },
    ]);
    expect(
      await select("SELECT name FROM schema_migrations ORDER BY name"),
    ).toEqual([
      { name: "0001_init" },
      { name: "0002_more" },
      { name: "0003_last" },
    ]);
  });

  it("names the file and statement that failed", async () => {
    write("0004_bad.sql", "SELECT 1;\nSELEC 2;\n");
    const opts = { url: dev.url, database: "migtest", dir: migrations };
    await expect(applyMigrations(opts)).rejects.toThrow(
      /^0004_bad\.sql, statement 2 of 2: Syntax error/,
    );
    const ledger = await select(
      "SELECT count() AS n FROM schema_migrations WHERE name = '0004_bad'",
    );
    expect(ledger).toEqual([{ n: "0" }]);
  });
});

describe("splitStatements", () => {
  it("splits at a ; that ends a line and drops -- lines", () => {
    const sql = "-- a;\nSELECT ';';\nSELECT 1\n  + 2 ;  \n-- tail\n";
    expect(splitStatements(sql)).toEqual(["SELECT ';'", "SELECT 1\n  + 2"]);
  });
});
