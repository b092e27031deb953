/**
 * @module Where the CLI finds the API and its token: flags first, then
 * the environment (`EDGETAIL_URL`, `EDGETAIL_TOKEN`), then a JSON config
 * file (`--config`, `EDGETAIL_CONFIG`, or
 * `$XDG_CONFIG_HOME/edgetail/config.json`, by default
 * `~/.config/edgetail/config.json`), then the local default URL.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { CliError, EXIT } from "./errors";

/** `npm run dev`'s address. */
export const DEFAULT_URL = "http://127.0.0.1:8787";

/** Flags every command takes. */
export interface GlobalFlags {
  url?: string;
  token?: string;
  config?: string;
}

/** The resolved configuration. */
export interface CliConfig {
  url: string;
  token?: string;
  /** Where each value came from, for error messages. */
  sources: { url: string; token?: string };
  /** The config file read, if any. */
  file?: string;
}

const FILE_KEYS = new Set(["url", "token"]);

/** The config file's path, and whether the user named it. */
export function configPath(
  flags: GlobalFlags,
  env: NodeJS.ProcessEnv = process.env,
): { path: string; named: boolean } {
  if (flags.config) return { path: flags.config, named: true };
  if (env.EDGETAIL_CONFIG) return { path: env.EDGETAIL_CONFIG, named: true };
  const base = env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return { path: join(base, "edgetail", "config.json"), named: false };
}

/** Resolves flags, environment and file; checks what it found. */
export function loadConfig(
  flags: GlobalFlags,
  env: NodeJS.ProcessEnv = process.env,
): CliConfig {
  const { path, named } = configPath(flags, env);
  const file = readConfigFile(path, named);

  const [url, urlSource] = pick(
    [flags.url, "--url"],
    [env.EDGETAIL_URL, "EDGETAIL_URL"],
    [file?.url, path],
    [DEFAULT_URL, "the default"],
  );
  const [token, tokenSource] = pick(
    [flags.token, "--token"],
    [env.EDGETAIL_TOKEN, "EDGETAIL_TOKEN"],
    [file?.token, path],
  );
  checkUrl(url ?? DEFAULT_URL, urlSource ?? "the default");

  const config: CliConfig = {
    url: (url ?? DEFAULT_URL).replace(/\/+$/, ""),
    sources: { url: urlSource ?? "the default" },
  };
  if (token) {
    config.token = token.trim();
    config.sources.token = tokenSource;
  }
  if (file) config.file = path;
  return config;
}

/** The token, or a CliError saying how to get one. */
export function requireToken(config: CliConfig): string {
  if (config.token) return config.token;
  throw new CliError(
    "no token: pass --token, set EDGETAIL_TOKEN, or put " +
      `"token" in ${configPath({}).path}; locally, ` +
      "export EDGETAIL_TOKEN=$(npx edgetail token)",
    EXIT.config,
  );
}

function readConfigFile(
  path: string,
  named: boolean,
): { url?: string; token?: string } | null {
  if (!existsSync(path)) {
    if (!named) return null;
    throw new CliError(
      `config file ${path} does not exist; create it ` +
        '(e.g. {"url": "http://127.0.0.1:8787"}) or fix --config / EDGETAIL_CONFIG',
      EXIT.config,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new CliError(
      `config file ${path} is not valid JSON (${detail}); fix or remove it`,
      EXIT.config,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new CliError(
      `config file ${path} must hold a JSON object like {"url": "...", "token": "..."}`,
      EXIT.config,
    );
  }
  const out: { url?: string; token?: string } = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!FILE_KEYS.has(key)) {
      throw new CliError(
        `config file ${path}: unknown key "${key}"; it may hold "url" and "token"`,
        EXIT.config,
      );
    }
    if (typeof value !== "string") {
      throw new CliError(
        `config file ${path}: "${key}" must be a string`,
        EXIT.config,
      );
    }
    out[key as "url" | "token"] = value;
  }
  return out;
}

function pick(
  ...candidates: [string | undefined, string][]
): [string | undefined, string | undefined] {
  for (const [value, source] of candidates) {
    if (value !== undefined && value !== "") return [value, source];
  }
  return [undefined, undefined];
}

function checkUrl(url: string, source: string): void {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    // Reported below.
  }
  if (parsed?.protocol !== "http:" && parsed?.protocol !== "https:") {
    throw new CliError(
      `the API URL "${url}" (from ${source}) is not an http(s) URL; ` +
        `use e.g. ${DEFAULT_URL}`,
      EXIT.config,
    );
  }
  // The API lives at the origin: /v1/... is added to it by edgetail.
  const path = parsed.pathname.replace(/\/+$/, "");
  if (path !== "" || parsed.search || parsed.hash) {
    throw new CliError(
      `the API URL "${url}" (from ${source}) has a path or query ` +
        `("${parsed.pathname}${parsed.search}${parsed.hash}"); edgetail adds /v1/... ` +
        `itself: use the origin alone, e.g. ${parsed.origin}`,
      EXIT.config,
    );
  }
}
