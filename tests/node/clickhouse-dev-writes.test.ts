/**
 * Writing through the chDB dev server with the real @clickhouse/client-web
 * and plain fetch: insert formats and bodies, DDL via command(), FINAL,
 * and the HTTP details (sessions, multipart params, password).
 */
import { gzipSync } from "node:zlib";
import { type ClickHouseClient, createClient } from "@clickhouse/client-web";
import { beforeAll, describe, expect, it } from "vitest";
import { startClickHouseDevServer } from "../../scripts/clickhouse-dev/server.ts";
import { clickHouseError, useDevServer } from "./clickhouse-dev.fixture.ts";

const dev = useDevServer("devtest");

describe("inserts", () => {
  beforeAll(async () => {
    await dev.ch.command({
      query:
        "CREATE TABLE kv (k UInt64, v String) ENGINE = MergeTree ORDER BY k",
    });
  });

  const post = (query: string, body: BodyInit, headers = {}) =>
    fetch(`${dev.url}/?database=devtest&query=${encodeURIComponent(query)}`, {
      method: "POST",
      body,
      headers,
    });

  it("takes CSV, TabSeparated, JSONCompactEachRow and gzip bodies", async () => {
    await post("INSERT INTO kv FORMAT CSV", '1,"a,b ""q"""\n');
    await post("INSERT INTO kv FORMAT TabSeparated", "2\tx\\ty\\\\\n");
    await post("INSERT INTO kv FORMAT JSONCompactEachRow", '[3,"c"]\n');
    // Rows inline in the SQL body; the ; in them is data, not a statement.
    await dev.ch.command({
      query: "INSERT INTO kv FORMAT TabSeparated\n6\tx;y",
    });
    // A shape the raw-bytes path does not take: sent as SQL text instead.
    await dev.ch.insert({
      table: "kv",
      values: [{ k: 5 }],
      columns: { except: ["v"] },
      format: "JSONEachRow",
    });
    const gz = Uint8Array.from(gzipSync('{"k":4,"v":"zipped"}\n'));
    const res = await post("INSERT INTO kv FORMAT JSONEachRow", gz, {
      "Content-Encoding": "gzip",
    });
    expect(res.status).toBe(200);
    expect(
      JSON.parse(res.headers.get("x-clickhouse-summary") ?? ""),
    ).toMatchObject({ written_rows: "1" });
    expect(await dev.rows("SELECT k, v FROM kv ORDER BY k")).toEqual([
      { k: "1", v: 'a,b "q"' },
      { k: "2", v: "x\ty\\" },
      { k: "3", v: "c" },
      { k: "4", v: "zipped" },
      { k: "5", v: "" },
      { k: "6", v: "x;y" },
    ]);
  });

  it("takes a multi-megabyte JSONEachRow insert", async () => {
    const values = Array.from({ length: 20_000 }, (_, i) => ({
      k: 1000 + i,
      v: `${i};${"y".repeat(250)}`,
    }));
    await dev.ch.insert({ table: "kv", values, format: "JSONEachRow" });
    expect(
      await dev.rows(
        "SELECT count() AS n, sum(length(v)) AS len FROM kv WHERE k >= 1000",
      ),
    ).toEqual([
      { n: "20000", len: String(values.reduce((s, r) => s + r.v.length, 0)) },
    ]);
  });

  it("dedups a twice-inserted row with ReplacingMergeTree FINAL", async () => {
    await dev.ch.command({
      query:
        "CREATE TABLE r (id UInt64, v String) ENGINE = ReplacingMergeTree ORDER BY id",
    });
    for (let i = 0; i < 2; i++) {
      await dev.ch.insert({
        table: "r",
        values: [{ id: 7, v: "same" }],
        format: "JSONEachRow",
      });
    }
    expect(await dev.rows("SELECT count() AS n FROM r")).toEqual([{ n: "2" }]);
    expect(await dev.rows("SELECT id, v FROM r FINAL")).toEqual([
      { id: "7", v: "same" },
    ]);
  });

  it("runs ALTER, OPTIMIZE, TRUNCATE and DROP through command()", async () => {
    await dev.ch.command({
      query: "ALTER TABLE r ADD COLUMN n UInt8 DEFAULT 3",
    });
    await dev.ch.command({ query: "OPTIMIZE TABLE r FINAL" });
    expect(await dev.rows("SELECT id, n FROM r")).toEqual([{ id: "7", n: 3 }]);
    await dev.ch.command({ query: "TRUNCATE TABLE r" });
    expect(await dev.rows("SELECT count() AS n FROM r")).toEqual([{ n: "0" }]);
    await dev.ch.command({ query: "DROP TABLE r" });
    const err = await clickHouseError(() =>
      dev.ch.query({ query: "SELECT 1 FROM r" }),
    );
    expect(err.type).toBe("UNKNOWN_TABLE");
  });
});

describe("HTTP interface details", () => {
  it("keeps SET state within one session_id and out of others", async () => {
    const s = createClient({
      url: dev.url,
      database: "devtest",
      session_id: "s1",
    });
    const comment = async (c: ClickHouseClient) => {
      const rs = await c.query({
        query: "SELECT getSetting('log_comment') AS c",
        format: "JSONEachRow",
      });
      return rs.json();
    };
    await s.command({ query: "SET log_comment = 'in session'" });
    expect(await comment(s)).toEqual([{ c: "in session" }]);
    expect(await comment(dev.ch)).toEqual([{ c: "" }]);
  });

  it("reads params sent as a multipart body, however large", async () => {
    const big = "z".repeat(300_000);
    const rs = await dev.ch.query({
      query: `SELECT {s:String} AS s, {n:Array(UInt8)} AS n,
        length({big:String}) AS len, getSetting('max_query_size') AS max`,
      format: "JSONEachRow",
      query_params: { s: "multi\npart 'x' \\", n: [1, 2], big },
      use_multipart_params: true,
    });
    expect(await rs.json()).toEqual([
      { s: "multi\npart 'x' \\", n: [1, 2], len: "300000", max: 262144 },
    ]);
  });

  it("checks the password when one is configured", async () => {
    const locked = await startClickHouseDevServer({
      port: 0,
      dataDir: dev.dataDir,
      password: "s3cret",
    });
    try {
      const wrong = createClient({ url: locked.url, password: "nope" });
      const err = await clickHouseError(() =>
        wrong.query({ query: "SELECT 1" }),
      );
      expect([err.code, err.type]).toEqual(["516", "AUTHENTICATION_FAILED"]);
      const right = createClient({ url: locked.url, password: "s3cret" });
      const rs = await right.query({
        query: "SELECT 1 AS one",
        format: "JSONEachRow",
      });
      expect(await rs.json()).toEqual([{ one: 1 }]);
    } finally {
      await locked.close();
    }
  });
});
