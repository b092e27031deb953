/**
 * The dev scripts' own logic: tokens verify against the secret they were
 * signed with and carry the claims asked for, and replay's batching cuts
 * a log only at line ends without losing or reordering a byte.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../scripts/dev-vars.ts";
import { countLines, splitBatches } from "../../scripts/replay.ts";
import { signToken } from "../../scripts/token.ts";

const run = promisify(execFile);
const TSX = join(REPO_ROOT, "node_modules", ".bin", "tsx");
const CORPUS = join(REPO_ROOT, "..", "shared", "corpus", "logs");
const SECRET = "scripts-test-secret-not-used-anywhere-else";
const key = new TextEncoder().encode(SECRET);

async function verify(token: string) {
  const { payload, protectedHeader } = await jwtVerify(token, key, {
    algorithms: ["HS256"],
    audience: "edgetail",
    requiredClaims: ["exp", "iat"],
  });
  return { payload, protectedHeader };
}

function concat(parts: Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p)));
}

describe("signToken", () => {
  it("signs HS256 claims the Worker accepts", async () => {
    const token = await signToken({
      secret: SECRET,
      tenant: "acme",
      deployments: ["d-1", "d-2"],
      scopes: ["logs:write"],
      ttlSeconds: 120,
    });
    const { payload, protectedHeader } = await verify(token);

    expect(protectedHeader.alg).toBe("HS256");
    expect(payload.tenant).toBe("acme");
    expect(payload.scope).toBe("logs:write");
    expect(payload.deployments).toEqual(["d-1", "d-2"]);
    expect(payload.aud).toBe("edgetail");
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(120);
  });

  it("is rejected under another secret", async () => {
    const token = await signToken({
      secret: "some-other-secret",
      tenant: "acme",
      deployments: "*",
    });
    await expect(verify(token)).rejects.toThrow();
  });
});

describe("npm run token", () => {
  async function token(args: string[]): Promise<string> {
    const { stdout } = await run(TSX, ["scripts/token.ts", ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, JWT_SECRET: SECRET },
    });
    return stdout;
  }

  it("prints the token alone, with the deployments and scopes asked", async () => {
    const stdout = await token([
      "--tenant",
      "t-1",
      "--deployment",
      "web-42",
      "--deployment",
      "api-7",
      "--scope",
      "logs:write,logs:read",
      "--ttl",
      "600",
    ]);

    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const { payload } = await verify(stdout.trim());
    expect(payload.tenant).toBe("t-1");
    expect(payload.scope).toBe("logs:write logs:read");
    expect(payload.deployments).toEqual(["web-42", "api-7"]);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(600);
  });

  it("grants every deployment with '*'", async () => {
    const stdout = await token([
      "--tenant",
      "t-1",
      "--deployment",
      "*",
      "--scope",
      "logs:read",
    ]);
    const { payload } = await verify(stdout.trim());
    expect(payload.deployments).toBe("*");
    expect(payload.scope).toBe("logs:read");
  });

  it("exits 2 on an unknown scope, printing nothing on stdout", async () => {
    const failure = await token([
      "--deployment",
      "d",
      "--scope",
      "logs:admin",
    ]).then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure).toMatchObject({
      code: 2,
      stdout: "",
      stderr: expect.stringContaining("logs:admin"),
    });
  });
});

describe("replay batching", () => {
  const file = readFileSync(join(CORPUS, "gitlab-runner__log-5.log"));

  it("splits a corpus log at line ends; the bodies concatenate to it", () => {
    const bodies = splitBatches(file, { maxLines: 1_000, maxBytes: 1_000_000 });

    expect(bodies.length).toBeGreaterThan(1);
    expect(concat(bodies).equals(file)).toBe(true);
    for (const body of bodies.slice(0, -1)) {
      expect(body.at(-1)).toBe(0x0a);
      expect(body.length).toBeLessThanOrEqual(1_000_000);
      expect(countLines(body)).toBeLessThanOrEqual(1_000);
    }
    const lines = bodies.reduce((n, b) => n + countLines(b), 0);
    expect(lines).toBe(countLines(file));
  });

  it("cuts only lines longer than a body, at UTF-8 boundaries", () => {
    const maxBytes = 4_096;
    const bodies = splitBatches(file, { maxLines: 50, maxBytes });

    expect(concat(bodies).equals(file)).toBe(true);
    const strict = new TextDecoder("utf-8", { fatal: true });
    let cuts = 0;
    for (const [i, body] of bodies.entries()) {
      expect(body.length).toBeLessThanOrEqual(maxBytes);
      if (body.at(-1) === 0x0a || i === bodies.length - 1) continue;
      // A cut line: the body was full and has no line end left in it.
      cuts += 1;
      expect(body.length).toBeGreaterThan(maxBytes - 4);
      expect(body.includes(0x0a)).toBe(false);
    }
    // The file has lines of ~15 KB, so some must have been cut.
    expect(cuts).toBeGreaterThan(0);
    // No cut falls inside a code point (the corpus file is valid UTF-8).
    for (const body of bodies) expect(() => strict.decode(body)).not.toThrow();
  });

  it("never splits a multi-byte character of an oversized line", () => {
    const line = Buffer.from(`${"é€😀".repeat(1_000)}\nnext\n`);
    const bodies = splitBatches(line, { maxLines: 10, maxBytes: 1_001 });

    expect(concat(bodies).equals(line)).toBe(true);
    const strict = new TextDecoder("utf-8", { fatal: true });
    for (const body of bodies) expect(() => strict.decode(body)).not.toThrow();
    expect(Buffer.from(bodies.at(-1) ?? []).toString()).toMatch(/\nnext\n$/);
  });

  it("keeps a final line without a newline", () => {
    const text = Buffer.from("a\nb\nc");
    const bodies = splitBatches(text, { maxLines: 2, maxBytes: 100 });

    expect(bodies.map((b) => Buffer.from(b).toString())).toEqual([
      "a\nb\n",
      "c",
    ]);
  });
});

describe("script help", () => {
  it("prints usage for --help and exits 0", async () => {
    const { execFile } = await import("node:child_process");
    const { promisify } = await import("node:util");
    const run = promisify(execFile);
    for (const script of ["scripts/token.ts", "scripts/replay.ts"]) {
      const { stdout } = await run("node_modules/.bin/tsx", [script, "--help"]);
      expect(stdout).toMatch(/^usage: npm run (token|replay) --/);
    }
  });
});
