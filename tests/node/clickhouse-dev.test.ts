/**
 * The chDB dev server read through the real @clickhouse/client-web: values
 * round-trip exactly, query parameters bind by type, settings apply per
 * query, errors parse into ClickHouseError, data survives a restart.
 */
import { createClient } from "@clickhouse/client-web";
import { beforeAll, describe, expect, it } from "vitest";
import { clickHouseError, useDevServer } from "./clickhouse-dev.fixture.ts";

const dev = useDevServer("devtest");

it("answers client.ping() and GET /ping", async () => {
  expect(await dev.ch.ping()).toEqual({ success: true });
  const res = await fetch(`${dev.url}/ping`);
  expect(await res.text()).toBe("Ok.\n");
});

const TRICKY = [
  `it's "quoted"`,
  "back\\slash \\n \\' \\\\ \\N",
  "line1\nline2\r\nline3\ttab",
  "\u001b[31mred\u001b[0m plain",
  "emoji 🙂👍🏽 中文",
  "NUL \u0000 bell \u0007",
  "",
  "x".repeat(100 * 1024),
];
const MAX_U64 = "18446744073709551615";

describe("a MergeTree table of log lines", () => {
  beforeAll(async () => {
    await dev.ch.command({
      query: `CREATE TABLE lines (
        ts DateTime64(3), seq UInt64, msg String,
        level LowCardinality(String), tags Array(String),
        INDEX msg_ngrams msg TYPE ngrambf_v1(3, 4096, 2, 0) GRANULARITY 1
      ) ENGINE = MergeTree ORDER BY seq
      TTL toDateTime(ts) + INTERVAL 3650 DAY`,
    });
    await dev.ch.insert({
      table: "lines",
      format: "JSONEachRow",
      values: TRICKY.map((msg, i) => ({
        ts: `2024-07-08 16:48:09.${String(100 + i)}`,
        seq: i === 0 ? MAX_U64 : i,
        msg,
        level: i % 2 ? "error" : "info",
        tags: [`t${i}`, "it's", "a\\b"],
      })),
    });
  });

  it("returns every string byte for byte, bound as a String param", async () => {
    for (const msg of TRICKY) {
      const found = await dev.rows<{ msg: string }>(
        "SELECT msg FROM lines WHERE msg = {msg:String}",
        { msg },
      );
      expect(found).toEqual([{ msg }]);
    }
  });

  it("returns UInt64 as a string in JSON formats and binds 64-bit params", async () => {
    const found = await dev.rows<{ seq: string; neg: string }>(
      "SELECT seq, {neg:Int64} AS neg FROM lines WHERE seq = {seq:UInt64}",
      { seq: BigInt(MAX_U64), neg: -9223372036854775808n },
    );
    expect(found).toEqual([{ seq: MAX_U64, neg: "-9223372036854775808" }]);
    const json = await dev.ch.query({
      query: "SELECT seq FROM lines WHERE seq = 1",
      format: "JSON",
    });
    expect((await json.json<{ seq: string }>()).data).toEqual([{ seq: "1" }]);
  });

  it("binds DateTime64(3), Array(String) and Nullable params", async () => {
    const found = await dev.rows<{ seq: string; none: number }>(
      `SELECT seq, isNull({none:Nullable(String)}) AS none FROM lines
       WHERE ts >= {from:DateTime64(3)} AND has(tags, {tag:String})
         AND level IN {levels:Array(String)} AND hasAll(tags, {all:Array(String)})
       ORDER BY seq`,
      {
        from: new Date(Date.UTC(2024, 6, 8, 16, 48, 9, 104)),
        tag: "t5",
        levels: ["error", "it's"],
        all: ["it's", "a\\b"],
        none: null,
      },
    );
    expect(found).toEqual([{ seq: "5", none: 1 }]);
  });

  it("filters with a LIKE pattern param on the indexed column", async () => {
    const found = await dev.rows<{ seq: string }>(
      "SELECT seq FROM lines WHERE msg LIKE {p:String} ORDER BY seq",
      { p: "%red\u001b[0m%" },
    );
    expect(found).toEqual([{ seq: "3" }]);
  });

  it("applies a setting from the request to that query only", async () => {
    const query = "SELECT seq FROM lines WHERE seq = 2";
    const unquoted = await dev.ch.query({
      query,
      format: "JSONEachRow",
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    expect(await unquoted.json()).toEqual([{ seq: 2 }]);
    expect(await dev.rows(query)).toEqual([{ seq: "2" }]);
  });

  it("gzips the response when enable_http_compression is on", async () => {
    const gz = createClient({
      url: dev.url,
      database: "devtest",
      compression: { response: true },
    });
    const rs = await gz.query({
      query: "SELECT length(msg) AS n FROM lines WHERE seq = 7",
      format: "JSONEachRow",
    });
    expect(rs.response_headers["content-encoding"]).toBe("gzip");
    expect(await rs.json()).toEqual([{ n: String(100 * 1024) }]);
  });
});

describe("errors", () => {
  it("parses a syntax error into ClickHouseError 62 with HTTP 400", async () => {
    // Lower case on purpose: 26.x quotes the bad token as `(SELEC)`, which
    // client-common's parser would take for the exception name.
    const err = await clickHouseError(() => dev.ch.query({ query: "selec 1" }));
    expect([err.code, err.type]).toEqual(["62", "SYNTAX_ERROR"]);
    const res = await fetch(dev.url, { method: "POST", body: "selec 1" });
    expect(res.status).toBe(400);
    expect(res.headers.get("x-clickhouse-exception-code")).toBe("62");
    expect(await res.text()).toMatch(
      /^Code: 62\. DB::Exception: .*\(version 26\./s,
    );
  });

  it("parses an unknown table into ClickHouseError 60 with HTTP 404", async () => {
    const err = await clickHouseError(() =>
      dev.ch.query({ query: "SELECT * FROM nope" }),
    );
    expect([err.code, err.type]).toEqual(["60", "UNKNOWN_TABLE"]);
    const res = await fetch(`${dev.url}/?query=SELECT+*+FROM+nope`);
    expect(res.status).toBe(404);
  });

  it("rejects bare expressions and multi-statements like a server", async () => {
    const bare = await clickHouseError(() =>
      dev.ch.command({ query: "1 + 1" }),
    );
    expect(bare.code).toBe("62");
    const multi = await clickHouseError(() =>
      dev.ch.command({ query: "SELECT ';' -- x;\n; DROP TABLE lines" }),
    );
    expect(multi.message).toMatch(/Multi-statements are not allowed/);
    expect(await dev.rows("SELECT count() AS n FROM lines")).toEqual([
      { n: String(TRICKY.length) },
    ]);
  });
});

it("keeps MergeTree data across a restart on the same dataDir", async () => {
  await dev.ch.command({
    query: "CREATE TABLE kept (id UInt64) ENGINE = MergeTree ORDER BY id",
  });
  await dev.ch.insert({
    table: "kept",
    values: [{ id: 41 }, { id: 42 }],
    format: "JSONEachRow",
  });
  await dev.restart();
  expect(await dev.rows("SELECT id FROM kept ORDER BY id")).toEqual([
    { id: "41" },
    { id: "42" },
  ]);
});
