/**
 * The CLI's own logic without a server: how `tail` joins, dedupes and
 * filters lines and where it resumes, `--since` parsing, and where the
 * configuration comes from.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../clients/cli/config";
import { CliError } from "../../clients/cli/errors";
import { describeError } from "../../clients/cli/shared";
import { parseSince } from "../../clients/cli/tail/history";
import { Printer } from "../../clients/cli/tail/printer";
import { encodeCursor, logKey } from "../../schemas/cursor";
import type { WireLine } from "../../schemas/line";
import { BIN } from "./cli-run";

function wire(seq: number, message: string, more: Partial<WireLine> = {}) {
  const line: WireLine = {
    seq,
    ts: "2026-12-03T17:00:00.000Z",
    step: "build",
    level: "info",
    stream: "stdout",
    message,
    metadata: {},
    redaction_state: "clean",
    cursor: `c${seq}`,
    ...more,
  };
  return line;
}

function printer(opts: Partial<ConstructorParameters<typeof Printer>[0]> = {}) {
  const out: string[] = [];
  const p = new Printer({
    json: false,
    color: false,
    timestamps: false,
    write: async (t) => {
      out.push(t);
    },
    ...opts,
  });
  return { p, out };
}

describe("tail's printer", () => {
  it("joins parts, drops repeats, strips colours and keeps \\r", async () => {
    const { p, out } = printer();
    await p.accept(wire(1, "\u001b[32mok\u001b[0m"));
    await p.accept(wire(2, "\r10%", { partial: true }));
    await p.accept(wire(3, "\r100%"));
    await p.accept(wire(2, "\r10%", { partial: true }));
    await p.accept(wire(4, "tail", { partial: true }));

    expect(out).toEqual(["ok\n", "\r10%\r100%\n"]);
    // The held part is not done: a resume starts after line 3.
    expect([p.receivedSeq, p.doneCursor]).toEqual([4, "c3"]);
    await p.flush();
    expect(out.at(-1)).toBe("tail\n");
  });

  it("never prints APC time stamps; strips OSC too when piped", async () => {
    const stamp = "\u001b_bk;t=1764781200000\u0007";
    const link = "\u001b]8;;https://x.test\u0007docs\u001b]8;;\u0007";
    const message = `${stamp}\u001b[1mbuild\u001b[0m ${link}\u001b_bk;t=1\u001b\\`;
    const piped = printer();
    await piped.p.accept(wire(1, message));
    expect(piped.out).toEqual(["build docs\n"]);

    const tty = printer({ color: true });
    await tty.p.accept(wire(1, message));
    expect(tty.out).toEqual([`\u001b[1mbuild\u001b[0m ${link}\n`]);
    // --grep does not match inside a stamp.
    const grep = printer({ grep: "bk;t" });
    await grep.p.accept(wire(1, message));
    expect(grep.out).toEqual([]);
  });

  it("prints one JSON object per joined line, with its last part's cursor", async () => {
    const { p, out } = printer({ json: true });
    await p.accept(
      wire(7, "a", { partial: true, redaction_state: "redacted" }),
    );
    await p.accept(wire(8, "b"));

    expect(out.map((l) => JSON.parse(l))).toEqual([
      { ...wire(8, "ab"), redaction_state: "redacted" },
    ]);
  });

  it("filters whole lines and still moves the resume point past them", async () => {
    const { p, out } = printer({ levels: ["error"], grep: "FAIL" });
    await p.accept(wire(1, "\u001b[31mfail\u001b[0med", { level: "error" }));
    await p.accept(wire(2, "failed", { level: "info" }));
    await p.accept(wire(3, "ok", { level: "error" }));

    expect(out).toEqual(["failed\n"]);
    expect(p.doneCursor).toBe("c3");
  });

  it("prints an orphan part alone when the next line is not its continuation", async () => {
    const { p, out } = printer();
    await p.accept(wire(5, "cut", { partial: true }));
    await p.accept(wire(9, "next"));
    expect(out).toEqual(["cut\n", "next\n"]);
  });
});

describe("--since", () => {
  const now = Date.parse("2026-12-03T17:00:00.000Z");
  it("reads durations, times and cursors", () => {
    expect(parseSince("15m", now)).toEqual({
      time: "2026-12-03T16:45:00.000Z",
    });
    expect(parseSince("1d", now)).toEqual({ time: "2026-12-02T17:00:00.000Z" });
    expect(parseSince(String(now), now)).toEqual({
      time: "2026-12-03T17:00:00.000Z",
    });
    expect(parseSince("2026-12-03T18:00:00+01:00", now)).toEqual({
      time: "2026-12-03T17:00:00.000Z",
    });
    const cursor = encodeCursor(logKey("dev", "web-1"), {
      epoch: 1,
      seq: 42,
      ts: now,
    });
    expect(parseSince(cursor, now)).toEqual({ cursor });
    expect(() => parseSince("2026-13-45", now)).toThrow(/not a time/);
  });

  it("refuses what is neither, before asking the API", () => {
    for (const bad of ["yesterday", "5x", "AQAAAAAB-x_y", "10 m"]) {
      expect(() => parseSince(bad, now)).toThrow(
        `"${bad}" is not a cursor, an ISO 8601 time, epoch ms or a duration`,
      );
    }
  });
});

describe("configuration", () => {
  const dir = mkdtempSync(join(tmpdir(), "edgetail-config-"));
  const file = join(dir, "config.json");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("takes flags over the environment over the file over the default", () => {
    writeFileSync(file, JSON.stringify({ url: "http://file:1", token: "f" }));
    const env = { EDGETAIL_CONFIG: file, EDGETAIL_TOKEN: "e" };

    expect(loadConfig({}, env)).toMatchObject({
      url: "http://file:1",
      token: "e",
      sources: { url: file, token: "EDGETAIL_TOKEN" },
    });
    expect(loadConfig({ url: "https://flag/", token: "x" }, env)).toMatchObject(
      {
        url: "https://flag",
        token: "x",
      },
    );
    expect(loadConfig({}, { XDG_CONFIG_HOME: dir })).toMatchObject({
      url: "http://127.0.0.1:8787",
    });
  });

  it("names the file and the fix when it is wrong", () => {
    writeFileSync(file, JSON.stringify({ url: "http://x", tokn: "t" }));
    expect(() => loadConfig({ config: file }, {})).toThrow(
      `config file ${file}: unknown key "tokn"; it may hold "url" and "token"`,
    );
    writeFileSync(file, "{ not json");
    expect(() => loadConfig({ config: file }, {})).toThrow(CliError);
    expect(() => loadConfig({ url: "ftp://x" }, {})).toThrow(
      /"ftp:\/\/x" \(from --url\) is not an http\(s\) URL/,
    );
    expect(() => loadConfig({ config: join(dir, "missing.json") }, {})).toThrow(
      /does not exist; create it/,
    );
    // A path would be put before /v1/...: the API answers 404 for it.
    expect(() => loadConfig({ url: "http://host:8787/v1" }, {})).toThrow(
      /"http:\/\/host:8787\/v1" \(from --url\) has a path .*use the origin alone, e\.g\. http:\/\/host:8787$/,
    );
    expect(loadConfig({ url: "http://host:8787/" }, {}).url).toBe(
      "http://host:8787",
    );
  });
});

describe("error messages", () => {
  it("say the fix once: expired token, wrong deployment", () => {
    const url = "http://127.0.0.1:8787";
    expect(
      describeError(
        { code: "token_expired", message: "token expired", status: 401 },
        url,
      ),
    ).toBe(
      "HTTP 401 token_expired: token expired; pass a valid token with --token or EDGETAIL_TOKEN (locally: export EDGETAIL_TOKEN=$(npx edgetail token))",
    );
    expect(
      describeError(
        {
          code: "forbidden_deployment",
          message: "token does not grant deployment p1",
          status: 403,
        },
        url,
      ),
    ).toBe(
      "HTTP 403 forbidden_deployment: token does not grant deployment p1; use a token minted for it (edgetail token --deployment ID --scope logs:read,logs:write)",
    );
  });
});

describe("tail's usage errors", () => {
  const run = promisify(execFile);
  const tail = (...args: string[]) =>
    run(process.execPath, [BIN, "tail", "web-1", ...args], {
      env: {
        ...process.env,
        // Nothing listens here: a request would fail with exit 3.
        EDGETAIL_URL: "http://127.0.0.1:9",
        EDGETAIL_TOKEN: "t",
        EDGETAIL_CONFIG: "",
      },
    }).catch((err: { code: number; stderr: string }) => err);

  it("names the accepted forms, exits 1, and sends nothing", async () => {
    for (const since of ["yesterday", "5x"]) {
      const failed = await tail("--since", since);
      expect(failed).toMatchObject({ code: 1 });
      expect("stderr" in failed ? failed.stderr : "").toContain(
        "use a cursor (from --json or Ctrl-C), an ISO 8601 time (2026-12-03T17:00:00Z), epoch ms, or a duration ago like 10m",
      );
    }
    const empty = await tail("--grep", "");
    expect(empty).toMatchObject({ code: 1 });
    expect("stderr" in empty ? empty.stderr : "").toContain("--grep: empty");
    const long = await tail("--grep", "x".repeat(257));
    expect(long).toMatchObject({ code: 1 });
    expect("stderr" in long ? long.stderr : "").toContain(
      "--grep: 257 characters; at most 256",
    );
    const path = await tail("--url", "http://127.0.0.1:9/v1");
    expect(path).toMatchObject({ code: 2 });
    expect("stderr" in path ? path.stderr : "").toContain(
      "use the origin alone, e.g. http://127.0.0.1:9",
    );
  });
});

describe("edgetail token", () => {
  const run = promisify(execFile);
  const secret = "cli-units-secret-not-used-elsewhere";

  it("signs the claims the Worker checks, with JWT_SECRET", async () => {
    const { stdout } = await run(
      process.execPath,
      [BIN, "token", "--tenant", "acme", "-d", "web-1", "-d", "web-2"].concat([
        "--scope",
        "logs:read",
        "--ttl",
        "120",
      ]),
      { env: { ...process.env, JWT_SECRET: secret } },
    );
    const token = stdout.trim();
    const { payload } = await jwtVerify(
      token,
      new TextEncoder().encode(secret),
      { audience: "edgetail", algorithms: ["HS256"] },
    );

    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "JWT" });
    expect(payload).toMatchObject({
      tenant: "acme",
      scope: "logs:read",
      deployments: ["web-1", "web-2"],
    });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(120);
  });

  it("says where a secret would come from when there is none", async () => {
    const failed = await run(
      process.execPath,
      [BIN, "token", "--dev-vars", join(tmpdir(), "no-such.vars")],
      { env: { ...process.env, JWT_SECRET: "" } },
    ).catch((err: { code: number; stderr: string }) => err);

    expect(failed).toMatchObject({ code: 2 });
    expect("stderr" in failed ? failed.stderr : "").toContain("--dev-vars: ");
  });
});
