// The console without a mouse, and for a screen reader: a real Chromium drives the page served
// by a real bridge with the keyboard only (the tab list with arrow keys, sends with Enter, a packet
// opened with Enter, its fields and bytes read by focus), and checks what a screen reader is
// given to say: one summary per exchange, the log one keystroke (Alt+L) away. Out-of-range
// numbers are refused with their range, in both languages.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useLab, waitConnected, openTab, PATIENCE } from "./helpers.mjs";

let bridge, browser;
useLab((lab) => ({ bridge, browser } = lab));

async function console_(locale = "en") {
  const page = await browser.newPage({ locale, viewport: { width: 1280, height: 900 } });
  await page.goto(bridge.url);
  await waitConnected(page);
  return page;
}

/** The accessible name of the focused element inside the console's shadow root. */
const focused = (page) =>
  page.evaluate(() => {
    const root = document.querySelector(".socket-lab-host").shadowRoot;
    const e = root.activeElement;
    return e ? { tag: e.tagName, role: e.getAttribute("role"), text: e.textContent.trim(), key: e.dataset.tab } : null;
  });

test("the tab list with arrow keys, Home and End: focus and the shown panel move together", async () => {
  const page = await console_();
  await page.getByRole("tab", { name: "Echo" }).focus();
  const selected = () => page.locator('[role=tab][aria-selected="true"]').getAttribute("data-tab");
  // One stop in the Tab order: only the selected tab is focusable with Tab.
  assert.deepEqual(await page.locator('[role=tab][tabindex="0"]').evaluateAll((t) => t.map((e) => e.dataset.tab)), ["echo"]);
  await page.keyboard.press("ArrowRight");
  assert.equal(await selected(), "sticky");
  assert.equal((await focused(page)).key, "sticky");
  // The tab names the panel it controls, and that panel is the one shown.
  const controls = await page.locator('[role=tab][data-tab="sticky"]').getAttribute("aria-controls");
  assert.equal(await page.locator(`#${controls}`).isVisible(), true);
  assert.equal(await page.locator(`#${controls}`).getAttribute("data-tab"), "sticky");
  await page.keyboard.press("End");
  assert.equal(await selected(), "glossary");
  await page.keyboard.press("ArrowRight");
  assert.equal(await selected(), "echo", "Right on the last tab wraps to the first");
  await page.keyboard.press("ArrowLeft");
  assert.equal(await selected(), "glossary");
  await page.keyboard.press("Home");
  assert.equal(await selected(), "echo");
  assert.equal((await focused(page)).key, "echo");
  await page.close();
});

test("keyboard only: Enter sends over TCP, a focused 'Send via UDP' sends over UDP; one summary per exchange", async () => {
  const page = await console_();
  const log = page.locator("[role=log]");
  assert.equal(await log.getAttribute("aria-live"), "off", "the log is not read line by line");
  const status = page.locator(".sl-announce[role=status]");
  // Count every change of the announced text.
  await status.evaluate((e) => {
    window.announced = [];
    new MutationObserver(() => window.announced.push(e.textContent)).observe(e, { childList: true, characterData: true, subtree: true });
  });
  await page.getByRole("textbox", { name: "Message" }).focus();
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.type("keys only");
  await page.keyboard.press("Enter");
  await log.locator('li[data-kind="echo"][data-proto="tcp"]').first().waitFor({ timeout: PATIENCE });
  await page.waitForTimeout(300);
  let announced = await page.evaluate(() => window.announced);
  assert.equal(announced.length, 1, JSON.stringify(announced));
  assert.match(announced[0], /^TCP: recv\(\) → 9 B echo .*KEYS ONLY/);
  // The log had the whole story: more lines than the one summary.
  assert.ok((await log.locator("li").count()) >= 4);

  await page.getByRole("button", { name: "Send via UDP" }).focus();
  await page.keyboard.press("Enter");
  await log.locator('li[data-kind="echo"][data-proto="udp"]').first().waitFor({ timeout: PATIENCE });
  await page.waitForTimeout(300);
  announced = await page.evaluate(() => window.announced);
  assert.equal(announced.length, 2, JSON.stringify(announced));
  assert.match(announced[1], /^UDP: recvfrom\(\) → 9 B echo .*KEYS ONLY/);

  // The detail, one keystroke away.
  await page.keyboard.press("Alt+l");
  assert.equal((await focused(page)).role, "log");
  await page.close();
});

test("a packet opened with Enter; its fields take focus and light up their bytes, which are also written out", async () => {
  const page = await console_();
  await page.getByRole("button", { name: "Send via TCP" }).click();
  await page.locator('[role=log] li[data-kind="echo"]').first().waitFor({ timeout: PATIENCE });
  const arrow = page.locator('.sl-arrow[data-flags="PSH-ACK"]').first();
  await arrow.focus();
  await page.keyboard.press("Enter");
  const layers = page.locator(".sl-layers");
  await layers.getByRole("heading", { name: /Layers of packet #\d+/ }).waitFor({ timeout: PATIENCE });
  // Fields are in the Tab order: from the TCP source port, Tab reaches the next fields.
  await layers.locator("dt").filter({ hasText: "source port" }).last().focus();
  const hex = await layers.locator(".sl-hex span").evaluateAll((s) => s.map((e) => e.textContent));
  for (const name of ["destination port", "sequence number"]) {
    await page.keyboard.press("Tab");
    const now = await page.evaluate(() => {
      const e = document.querySelector(".socket-lab-host").shadowRoot.activeElement;
      return { tag: e.tagName, text: e.textContent, start: Number(e.dataset.start), end: Number(e.dataset.end) };
    });
    assert.equal(now.tag, "DT", `Tab goes to the next field (${name})`);
    assert.ok(now.text.startsWith(`${name} = `), now.text);
    // Its bytes light up in the dump…
    const lit = await layers.locator(".sl-hex span.sl-hl").evaluateAll((s) => s.map((e) => Number(e.dataset.i)));
    assert.deepEqual(lit, Array.from({ length: now.end - now.start }, (_, i) => now.start + i), name);
    // …and are written beside the field, for a reader who cannot see the highlight.
    const field = layers.locator("dt").filter({ hasText: `${name} = ` }).last();
    const written = await field.locator("xpath=following-sibling::dd[1]").locator(".sl-bytes").textContent();
    assert.equal(written, `bytes ${now.start}–${now.end - 1}: ${hex.slice(now.start, now.end).join(" ")}`);
  }
  await page.close();
});

for (const [locale, tab, size, message] of [
  ["en", "Bigger than the buffer", "Size (bytes)", /^not sent: Size \(bytes\) takes a whole number from 0 to \d+, not “-5”$/],
  ["zh-CN", "超过缓冲区", "大小（字节）", /^未发送：大小（字节）须为 0 到 \d+ 之间的整数，而不是“-5”$/],
]) {
  test(`an out-of-range number sends nothing and says the range (${locale})`, async () => {
    const page = await console_(locale);
    const panel = await openTab(page, tab, "bigger");
    await panel.getByLabel(size).fill("-5");
    const packets = await page.locator(".sl-arrow").count();
    await panel.getByRole("button").first().click();
    const refused = page.locator('[role=log] li[data-kind="error"]').last();
    await refused.waitFor({ timeout: PATIENCE });
    assert.match((await refused.locator(".sl-text").textContent()).trim(), message);
    await page.waitForTimeout(500);
    assert.equal(await page.locator(".sl-arrow").count(), packets, "no packet left");
    await page.close();
  });
}
