/**
 * Following the live end of logs with folded sections, and jumping
 * (permalinks, Jump to line, search) to lines inside folded sections;
 * notices that clear, and errors that stop the retries.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Browser,
  CORPUS,
  freshId,
  launchBrowser,
  openViewer,
  type Page,
  pushText,
  type Stack,
  untilInHistory,
  viewerStack,
} from "./harness.ts";

let stack: Stack;
let browser: Browser;
let token: string;
let gitlab: { id: string; last: number };
let github: { id: string; last: number };

async function corpus(file: string): Promise<{ id: string; last: number }> {
  const id = freshId("fj");
  const text = readFileSync(join(CORPUS, file), "utf8");
  const { last_seq } = await pushText(stack, token, id, text);
  await untilInHistory(stack, token, id, last_seq);
  return { id, last: last_seq };
}

beforeAll(async () => {
  [stack, browser] = await Promise.all([viewerStack(), launchBrowser()]);
  token = await stack.token();
  [gitlab, github] = await Promise.all([
    corpus("gitlab-runner__log-1.log"),
    corpus("pytorch-test-infra__error_log1.log"),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

interface Stats {
  following: boolean;
  total: number;
}
const stats = (page: Page) =>
  page.evaluate(() =>
    (window as unknown as { edgetail: { stats(): Stats } }).edgetail.stats(),
  );

/** How far the list is from its end, in pixels. */
const fromBottom = (page: Page) =>
  page
    .locator("#log")
    .evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);

/** Whether the row of `seq` is shown and wholly inside the list's box. */
const inView = (page: Page, seq: number) =>
  page.evaluate((s) => {
    const log = document.getElementById("log");
    const row = document.querySelector<HTMLElement>(
      `.row[data-seq="${s}"]:not(.hidden):not(.pending)`,
    );
    if (!log || !row || row.offsetHeight === 0) return false;
    const a = log.getBoundingClientRect();
    const b = row.getBoundingClientRect();
    return b.top >= a.top && b.bottom <= a.bottom;
  }, seq);

const pill = (page: Page) =>
  page.evaluate(() => {
    const b = document.getElementById("jump-live");
    return b && !b.hidden ? b.textContent : null;
  });

const settle = (page: Page, ms = 1_500) => page.waitForTimeout(ms);

describe("follow and jumps with folded sections", () => {
  it("follows a live GitLab log from the open, and new lines scroll in", async () => {
    const page = await openViewer(browser.context, stack, gitlab.id, token);
    await page.waitForSelector(`.row[data-seq="${gitlab.last}"]`);
    await settle(page);
    expect((await stats(page)).following).toBe(true);
    expect(await pill(page)).toBeNull();
    await expect.poll(() => fromBottom(page)).toBeLessThanOrEqual(2);

    let text = "";
    for (let i = 1; i <= 10; i++) text += `fresh line ${i}\n`;
    const { last_seq } = await pushText(stack, token, gitlab.id, text);
    await page.waitForSelector(`.row[data-seq="${last_seq}"]`);
    await expect.poll(() => inView(page, last_seq)).toBe(true);
    await settle(page, 500);
    expect(await fromBottom(page)).toBeLessThanOrEqual(2);
    expect((await stats(page)).following).toBe(true);
    expect(await pill(page)).toBeNull();
    await page.close();
  });

  it("opens a permalink inside a folded GitHub group: unfolded, centred, selected", async () => {
    const page = await openViewer(
      browser.context,
      stack,
      github.id,
      token,
      "L2000",
    );
    await expect.poll(() => inView(page, 2000), { timeout: 15_000 }).toBe(true);
    await settle(page);
    expect(await inView(page, 2000)).toBe(true);
    expect(
      await page.locator('.row[data-seq="2000"]').getAttribute("class"),
    ).toContain("selected");
    // Nothing arrived: no "new lines".
    expect(await pill(page)).not.toContain("new lines");
    await page.close();
  });

  it("jumps to a line inside a folded GitHub group with Jump to line", async () => {
    const page = await openViewer(browser.context, stack, github.id, token);
    await page.waitForSelector(`.row[data-seq="${github.last}"]`);
    await settle(page, 500);
    await page.keyboard.press(":");
    await page.fill("#jump-input", "2000");
    await page.keyboard.press("Enter");
    await expect.poll(() => inView(page, 2000), { timeout: 15_000 }).toBe(true);
    await settle(page);
    expect(await inView(page, 2000)).toBe(true);
    await page.close();
  });

  it("opens GitLab permalinks inside folded sections and near the end", async () => {
    for (const seq of [10, 1500]) {
      const page = await openViewer(
        browser.context,
        stack,
        gitlab.id,
        token,
        `L${seq}`,
      );
      await expect
        .poll(() => inView(page, seq), { timeout: 15_000 })
        .toBe(true);
      await settle(page);
      expect(await inView(page, seq)).toBe(true);
      expect(
        await page.locator(`.row[data-seq="${seq}"]`).getAttribute("class"),
      ).toContain("selected");
      expect(await pill(page)).not.toContain("new lines");
      await page.close();
    }
  });

  it("scrolls a match found from the live end into view", async () => {
    const id = freshId("fj-search");
    let text = "";
    for (let i = 1; i <= 1_540; i++) {
      text += i === 1_500 ? `the Needle ${i}\n` : `line ${i}\n`;
    }
    await pushText(stack, token, id, text);
    await untilInHistory(stack, token, id, 1_540);
    const page = await openViewer(browser.context, stack, id, token);
    await page.waitForSelector('.row[data-seq="1540"]:not(.pending)');
    await settle(page, 500);
    // From the end, the previous match is line 1,500.
    await page.fill("#q", "needle");
    await page.keyboard.press("Shift+Enter");
    await expect
      .poll(() => page.textContent("#search-status"))
      .toBe("match at line 1,500");
    await expect.poll(() => inView(page, 1_500)).toBe(true);
    await settle(page);
    expect(await inView(page, 1_500)).toBe(true);
    expect(
      await page.locator('.row[data-seq="1500"]').getAttribute("class"),
    ).toContain("current");
    await page.close();
  });

  it("clears the waiting notice once the first line arrives", async () => {
    const id = freshId("fj-empty");
    const page = await openViewer(browser.context, stack, id, token);
    const waiting = page.locator(".notice", {
      hasText: "No line yet: waiting for the first one.",
    });
    await waiting.waitFor();
    await pushText(stack, token, id, "first\nsecond\n");
    await page.waitForSelector('.row[data-seq="2"]:not(.pending)');
    await expect.poll(() => waiting.count()).toBe(0);
    await page.close();
  });

  it("stops retrying on a bad deployment id and shows the error", async () => {
    const page = await openViewer(browser.context, stack, "bad%20id!", token);
    await page.waitForSelector("#status[data-state=error]");
    expect(await page.textContent("#notices")).toContain(
      "invalid_deployment_id",
    );
    await settle(page, 3_000);
    expect(await page.getAttribute("#status", "data-state")).toBe("error");
    const states = await page.evaluate(() =>
      (
        window as unknown as { edgetail: { states(): string[] } }
      ).edgetail.states(),
    );
    expect(states).not.toContain("reconnecting");
    await page.close();
  });
});
