/**
 * @module Well-known secret shapes, masked wherever they appear. Each rule
 * names the capture group that holds the secret (0 = the whole match), so
 * `password=` or `user:` around a value stays readable.
 */

export interface PatternRule {
  id: string;
  pattern: RegExp;
  /** Capture group holding the secret; 0 masks the whole match. */
  group: number;
}

/** A PEM private key marker; X is BEGIN or END. */
const PEM_NAME = "-----X [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----";

/** Values that only name a secret somewhere else: `$PASS`, `{{ x }}`. */
const PLACEHOLDER = /^(\$|%|\{|<%|\*\*\*)/;

export const PATTERN_RULES: PatternRule[] = [
  {
    id: "aws_access_key_id",
    pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/dg,
    group: 0,
  },
  {
    id: "aws_secret_access_key",
    pattern: new RegExp(
      [
        "(aws[_-]?(?:secret[_-]?)?(?:access[_-]?)?key|secret[_-]?access[_-]?key)",
        `(["']?\\s*[:=]\\s*["']?)`,
        "([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
      ].join(""),
      "dgi",
    ),
    group: 3,
  },
  {
    id: "github_token",
    pattern: /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}\b/dg,
    group: 0,
  },
  {
    id: "github_fine_grained_token",
    pattern: /\bgithub_pat_[A-Za-z0-9_]{22,255}\b/dg,
    group: 0,
  },
  {
    id: "gitlab_token",
    pattern:
      /\b(?:glpat|glptt|gldt|glrt|glcbt|glsoat|glffct|glft|glimt|glagent)-[A-Za-z0-9_-]{20,}/dg,
    group: 0,
  },
  {
    id: "gitlab_runner_registration_token",
    pattern: /\bGR1348941[A-Za-z0-9_-]{20,}/dg,
    group: 0,
  },
  {
    id: "slack_token",
    pattern: /\bxox[abposre]-[A-Za-z0-9-]{10,}/dg,
    group: 0,
  },
  {
    id: "slack_webhook",
    pattern:
      /(https:\/\/hooks\.slack\.com\/(?:services|workflows)\/)([A-Za-z0-9+/_-]{8,})/dg,
    group: 2,
  },
  {
    id: "jwt",
    pattern:
      /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/dg,
    group: 0,
  },
  {
    id: "private_key_inline",
    pattern: new RegExp(
      `(${PEM_NAME.replace("X", "BEGIN")})(.+?)(${PEM_NAME.replace("X", "END")})`,
      "dg",
    ),
    group: 2,
  },
  {
    id: "url_password",
    // scheme://user:password@host — the password part only.
    pattern: /\b([a-z][a-z0-9+.-]{1,20}:\/\/[^\s:/@"'`]+:)([^\s@/"'`]+)@/dgi,
    group: 2,
  },
  {
    id: "url_query_password",
    // ?password=... in URLs and JDBC strings.
    pattern: /[?&;](?:password|passwd|pwd|userpass)=([^&;\s"'`#]+)/dgi,
    group: 1,
  },
];

/** True when a matched value is a placeholder, not a secret. */
export function isPlaceholder(value: string): boolean {
  return PLACEHOLDER.test(value);
}

/** Opening and closing lines of a PEM private key block. */
export const PEM_BEGIN = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----/;
export const PEM_END = /-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----/;

/** Key material inside a PEM block: long base64 runs. */
export const PEM_BODY = /[A-Za-z0-9+/=]{8,}/g;
