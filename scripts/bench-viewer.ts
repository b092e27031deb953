/**
 * @module `npm run bench:viewer`: the web viewer on a log of 1,000,000
 * lines, in Debian's Chromium (playwright-core). Starts its own stack
 * (temporary state, free ports, 127.0.0.1 only), loads the log in gzip'd
 * text/plain batches, and prints figures, no pass/fail:
 *
 * - time to first lines (navigation start to the first drawn row);
 * - page memory (CDP JSHeapUsedSize) after opening, scrolling, live lines;
 * - frame times (requestAnimationFrame deltas, p50/p95/p99) while
 *   scrolling through the whole log and while lines arrive at 5,000/s.
 *
 * Everything shares the machine (workerd, chDB, Chromium and this
 * process), so the figures are a floor.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { chromium, type Page } from "playwright-core";
import { type Stack, startStack } from "../tests/node/stack.ts";
import { CliError, isMain, run, sleep } from "./cli.ts";

const TOTAL = 1_000_000;
const BATCH = 20_000;
const LIVE_RATE = 5_000;
const LIVE_TICK_MS = 100;
const LIVE_FOR_MS = 10_000;
const SCROLL_FOR_MS = 8_000;
const HISTORY_WAIT_MS = 600_000;
/** The whole bench, stack start and loading included. */
const BUDGET_MS = 1_200_000;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

interface Stats {
  total: number;
  inMemory: number;
  rows: number;
  lastSeq: number;
}

async function main(): Promise<void> {
  // Offline here: no fetch of the `Request.cf` fixture (wrangler warns).
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  const deadline = Date.now() + BUDGET_MS;
  const timer = setTimeout(() => {
    console.error("bench:viewer: over its time budget, stopping");
    process.exit(2);
  }, BUDGET_MS);
  timer.unref();

  const stack = await startStack({
    INGEST_RATE_LINES_PER_SECOND: "10000000",
    INGEST_BURST_LINES: "10000000",
  });
  const profile = mkdtempSync(join(tmpdir(), "edgetail-bench-chromium-"));
  try {
    const token = await stack.token();
    const id = `bench-${Date.now().toString(36)}`;
    const loaded = await load(stack, token, id);
    console.log(
      `loaded ${TOTAL.toLocaleString()} lines in ${loaded.pushSeconds.toFixed(1)} s; ` +
        `history caught up ${loaded.historySeconds.toFixed(1)} s later`,
    );
    if (Date.now() > deadline) throw new CliError("no time left to measure");

    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
      viewport: { width: 1280, height: 800 },
    });
    try {
      const page = await context.newPage();
      await measure(page, stack, token, id);
    } finally {
      await context.close();
    }
  } finally {
    await stack.stop();
    rmSync(profile, { recursive: true, force: true });
    clearTimeout(timer);
  }
}

async function load(
  stack: Stack,
  token: string,
  id: string,
): Promise<{ pushSeconds: number; historySeconds: number }> {
  const started = performance.now();
  for (let from = 1; from <= TOTAL; from += BATCH) {
    await push(stack, token, id, lineText(from, from + BATCH - 1));
  }
  const pushed = performance.now();
  const waitUntil = Date.now() + HISTORY_WAIT_MS;
  while (!(await inHistory(stack, token, id, TOTAL))) {
    if (Date.now() > waitUntil) {
      throw new CliError("history did not catch up with the pushed lines");
    }
    await sleep(500);
  }
  return {
    pushSeconds: (pushed - started) / 1000,
    historySeconds: (performance.now() - pushed) / 1000,
  };
}

/** CI-like lines: commands in colour, a progress line, a section marker. */
function lineText(from: number, to: number): string {
  const out: string[] = [];
  for (let i = from; i <= to; i++) {
    if (i % 10_000 === 1) {
      out.push(
        `section_start:${1_700_000_000 + i}:part_${i}\r\x1b[0K\x1b[36;1mPart ${i}\x1b[0m`,
      );
    } else if (i % 10_000 === 0) {
      out.push(`section_end:${1_700_000_000 + i}:part_${i - 9_999}\r\x1b[0K`);
    } else if (i % 7 === 0) {
      out.push(`\x1b[32;1m$ make step-${i}\x1b[0;m`);
    } else if (i % 13 === 0) {
      out.push(`progress  10%\rprogress  50%\rprogress 100% line ${i}`);
    } else {
      out.push(
        `line ${i}: compiling module ${i % 997} of the bench log, all fine`,
      );
    }
  }
  return `${out.join("\n")}\n`;
}

async function push(stack: Stack, token: string, id: string, text: string) {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${stack.url}/v1/deployments/${id}/logs`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "text/plain",
        "content-encoding": "gzip",
      },
      body: gzipSync(Buffer.from(text)),
    });
    await res.body?.cancel();
    if (res.status === 201) return;
    if (attempt >= 5) throw new CliError(`push answered ${res.status}`);
    await sleep(1_000);
  }
}

async function inHistory(
  stack: Stack,
  token: string,
  id: string,
  seq: number,
): Promise<boolean> {
  const res = await fetch(
    `${stack.url}/v1/deployments/${id}/logs?from_seq=${seq}&limit=1`,
    { headers: { authorization: `Bearer ${token}` } },
  );
  if (!res.ok) return false;
  const page = (await res.json()) as { lines: { seq: number }[] };
  return page.lines[0]?.seq === seq;
}

async function measure(
  page: Page,
  stack: Stack,
  token: string,
  id: string,
): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  const heap = async () => {
    await cdp.send("HeapProfiler.collectGarbage");
    const { metrics } = await cdp.send("Performance.getMetrics");
    const used = metrics.find((m) => m.name === "JSHeapUsedSize")?.value ?? 0;
    return `${(used / 1024 / 1024).toFixed(1)} MiB`;
  };
  const stats = () =>
    page.evaluate(() =>
      (window as unknown as { edgetail: { stats(): Stats } }).edgetail.stats(),
    );

  await page.goto(`${stack.url}/d/${id}#token=${token}`);
  const firstLines = await page.waitForFunction(
    () => {
      const row = document.querySelector(
        ".row:not(.pending):not(.hidden) .msg",
      );
      return row?.textContent ? performance.now() : null;
    },
    undefined,
    { polling: "raf", timeout: 60_000 },
  );
  console.log(
    `time to first lines: ${Math.round(Number(await firstLines.jsonValue()))} ms`,
  );
  await page.waitForFunction(
    (total) => {
      const w = window as unknown as { edgetail: { stats(): Stats } };
      return w.edgetail.stats().lastSeq >= total;
    },
    TOTAL,
    { timeout: 60_000 },
  );
  // The head page comes from history, maybe after the tail.
  await page
    .waitForFunction(
      () =>
        (window as unknown as { edgetail: { stats(): Stats } }).edgetail.stats()
          .inMemory >= 1_000,
      undefined,
      { timeout: 10_000 },
    )
    .catch(() => {});
  console.log(
    `memory after opening: ${await heap()} (${(await stats()).inMemory.toLocaleString()} lines held)`,
  );

  // The whole log as rows: open the middle, then scroll top to bottom.
  await page.keyboard.press("g");
  await page.waitForSelector('.row[data-seq="1"]:not(.pending)');
  await page.evaluate(() => {
    const log = document.getElementById("log");
    const row = log?.querySelector(".row");
    if (log && row) log.scrollTop = 200 * row.clientHeight - 300;
  });
  await page.click("button[data-act=load-gap]");
  await page.evaluate(() => {
    const log = document.getElementById("log");
    if (log) log.scrollTop = 0;
  });
  await sleep(500);
  const scroll = await frames(page, SCROLL_FOR_MS, "scroll");
  const s = await stats();
  console.log(
    `scrolling ${s.rows.toLocaleString()} rows (${SCROLL_FOR_MS / 1000} s, ` +
      `${scroll.extra} px/frame): frames ${describe(scroll.deltas)}`,
  );
  // A fast but readable scroll (about 3,000 rows a second) from the
  // middle, lines arriving from history as they come into view.
  await page.evaluate(() => {
    const log = document.getElementById("log");
    if (log) log.scrollTop = log.scrollHeight / 2;
  });
  await sleep(1_000);
  const steady = await frames(page, 5_000, "scroll", 1_000);
  console.log(
    `scrolling ${steady.extra} px/frame from the middle (5 s): frames ${describe(steady.deltas)}`,
  );
  const jump = await frames(page, 4_000, "jump");
  console.log(
    `jumping to random places every frame: frames ${describe(jump.deltas)}`,
  );
  console.log(
    `memory after scrolling: ${await heap()} (${(await stats()).inMemory.toLocaleString()} lines held)`,
  );

  // Live lines at 5,000/s while following the end.
  await page.keyboard.press("G");
  await sleep(1_000);
  let next = TOTAL + 1;
  let pushing = true;
  const per = (LIVE_RATE * LIVE_TICK_MS) / 1000;
  const agent = (async () => {
    const started = performance.now();
    while (pushing) {
      await push(stack, token, id, lineText(next, next + per - 1));
      next += per;
      const due = started + ((next - TOTAL - 1) / LIVE_RATE) * 1000;
      await sleep(Math.max(0, due - performance.now()));
    }
  })();
  const live = await frames(page, LIVE_FOR_MS, "idle");
  pushing = false;
  await agent;
  const pushedLive = next - TOTAL - 1;
  const drained = performance.now();
  await page.waitForFunction(
    (last) => {
      const w = window as unknown as { edgetail: { stats(): Stats } };
      return w.edgetail.stats().lastSeq >= last;
    },
    next - 1,
    { timeout: 60_000 },
  );
  console.log(
    `live lines at ${LIVE_RATE.toLocaleString()}/s (${pushedLive.toLocaleString()} in ` +
      `${LIVE_FOR_MS / 1000} s, following): frames ${describe(live.deltas)}; ` +
      `last line shown ${Math.round(performance.now() - drained)} ms after the last push`,
  );
  console.log(
    `memory after live lines: ${await heap()} (${(await stats()).inMemory.toLocaleString()} lines held)`,
  );
}

/**
 * Runs in the page: rAF deltas for `ms`, doing `what` to the list at each
 * frame. A string, because tsx's helpers (`__name`) do not exist there.
 */
const FRAMES_SCRIPT = `({ ms, what, px }) => new Promise((resolve) => {
  const log = document.getElementById("log");
  // px per frame, or enough to cross the whole log in the time given.
  const step = px || Math.ceil(log.scrollHeight / ((ms / 1000) * 60));
  const deltas = [];
  let last = performance.now();
  const end = last + ms;
  const frame = (t) => {
    deltas.push(t - last);
    last = t;
    if (what === "scroll") log.scrollTop += step;
    if (what === "jump") log.scrollTop = Math.random() * log.scrollHeight;
    if (t < end) requestAnimationFrame(frame);
    else resolve({ deltas: deltas.slice(1), extra: step });
  };
  requestAnimationFrame(frame);
})`;

/** rAF deltas for `ms`, doing `what` to the list at each frame. */
async function frames(
  page: Page,
  ms: number,
  what: "scroll" | "jump" | "idle",
  px = 0,
): Promise<{ deltas: number[]; extra: number }> {
  return page.evaluate(
    `(${FRAMES_SCRIPT})(${JSON.stringify({ ms, what, px })})`,
  );
}

function describe(deltas: number[]): string {
  const sorted = [...deltas].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  return (
    `p50 ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, ` +
    `p99 ${at(0.99).toFixed(1)} ms (${sorted.length} frames)`
  );
}

if (isMain(import.meta.url)) run("bench:viewer", main);
