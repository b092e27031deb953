/**
 * The agent library and the `edgetail` CLI against the local stack, on
 * real CI logs from ../shared/corpus/logs: what goes in comes back out of
 * the export byte for byte; `run` streams a command's two outputs,
 * progress bar included, and passes its exit code through; `tail` joins
 * split lines and strips colours when piped.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unstable_startWorker } from "wrangler";
import { createNodeAgent } from "../../clients/agent/node";
import { api, CORPUS, cli, exportBytes, exportLines } from "./cli-run";
import { type Stack, startStack } from "./stack";

let stack: Stack;
let token: string;
let dir: string;

beforeAll(async () => {
  stack = await startStack();
  token = await stack.token();
  dir = await mkdtemp(join(tmpdir(), "edgetail-clients-"));
});

afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const conn = () => ({ url: stack.url, token });

/** Small files with \r\n, \r progress bars, ANSI, Unicode, no final \n. */
const AGENT_FILES = [
  "buildkite-t2h__curl-progress.log",
  "buildkite-t2h__docker-push.log",
  "gitlab-runner__log-3.log",
  "gitlabhq__ansi-sequence-and-unicode.log",
  "jenkins-ansicolor__testlog.log",
  "buildkite-t2h__buildah-build.log",
];

describe("the agent library on corpus logs", () => {
  it.each(AGENT_FILES)("%s comes back byte for byte", async (file) => {
    const bytes = readFileSync(join(CORPUS, file));
    const id = `agent-${file.replace(/[^A-Za-z0-9]/g, "-").slice(0, 60)}`;
    const agent = createNodeAgent({
      ...conn(),
      deployment: id,
      exitHooks: false,
      batchBytes: 4 * 1024,
    });
    const out = agent.text({ step: "build" });
    // Odd-sized chunks cut lines and UTF-8 sequences anywhere.
    for (let at = 0; at < bytes.length; at += 777) {
      await out.write(bytes.subarray(at, at + 777));
    }
    const report = await agent.close({ status: "success", exitCode: 0 });

    expect(report.undelivered.count).toBe(0);
    expect(report.completed).toBe(true);
    expect((await exportBytes(stack.url, token, id)).equals(bytes)).toBe(true);
  });
});

describe("the agent library in a Worker", () => {
  it("runs inside workerd as bundled by wrangler, masks before lines", async () => {
    const worker = await unstable_startWorker({
      config: join(import.meta.dirname, "fixtures/agent-worker.toml"),
      dev: {
        server: { hostname: "127.0.0.1", port: 0 },
        inspector: false,
        watch: false,
        logLevel: "warn",
        persist: join(dir, "agent-worker"),
      },
    });
    let report: unknown;
    try {
      await worker.ready;
      const res = await worker.fetch("http://worker/", {
        method: "POST",
        body: JSON.stringify({ ...conn(), deployment: "from-a-worker" }),
      });
      report = await res.json();
    } finally {
      await worker.dispose();
      // wrangler bundles next to the config; leave no trace in the tree.
      await rm(join(import.meta.dirname, "fixtures/.wrangler"), {
        recursive: true,
        force: true,
      });
    }

    expect(report).toMatchObject({
      delivered: 3,
      undelivered: { count: 0 },
      completed: true,
    });
    const lines = await exportLines(stack.url, token, "from-a-worker");
    expect(lines.map((l) => [l.step, l.level, l.message, l.partial])).toEqual([
      ["edge", "info", "hello from workerd", undefined],
      ["edge", "warn", "token ***", undefined],
      ["edge", "info", "\rbar 1\rbar 2", true],
    ]);
  });
});

describe("edgetail push and export", () => {
  it("pushes a file and stdin; both export as the file, text and gzip'd", async () => {
    const file = join(CORPUS, "support-firecloud-travis__job-173354444.log");
    const bytes = readFileSync(file);

    const fromFile = await cli(["push", file, "-d", "push-file"], conn());
    expect(fromFile.stderr).toContain("pushed 2683 lines to push-file");
    expect(fromFile.code).toBe(0);
    const fromStdin = await cli(
      ["push", "-", "-d", "push-stdin", "--complete", "success", "-q"],
      { ...conn(), stdin: bytes },
    );
    expect(fromStdin).toMatchObject({ code: 0, stderr: "" });

    const text = join(dir, "push-file.log");
    const exported = await cli(["export", "push-file", "-o", text], conn());
    expect(exported.code).toBe(0);
    expect((await readFile(text)).equals(bytes)).toBe(true);
    const gz = join(dir, "push-stdin.log.gz");
    const zipped = await cli(
      ["export", "push-stdin", "-o", gz, "--gzip", "-q"],
      conn(),
    );
    expect(zipped.code).toBe(0);
    expect(gunzipSync(await readFile(gz)).equals(bytes)).toBe(true);
    const info = await (await api(stack.url, token, "push-stdin")).json();
    expect(info).toMatchObject({ status: "success" });
  });

  it("names the problem and the fix, with the documented exit codes", async () => {
    const missing = await cli(["push", join(dir, "nope.log")], conn());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*nope\.log .*check the path/);

    const noToken = await cli(["export", "push-file"], {
      ...conn(),
      token: "",
    });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain(
      "no token: pass --token, set EDGETAIL_TOKEN",
    );

    const badToken = await cli(["export", "push-file"], {
      ...conn(),
      token: "not-a-jwt",
    });
    expect(badToken.code).toBe(2);
    expect(badToken.stderr).toContain("token_invalid");

    const refused = await cli(
      ["push", join(CORPUS, "gitlab-runner__log-3.log"), "-d", "refused"],
      { ...conn(), token: "not-a-jwt" },
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/32 lines not delivered \(first: "/);
    expect(refused.stderr).toContain("HTTP 401 token_invalid");

    // Not the agent's internals: which URL, and how to fix it.
    const pushDown = await cli(
      ["push", join(CORPUS, "gitlab-runner__log-3.log"), "-d", "down", "-q"],
      {
        url: "http://127.0.0.1:9",
        token,
        env: { EDGETAIL_RETRY_MAX_MS: "50", EDGETAIL_CLOSE_TIMEOUT_MS: "1500" },
      },
    );
    expect(pushDown.code).toBe(3);
    expect(pushDown.stderr).toContain(
      "cannot reach http://127.0.0.1:9 (fetch failed",
    );
    expect(pushDown.stderr).toContain("Set --url or EDGETAIL_URL");

    const other = await stack.token({ deployments: ["other"] });
    const denied = await cli(
      ["push", join(CORPUS, "gitlab-runner__log-3.log"), "-d", "p1"],
      { ...conn(), token: other },
    );
    expect(denied.code).toBe(2);
    expect(denied.stderr).toContain(
      "token does not grant deployment p1; use a token minted for it",
    );
    expect(denied.stderr).not.toContain("does not grant this");

    // run says the refusal once, with its fix, not again at the end.
    const runRefused = await cli(
      [
        "run",
        "-d",
        "run-refused",
        "--",
        process.execPath,
        "-e",
        "console.log(1)",
      ],
      { ...conn(), token: "not-a-jwt" },
    );
    expect(runRefused.code).toBe(0);
    expect(runRefused.stderr.match(/token_invalid/g)).toHaveLength(1);
    expect(runRefused.stderr).toContain("EDGETAIL_TOKEN=$(npx edgetail token)");

    const unknown = await cli(["tail", "never-written"], conn());
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain("no log for never-written");

    const down = await cli(["export", "push-file"], {
      ...conn(),
      url: "http://127.0.0.1:9",
    });
    expect(down.code).toBe(3);
    expect(down.stderr).toContain("cannot reach http://127.0.0.1:9");

    const usage = await cli(["tail", "x", "--level", "loud"], conn());
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain("use one of trace, debug, info");
  });
});

describe("edgetail run", () => {
  it("streams a progress bar and both streams, completes failed with 3, exits 3", async () => {
    const script = join(dir, "build.mjs");
    await writeFile(
      script,
      [
        "const wait = (ms) => new Promise((r) => setTimeout(r, ms));",
        'process.stdout.write("\\u001b[1mcompiling\\u001b[0m\\n");',
        "for (const p of [0, 25, 50, 75, 100]) {",
        "  process.stdout.write('\\rdownloading ' + p + '%');",
        "  await wait(300);",
        "}",
        'process.stdout.write("\\n");',
        "await wait(100);",
        'process.stderr.write("warning: cache miss\\n");',
        "await wait(100);",
        'process.stdout.write("linking\\n");',
        "await wait(100);",
        'process.stderr.write("error: undefined symbol\\n");',
        "await wait(100);",
        'process.stdout.write("waiting forever without a newline");',
        "await wait(600);",
        "process.exit(3);",
      ].join("\n"),
    );
    const run = await cli(
      ["run", "-d", "run-3", "--step", "build", "--", process.execPath, script],
      conn(),
    );

    expect(run.code).toBe(3);
    // The command's output was shown as it was.
    expect(run.stdout.toString()).toContain("\rdownloading 100%\nlinking\n");
    expect(run.stderr).toContain(
      "warning: cache miss\nerror: undefined symbol\n",
    );
    const info = await (await api(stack.url, token, "run-3")).json();
    expect(info).toMatchObject({ status: "failed", exit_code: 3 });

    const lines = await exportLines(stack.url, token, "run-3");
    const joined: [string, string, string][] = [];
    let text = "";
    for (const l of lines) {
      text += l.message;
      if (!l.partial) {
        joined.push([l.stream, l.level, text]);
        text = "";
      }
    }
    if (text) joined.push(["stdout", "info", text]);
    expect(lines.every((l) => l.step === "build")).toBe(true);
    expect(joined).toEqual([
      ["stdout", "info", "\u001b[1mcompiling\u001b[0m"],
      [
        "stdout",
        "info",
        "\rdownloading 0%\rdownloading 25%\rdownloading 50%\rdownloading 75%\rdownloading 100%",
      ],
      ["stderr", "error", "warning: cache miss"],
      ["stdout", "info", "linking"],
      ["stderr", "error", "error: undefined symbol"],
      ["stdout", "info", "waiting forever without a newline"],
    ]);
    // The bar and the endless line went out before they ended.
    expect(lines.filter((l) => l.partial).length).toBeGreaterThanOrEqual(2);
  });

  it("exits 127 and completes failed when the command does not exist", async () => {
    const run = await cli(
      ["run", "-d", "run-missing", "--", "no-such-command-x"],
      conn(),
    );
    expect(run.code).toBe(127);
    expect(run.stderr).toContain('cannot run "no-such-command-x"');
    const info = await (await api(stack.url, token, "run-missing")).json();
    expect(info).toMatchObject({ status: "failed", exit_code: 127 });
  });
});

describe("edgetail tail", () => {
  it("prints joined lines without colours when piped, and filters", async () => {
    const id = "run-3";
    const plain = await cli(["tail", id], conn());
    expect(plain.code).toBe(0);
    expect(plain.stdout.toString()).toBe(
      [
        "compiling",
        "\rdownloading 0%\rdownloading 25%\rdownloading 50%\rdownloading 75%\rdownloading 100%",
        "warning: cache miss",
        "linking",
        "error: undefined symbol",
        "waiting forever without a newline",
        "",
      ].join("\n"),
    );
    const errors = await cli(
      ["tail", id, "--level", "error", "--json"],
      conn(),
    );
    const objects = errors.stdout
      .toString()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(objects.map((o) => [o.stream, o.message])).toEqual([
      ["stderr", "warning: cache miss"],
      ["stderr", "error: undefined symbol"],
    ]);
    const last = await cli(["tail", id, "-n", "2", "--grep", "SYMBOL"], conn());
    expect(last.stdout.toString()).toBe("error: undefined symbol\n");
  });
});
