/**
 * The live tail in a real browser: lines pushed by an agent appear as they
 * arrive, and a Worker restart mid-stream costs no line and repeats none.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Browser,
  complete,
  freshId,
  launchBrowser,
  openViewer,
  type Page,
  pushText,
  type Stack,
  screenshot,
  shownRows,
  viewerStack,
} from "./harness.ts";

let stack: Stack;
let browser: Browser;
let token: string;

beforeAll(async () => {
  [stack, browser] = await Promise.all([viewerStack(), launchBrowser()]);
  token = await stack.token();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

interface Stats {
  total: number;
  lastSeq: number;
  delivered: number;
  following: boolean;
}

function stats(page: Page): Promise<Stats> {
  return page.evaluate(() =>
    (window as unknown as { edgetail: { stats(): Stats } }).edgetail.stats(),
  );
}

async function until(
  what: string,
  check: () => Promise<boolean>,
  ms = 30_000,
): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function lines(from: number, to: number, prefix = "line"): string {
  let text = "";
  for (let i = from; i <= to; i++) text += `${prefix} ${i}\n`;
  return text;
}

describe("live tail", () => {
  it("shows lines pushed by an agent as they arrive, following the end", async () => {
    const id = freshId("live");
    await pushText(stack, token, id, lines(1, 5));
    const page = await openViewer(browser.context, stack, id, token);
    await page.waitForSelector('.row[data-seq="5"]');
    await expect.poll(() => page.textContent("#status")).toBe("live");

    for (let batch = 0; batch < 5; batch++) {
      const from = 6 + batch * 20;
      await pushText(stack, token, id, lines(from, from + 19));
      const last = from + 19;
      await page.waitForSelector(`.row[data-seq="${last}"]`, {
        timeout: 10_000,
      });
      const rows = await shownRows(page);
      expect(rows.at(-1)).toMatchObject({ seq: last, text: `line ${last}` });
    }
    // Follow mode keeps the last line on screen.
    const last = page.locator('.row[data-seq="105"]');
    await expect.poll(() => last.isVisible()).toBe(true);
    expect((await stats(page)).following).toBe(true);

    // Scrolling up pauses, new lines are counted, the pill jumps back.
    await page.locator("#log").hover();
    await page.mouse.wheel(0, -600);
    await expect.poll(async () => (await stats(page)).following).toBe(false);
    await pushText(stack, token, id, lines(106, 115));
    await expect
      .poll(() => page.textContent("#jump-live"))
      .toBe("10 new lines, jump to live");
    await page.click("#jump-live");
    await page.waitForSelector('.row[data-seq="115"]');
    await expect.poll(async () => (await stats(page)).following).toBe(true);

    await complete(stack, token, id);
    await expect
      .poll(() => page.textContent("#status"))
      .toBe("ended: success (exit 0)");
    // The token left the address bar and no history entry holds it.
    expect(page.url()).not.toContain("token");
    expect(page.url()).not.toContain(token);
    await screenshot(page, "live-ended");

    // Download: the export, fetched with the token in a header.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.click("#download"),
    ]);
    expect(download.suggestedFilename()).toBe(`${id}.log`);
    const saved = await download.path();
    expect(readFileSync(saved, "utf8")).toBe(lines(1, 115));
    await page.close();
  });

  it("resumes after a Worker restart mid-stream with every line exactly once", async () => {
    const id = freshId("restart");
    await pushText(stack, token, id, lines(1, 100));
    const page = await openViewer(browser.context, stack, id, token);
    await until(
      "first 100 lines",
      async () => (await stats(page)).lastSeq === 100,
    );

    // An agent keeps pushing while the Worker restarts under the page.
    let pushed = 100;
    let pushing = true;
    const agent = (async () => {
      while (pushing) {
        try {
          const batch = lines(pushed + 1, pushed + 10);
          await pushText(stack, token, id, batch, `batch-${pushed}`);
          pushed += 10;
        } catch {
          // The Worker is restarting; the agent retries the same batch,
          // under the same key in case the first try was stored.
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await until(
      "some live lines",
      async () => (await stats(page)).lastSeq > 150,
    );
    await stack.restart();
    await until(
      "more lines after the restart",
      async () => pushed >= 400,
      60_000,
    );
    pushing = false;
    await agent;

    // The server holds exactly what the agent pushed (keys made retries
    // safe), and the page gets all of it.
    const described = await fetch(`${stack.url}/v1/deployments/${id}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(((await described.json()) as { last_seq: number }).last_seq).toBe(
      pushed,
    );
    await until(
      `all ${pushed} lines`,
      async () => (await stats(page)).lastSeq === pushed,
      60_000,
    ).catch(async (err: unknown) => {
      const states = await page.evaluate(() =>
        (
          window as unknown as { edgetail: { states(): string[] } }
        ).edgetail.states(),
      );
      throw new Error(
        `${String(err)}; page: ${JSON.stringify(await stats(page))}, states: ${states.join(" > ")}`,
      );
    });
    const s = await stats(page);
    expect(s.delivered).toBe(pushed);
    const texts = await page.evaluate(
      (n) =>
        (
          window as unknown as {
            edgetail: { texts(a: number, b: number): (string | null)[] };
          }
        ).edgetail.texts(1, n),
      pushed,
    );
    expect(texts).toEqual(
      Array.from({ length: pushed }, (_, i) => `line ${i + 1}`),
    );
    const states = await page.evaluate(() =>
      (
        window as unknown as { edgetail: { states(): string[] } }
      ).edgetail.states(),
    );
    expect(states).toContain("reconnecting");
    expect(states.at(-1)).toBe("live");
    await page.close();
  });
});
