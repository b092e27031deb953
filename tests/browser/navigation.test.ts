/**
 * Finding one's way in a big log: head and tail first with a marker for
 * the middle, permalinks to lines not in memory, search across lines that
 * were never loaded, and level filters.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Browser,
  complete,
  freshId,
  launchBrowser,
  openViewer,
  type Page,
  pushLines,
  pushText,
  type Stack,
  screenshot,
  untilInHistory,
  viewerStack,
} from "./harness.ts";

const TOTAL = 6_000;
const NEEDLES = [2_345, 4_321];

let stack: Stack;
let browser: Browser;
let token: string;
let id: string;

beforeAll(async () => {
  [stack, browser] = await Promise.all([viewerStack(), launchBrowser()]);
  token = await stack.token();
  id = freshId("big");
  let text = "";
  for (let i = 1; i <= TOTAL - 2; i++) {
    text += NEEDLES.includes(i)
      ? `found the Needle in line ${i}\n`
      : `line ${i}\n`;
  }
  await pushText(stack, token, id, text);
  await pushLines(stack, token, id, [
    { message: "first error", level: "error" },
    { message: "second error", level: "error" },
  ]);
  await complete(stack, token, id);
  await untilInHistory(stack, token, id, TOTAL);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function rowText(page: Page, seq: number): Promise<string | null> {
  const row = page.locator(`.row[data-seq="${seq}"]:not(.pending)`);
  await row.waitFor();
  return row.locator(".msg").textContent();
}

describe("navigation", () => {
  it("opens a big log with its head and tail and a marker for the middle", async () => {
    const page = await openViewer(browser.context, stack, id, token);
    await page.waitForSelector(`.row[data-seq="${TOTAL}"]:not(.pending)`);
    expect(await rowText(page, TOTAL)).toBe("second error");
    const stats = await page.evaluate(() =>
      (
        window as unknown as { edgetail: { stats(): { inMemory: number } } }
      ).edgetail.stats(),
    );
    expect(stats.inMemory).toBeLessThan(2_000);

    // The marker row follows the 200 head lines.
    await page.keyboard.press("g");
    await page.waitForSelector('.row[data-seq="1"]');
    await page.locator("#log").evaluate((el) => {
      el.scrollTop = 200 * (el.querySelector(".row")?.clientHeight ?? 20) - 300;
    });
    const gap = page.locator(".row.gap");
    await gap.waitFor();
    expect(await gap.locator(".gap-text").textContent()).toBe(
      "5,300 lines (201–5,500) not loaded",
    );
    expect(await rowText(page, 200)).toBe("line 200");
    await screenshot(page, "big-log-gap");

    // Loading the middle turns the marker into real rows, fetched as seen.
    await gap.locator("button[data-act=load-gap]").click();
    expect(await rowText(page, 201)).toBe("line 201");
    await page.close();
  });

  it("opens a permalink at a line that is not in memory, and makes new ones", async () => {
    const page = await openViewer(browser.context, stack, id, token, "L3000");
    expect(await rowText(page, 3000)).toBe("line 3000");
    const row = page.locator('.row[data-seq="3000"]');
    expect(await row.getAttribute("class")).toContain("selected");
    expect(await row.isVisible()).toBe(true);
    expect(new URL(page.url()).hash).toBe("#L3000");

    await page.locator('.row[data-seq="3003"] .ln').click();
    expect(new URL(page.url()).hash).toBe("#L3003");
    await page
      .locator('.row[data-seq="3007"] .ln')
      .click({ modifiers: ["Shift"] });
    expect(new URL(page.url()).hash).toBe("#L3003-L3007");
    expect(await page.locator(".row.selected").count()).toBe(5);
    expect(page.url()).not.toContain(token);

    // Keyboard: j selects the next line; c and y copy it and its link.
    await page.locator('.row[data-seq="3003"] .ln').click();
    await page.keyboard.press("j");
    expect(new URL(page.url()).hash).toBe("#L3004");
    await page.keyboard.press("c");
    await expect
      .poll(() => page.evaluate(() => navigator.clipboard.readText()))
      .toBe("line 3004");
    await page.keyboard.press("y");
    await expect
      .poll(() => page.evaluate(() => navigator.clipboard.readText()))
      .toBe(`${stack.url}/d/${id}#L3004`);

    // A range permalink opens with the range selected.
    const ranged = await openViewer(
      browser.context,
      stack,
      id,
      token,
      "L5000-L5002",
    );
    await ranged.waitForSelector('.row[data-seq="5002"].selected');
    expect(await ranged.locator(".row.selected").count()).toBe(3);
    await ranged.close();
    await page.close();
  });

  it("searches the whole log on the server, next and previous", async () => {
    const page = await openViewer(browser.context, stack, id, token);
    await page.waitForSelector(`.row[data-seq="${TOTAL}"]:not(.pending)`);
    await page.keyboard.press("g");
    await page.waitForSelector('.row[data-seq="1"]:not(.pending)');
    await page.fill("#q", "needle");
    await page.keyboard.press("Enter");

    // Both matches lie in the unloaded middle.
    const first = page.locator(`.row.current[data-seq="${NEEDLES[0]}"]`);
    await first.waitFor();
    expect(await first.locator("mark").textContent()).toBe("Needle");
    expect(await page.textContent("#search-status")).toBe(
      "match at line 2,345",
    );
    await screenshot(page, "search-match");

    await page.keyboard.press("Enter");
    await page.locator(`.row.current[data-seq="${NEEDLES[1]}"]`).waitFor();
    await page.keyboard.press("Enter");
    await expect
      .poll(() => page.textContent("#search-status"))
      .toContain("no more matches below");
    await page.keyboard.press("Shift+Enter");
    await page.locator(`.row.current[data-seq="${NEEDLES[1]}"]`).waitFor();
    await page.keyboard.press("Shift+Enter");
    await page.locator(`.row.current[data-seq="${NEEDLES[0]}"]`).waitFor();
    await page.close();
  });

  it("filters by level on the server", async () => {
    const page = await openViewer(browser.context, stack, id, token);
    await page.waitForSelector(`.row[data-seq="${TOTAL}"]:not(.pending)`);
    await page.selectOption("#level", "error,fatal");
    await page.waitForSelector(`.row[data-seq="${TOTAL - 1}"]`);
    await expect
      .poll(() =>
        page.$$eval(".row:not(.hidden)", (rows) =>
          rows.map((r) => r.textContent),
        ),
      )
      .toEqual([`${TOTAL - 1}first error`, `${TOTAL}second error`]);
    await page.selectOption("#level", "");
    await page.waitForSelector(`.row[data-seq="${TOTAL - 2}"]`);
    await page.close();
  });

  it("asks for a token once when the link has none, and rejects a bad one", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${stack.url}/d/${id}#token=not-a-jwt`);
    await page.waitForSelector("#token-dialog[open]");
    expect(await page.textContent("#token-problem")).toContain("invalid");
    await page.fill("#token-input", token);
    await page.click("#token-form button[type=submit]");
    await page.waitForSelector(`.row[data-seq="${TOTAL}"]:not(.pending)`);
    expect(page.url()).toBe(`${stack.url}/d/${id}`);
    await page.close();
  });

  it("leaves the API to the Worker, even when a browser navigates to it", async () => {
    const page = await browser.context.newPage();
    const api = await page.goto(`${stack.url}/v1/deployments/${id}`);
    expect(api?.status()).toBe(401);
    expect(await api?.json()).toMatchObject({
      error: { code: "token_missing" },
    });
    const health = await page.goto(`${stack.url}/healthz`);
    expect(await health?.json()).toEqual({ ok: true });
    const viewer = await page.goto(`${stack.url}/d/anything`);
    expect(viewer?.headers()["content-type"]).toContain("text/html");
    await page.close();
  });
});
