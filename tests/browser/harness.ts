/**
 * The browser tests' world: the local stack (tests/node/stack.ts), Debian's
 * Chromium driven by playwright-core, and helpers to push lines and read
 * what the page shows.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { type Stack, startStack } from "../node/stack.ts";

export type { Page, Stack };

// Offline here: no fetch of the `Request.cf` fixture (wrangler warns).
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

/** Debian's package; `.ci/run` installs it. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
/** Where screenshots go (gitignored). */
export const ARTIFACTS = join(import.meta.dirname, "../../test-artifacts");
/** The shared corpus of real CI logs. */
export const CORPUS = join(import.meta.dirname, "../../../shared/corpus/logs");

/** A browser with a fresh profile. */
export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Starts Chromium with a new user-data-dir, removed on close. */
export async function launchBrowser(): Promise<Browser> {
  const dir = mkdtempSync(join(tmpdir(), "edgetail-chromium-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 800 },
    timeout: 60_000,
    acceptDownloads: true,
    permissions: ["clipboard-read", "clipboard-write"],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The stack with vars the viewer tests want (a fast heartbeat). */
export function viewerStack(vars: Record<string, string> = {}): Promise<Stack> {
  return startStack({ HEARTBEAT_MS: "1000", ...vars });
}

/**
 * Pushes `text` (each `\n`-terminated line a log line) as text/plain;
 * with an idempotency key a retry after a lost answer stores nothing twice.
 */
export async function pushText(
  stack: Stack,
  token: string,
  id: string,
  text: string,
  idempotencyKey?: string,
): Promise<{ first_seq: number; last_seq: number }> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${token}`,
    "content-type": "text/plain",
    "content-encoding": "gzip",
  };
  if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
  const res = await fetch(`${stack.url}/v1/deployments/${id}/logs`, {
    method: "POST",
    headers,
    body: gzipSync(Buffer.from(text)),
  });
  if (res.status !== 201 && res.status !== 200) {
    throw new Error(`push answered ${res.status}: ${await res.text()}`);
  }
  return (await res.json()) as { first_seq: number; last_seq: number };
}

/** Pushes JSON line objects. */
export async function pushLines(
  stack: Stack,
  token: string,
  id: string,
  lines: Record<string, unknown>[],
): Promise<void> {
  const res = await fetch(`${stack.url}/v1/deployments/${id}/logs`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ lines }),
  });
  if (res.status !== 201) {
    throw new Error(`push answered ${res.status}: ${await res.text()}`);
  }
}

/** Ends a deployment. */
export async function complete(
  stack: Stack,
  token: string,
  id: string,
  status = "success",
): Promise<void> {
  const res = await fetch(`${stack.url}/v1/deployments/${id}/complete`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ status, exit_code: status === "success" ? 0 : 1 }),
  });
  if (!res.ok) throw new Error(`complete answered ${res.status}`);
}

/** Waits until ClickHouse (history) holds line `seq` of `id`. */
export async function untilInHistory(
  stack: Stack,
  token: string,
  id: string,
  seq: number,
  ms = 60_000,
): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    const res = await fetch(
      `${stack.url}/v1/deployments/${id}/logs?from_seq=${seq}&limit=1`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    if (res.ok) {
      const page = (await res.json()) as { lines: { seq: number }[] };
      if (page.lines[0]?.seq === seq) return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`line ${seq} of ${id} never reached history`);
}

/** Opens the viewer of `id` with a share link (`#token=`). */
export async function openViewer(
  context: BrowserContext,
  stack: Stack,
  id: string,
  token: string,
  fragment = "",
): Promise<Page> {
  const page = await context.newPage();
  const extra = fragment ? `&${fragment}` : "";
  await page.goto(`${stack.url}/d/${id}#token=${token}${extra}`);
  return page;
}

/** Rows shown (not hidden), with their seq and text. */
export function shownRows(
  page: Page,
): Promise<{ seq: number; text: string; cls: string }[]> {
  return page.$$eval(".row:not(.hidden)", (rows) =>
    rows.map((r) => ({
      seq: Number((r as HTMLElement).dataset.seq),
      text: r.querySelector(".msg")?.textContent ?? "",
      cls: r.className,
    })),
  );
}

/** Saves a screenshot under test-artifacts/. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

/** A deployment id no other test uses. */
export function freshId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}
