/**
 * Terminal-faithful rendering of real CI logs: colours as classes and
 * inline styles, the final state of `\r` progress lines, sections folded
 * and unfolded, and no marker text on screen. Screenshots go to
 * test-artifacts/ in light and dark, wide and at 360 px.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Browser,
  CORPUS,
  complete,
  freshId,
  launchBrowser,
  openViewer,
  type Page,
  pushLines,
  pushText,
  type Stack,
  screenshot,
  shownRows,
  untilInHistory,
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

const MARKER_TEXT =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: no ESC may show
  /section_start|section_end|##\[group\]|::group::|bk;t=|\x1b|\^\^\^ \+\+\+/;

async function openCorpus(file: string): Promise<Page> {
  const id = freshId("corpus");
  const text = readFileSync(join(CORPUS, file), "utf8");
  const { last_seq } = await pushText(stack, token, id, text);
  await complete(stack, token, id);
  // Big logs open with their head from history: let ClickHouse catch up.
  await untilInHistory(stack, token, id, last_seq);
  const page = await openViewer(browser.context, stack, id, token);
  await page.waitForSelector("#status[data-state=ended]");
  return page;
}

/** The row of `seq`, scrolled into view. */
async function row(page: Page, seq: number) {
  await page.keyboard.press(":");
  await page.fill("#jump-input", String(seq));
  await page.keyboard.press("Enter");
  const locator = page.locator(`.row[data-seq="${seq}"]:not(.pending)`);
  await locator.waitFor();
  return locator;
}

describe("rendering", () => {
  it("draws a GitLab log: colours, sections with durations, no markers", async () => {
    const page = await openCorpus("gitlab-runner__log-1.log");
    await page.keyboard.press("g");
    await page.waitForSelector('.row[data-seq="1"]');

    // `\e[32;1m$ eval ...\e[0;m`: green and bold, escapes gone.
    const evalRow = await row(page, 24);
    const green = evalRow.locator("span.fg-green.bold");
    expect(await green.textContent()).toBe('$ eval "$CI_PRE_CLONE_SCRIPT"');
    expect(await evalRow.locator(".msg").textContent()).toBe(
      '$ eval "$CI_PRE_CLONE_SCRIPT"',
    );

    // section_start + the header line after it: one header row, unfolded
    // (GitLab's default), with the section's duration from its markers.
    const header = page.locator('.row.header[data-seq="22"]');
    expect(await header.locator(".msg").textContent()).toBe(
      "Getting source from Git repository",
    );
    expect(await header.locator(".fold").getAttribute("aria-expanded")).toBe(
      "true",
    );
    expect(await header.locator(".dur").textContent()).toBe("54s");
    expect(
      await page.locator('.row[data-seq="23"]').getAttribute("class"),
    ).toBe("row hidden");

    for (const r of await shownRows(page))
      expect(r.text).not.toMatch(MARKER_TEXT);
    await screenshot(page, "gitlab-light");

    // Fold: the section's lines leave the screen; unfold: they come back.
    await header.locator(".fold").click();
    await expect
      .poll(() => page.locator('.row[data-seq="25"]').count())
      .toBe(0);
    expect(await header.locator(".fold").getAttribute("aria-expanded")).toBe(
      "false",
    );
    const after = await shownRows(page);
    const i = after.findIndex((r) => r.seq === 22);
    // The next row is the next section's header (31 is the end marker).
    expect(after[i + 1]?.seq).toBe(32);
    await screenshot(page, "gitlab-folded");
    await header.locator(".fold").click();
    await page.waitForSelector('.row[data-seq="25"]');
    expect(await page.locator('.row[data-seq="25"] .msg').textContent()).toBe(
      "Fetching changes...",
    );

    await page.emulateMedia({ colorScheme: "dark" });
    await screenshot(page, "gitlab-dark");
    await page.setViewportSize({ width: 360, height: 740 });
    await screenshot(page, "gitlab-dark-360");
    await page.close();
  });

  it("draws a Buildkite log: progress lines, headers, no timestamps as text", async () => {
    const page = await openCorpus("buildkite-t2h__buildah-build.log");
    await page.keyboard.press("g");
    await page.waitForSelector('.row[data-seq="1"]');

    // `~~~ Preparing working directory`: a header without `~~~`, folded
    // (Buildkite's default for `~~~`) since the next header closes it.
    const header = page.locator('.row.header[data-seq="1"]');
    expect(await header.locator(".msg").textContent()).toBe(
      "Preparing working directory",
    );
    expect(await header.locator(".fold").getAttribute("aria-expanded")).toBe(
      "false",
    );
    expect(await page.locator('.row[data-seq="9"]').count()).toBe(0);

    // Going to a line inside unfolds its section. `\r` rewrites: the last
    // state of the progress line wins.
    const progress = await row(page, 9);
    expect(await progress.locator(".msg").textContent()).toBe(
      "remote: Counting objects: 100% (1011/1011), done.",
    );
    expect(await header.locator(".fold").getAttribute("aria-expanded")).toBe(
      "true",
    );
    // `\e[90m$\e[0m cd ...`: bright black prompt.
    const prompt = page.locator('.row[data-seq="3"] span.fg-bright-black');
    expect(await prompt.first().textContent()).toBe("$");

    await page.keyboard.press("G");
    await page.waitForSelector('.row[data-seq="317"]');
    for (const r of await shownRows(page))
      expect(r.text).not.toMatch(MARKER_TEXT);
    await screenshot(page, "buildkite-light");
    // At 360 px the page still follows the end.
    await page.setViewportSize({ width: 360, height: 740 });
    const lastRow = page.locator('.row[data-seq="317"]');
    await expect
      .poll(async () => {
        const box = await lastRow.boundingBox();
        return box ? box.y + box.height <= 740 : false;
      })
      .toBe(true);
    await screenshot(page, "buildkite-light-360");
    await page.close();
  });

  it("draws 256 and 24-bit colours, styles, links, tabs and erases", async () => {
    const id = freshId("ansi");
    const e = "\u001b";
    await pushLines(stack, token, id, [
      { message: `${e}[38;5;208morange${e}[0m ${e}[48;2;10;20;30mnavy${e}[0m` },
      {
        message: `${e}[1mbold${e}[22m ${e}[3mitalic${e}[23m ${e}[4munder${e}[24m`,
      },
      {
        message: `${e}]8;;https://example.com/x${e}\\link${e}]8;;${e}\\ and ${e}]8;;javascript:alert(1)${e}\\bad${e}]8;;${e}\\`,
      },
      { message: "a\tb" },
      { message: `old text${e}[2K\rnew` },
      { message: `12345${e}[3D${e}[Kxy` },
      { message: `##[group]Run tests` },
      { message: "inside" },
      { message: "##[endgroup]" },
      { message: "x".repeat(5000) },
    ]);
    const page = await openViewer(browser.context, stack, id, token);
    await page.waitForSelector('.row[data-seq="10"]');

    const colours = await page
      .locator('.row[data-seq="1"] .msg span')
      .evaluateAll((spans) =>
        spans.map((s) => (s as HTMLElement).style.cssText),
      );
    expect(colours).toEqual([
      "color: rgb(255, 135, 0);",
      "background-color: rgb(10, 20, 30);",
    ]);
    for (const cls of ["bold", "italic", "underline"]) {
      expect(await page.locator(`.row[data-seq="2"] span.${cls}`).count()).toBe(
        1,
      );
    }
    const links = page.locator('.row[data-seq="3"] a:not(.ln)');
    expect(await links.count()).toBe(1);
    expect(await links.getAttribute("href")).toBe("https://example.com/x");
    expect(await page.locator('.row[data-seq="3"] .msg').textContent()).toBe(
      "link and bad",
    );
    expect(await page.locator('.row[data-seq="4"] .msg').textContent()).toBe(
      "a       b",
    );
    expect(await page.locator('.row[data-seq="5"] .msg').textContent()).toBe(
      "new",
    );
    expect(await page.locator('.row[data-seq="6"] .msg').textContent()).toBe(
      "12xy",
    );
    // A GitHub group, folded by default, its markers not shown.
    const group = page.locator('.row.header[data-seq="7"]');
    expect(await group.locator(".msg").textContent()).toBe("Run tests");
    expect(await page.locator('.row[data-seq="8"]').count()).toBe(0);
    // A long line scrolls sideways; the page itself does not widen.
    const width = await page.evaluate(
      () => document.documentElement.scrollWidth,
    );
    expect(width).toBeLessThanOrEqual(1280);
    const long = page.locator('.row[data-seq="10"]');
    const oneRow =
      (await page.locator('.row[data-seq="1"]').boundingBox())?.height ?? 0;
    expect((await long.boundingBox())?.height).toBe(oneRow);
    // Wrap: the long line takes several rows, still inside the page.
    await page.keyboard.press("w");
    await expect
      .poll(async () => (await long.boundingBox())?.height ?? 0)
      .toBeGreaterThan(oneRow * 10);
    expect(
      await page.evaluate(() => document.documentElement.scrollWidth),
    ).toBeLessThanOrEqual(1280);
    await page.keyboard.press("w");

    // Timestamps: clock time, then time since the first line.
    const ts = page.locator('.row[data-seq="1"] .ts');
    await page.keyboard.press("t");
    await expect
      .poll(() => ts.textContent())
      .toMatch(/^\d\d:\d\d:\d\d\.\d{3}$/);
    await page.keyboard.press("t");
    await expect.poll(() => ts.textContent()).toBe("+0:00.000");
    await page.keyboard.press("t");
    await expect.poll(() => page.locator(".ts").count()).toBe(0);
    await page.close();
  });
});
