/**
 * The redaction stage on the secret scanners' own fake secrets
 * (../shared/corpus/secrets) and on real CI logs.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Redactor } from "../../durable-objects/redaction/redactor";

const SECRETS = join(import.meta.dirname, "../../../shared/corpus/secrets");
const LOGS = join(import.meta.dirname, "../../../shared/corpus/logs");

/** Redacts a file line by line, as the Deployment object would. */
function redactFile(name: string, redactor = new Redactor()): string[] {
  const text = readFileSync(join(SECRETS, name), "utf8");
  return text
    .split("\n")
    .map((line) => redactor.redact(line, "build\0stdout").text);
}

describe("registered secrets", () => {
  it("masks the value, its URL-encoded and its base64 forms", () => {
    const r = new Redactor(["p@ss w0rd!"]);
    expect(r.redact("login p@ss w0rd! ok", "k").text).toBe("login *** ok");
    expect(r.redact("curl https://x/?p=p%40ss%20w0rd!", "k").text).toBe(
      "curl https://x/?p=***",
    );
    expect(r.redact(`auth ${btoa("p@ss w0rd!")}`, "k")).toEqual({
      text: "auth ***",
      redacted: true,
    });
  });

  it("masks each line of a multi-line secret and ignores short ones", () => {
    const r = new Redactor(["line-one-secret\nline-two-secret", "abc"]);
    expect(r.redact("x line-two-secret y", "k").text).toBe("x *** y");
    expect(r.redact("abc is too short to mask", "k").redacted).toBe(false);
  });

  it("masks secrets added later, from then on", () => {
    const r = new Redactor();
    expect(r.redact("token=s3cr3t-value", "k").redacted).toBe(false);
    r.add(["s3cr3t-value"]);
    expect(r.redact("token=s3cr3t-value", "k").text).toBe("token=***");
  });
});

describe("well-known token shapes (scanner test inputs)", () => {
  it("masks GitHub tokens but not an upper-case look-alike", () => {
    const out = redactFile("whispers__gitkeys.yml").join("\n");
    expect(out).toContain("name: GHP_THISISASTRINGTHATHASTHESAMELENASTOKE");
    expect(out).toContain("personal: ***");
    expect(out).toContain("refresh: ***");
    expect(out).not.toMatch(/gh[pousr]_[A-Za-z0-9]{20}/);
  });

  it("masks AWS key ids and secret keys, not a commit id or an ARN", () => {
    const out = redactFile("whispers__aws.yml").join("\n");
    expect(out).toContain("aws_id: ***");
    expect(out).toContain("aws_key: ***");
    expect(out).toContain(
      "commit_id: 912ec803b2ce49e4a541068d495ab57000000000",
    );
    expect(out).toContain("role: arn:aws:iam::123456789000:role/role-name");
    const gitleaks = redactFile("gitleaks__git-small.txt").join("\n");
    expect(gitleaks).not.toContain("AKIALALEMEL33243OLIA");
    expect(gitleaks).toContain('os.Getenv("AWS_TOKEN")');
  });

  it("masks passwords in URLs, keeps user, host and empty passwords", () => {
    const out = redactFile("whispers__uri.yml").join("\n");
    expect(out).toContain('"https://admin:***@localhost:8000/admin"');
    expect(out).toContain(
      '"jdbc:mysql://localhost/authority?user=admin&userpass=***"',
    );
    expect(out).toContain(
      '"jdbc:mysql://localhost/authority?user=admin&userpass="',
    );
    expect(out).toContain('"https://localhost:8000/admin"');
    const pip = redactFile("whispers__pip.conf").join("\n");
    expect(pip).not.toMatch(/:\/\/[^:\s]+:[^@\s*]+@/);
  });

  it("masks the secret part of Slack webhooks, not the bare endpoint", () => {
    const out = redactFile("whispers__webhooks.yml").join("\n");
    expect(out).toContain("slack-webhook: https://hooks.slack.com/services/\n");
    expect(out).toContain(
      "slack-webhook: https://hooks.slack.com/services/***",
    );
  });

  it("masks a private key split over prefixed log lines", () => {
    const out = redactFile("checkov__build_log_with_private_key.log");
    expect(out[3]).toBe(
      "2026-01-07 09:41:37.553 | DEBUG | crypto      | -----BEGIN RSA PRIVATE KEY-----",
    );
    expect(out[4]).toBe("2026-01-07 09:41:37.553 | DEBUG | crypto      | ***");
    expect(out[5]).toBe("2026-01-07 09:41:37.553 | DEBUG | crypto      | ***");
    expect(out[6]).toContain("-----END RSA PRIVATE KEY-----");
    expect(out[7]).toContain("Key loaded successfully");
    const plain = redactFile("checkov__plain_private_key.txt").join("\n");
    expect(plain).not.toMatch(/MII[A-Za-z0-9+/]{8}/);
  });

  it("keeps a private key block open per stream, not across streams", () => {
    const r = new Redactor();
    r.redact("-----BEGIN OPENSSH PRIVATE KEY-----", "a");
    expect(r.redact("b3BlbnNzaC1rZXktdjEAAAAA", "b").redacted).toBe(false);
    expect(r.redact("b3BlbnNzaC1rZXktdjEAAAAA", "a").text).toBe("***");
    // The state survives a restart of the object.
    const restored = new Redactor([], r.state());
    expect(restored.redact("AAAABG5vbmUAAAAEbm9uZQ", "a").text).toBe("***");
  });

  it("masks JWTs", () => {
    const jwt =
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    expect(
      new Redactor().redact(`Authorization: Bearer ${jwt}`, "k").text,
    ).toBe("Authorization: Bearer ***");
  });

  it("leaves placeholders alone", () => {
    const text = readFileSync(
      join(SECRETS, "whispers__placeholders.yml"),
      "utf8",
    );
    expect(redactFile("whispers__placeholders.yml").join("\n")).toBe(text);
  });
});

describe("real CI logs", () => {
  it("leaves already-masked text and ordinary lines alone", () => {
    const counts: Record<string, number> = {};
    for (const file of readdirSync(LOGS)) {
      const r = new Redactor();
      const lines = readFileSync(join(LOGS, file), "utf8").split("\n");
      counts[file] = lines.filter((l) => r.redact(l, "k").redacted).length;
    }
    // The corpus holds no live credentials; only masked `***` values.
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
  });
});
