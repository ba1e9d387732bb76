// The bridge goes away and comes back: the console says so, keeps retrying with backoff, and
// works again once the bridge is back — without reloading the page.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startBridge, launchBrowser, waitConnected, waitEntry, PATIENCE } from "./helpers.mjs";

let browser;
after(async () => browser?.close());

test("the console reports a lost bridge, retries, and reconnects when it is back", async () => {
  let bridge = await startBridge();
  browser = await launchBrowser();
  const page = await browser.newPage();
  await page.goto(bridge.url);
  await waitConnected(page);

  await bridge.stop();
  await page.locator('.sl-status[data-state="retrying"]').waitFor({ timeout: PATIENCE });
  assert.match(await page.locator(".sl-status").textContent(), /not reachable .* retrying in \d+ s/);
  assert.equal(await page.locator(".sl-howto").isVisible(), true);
  assert.match(await page.locator(".sl-howto").textContent(), /cargo run -p bridge/);
  await waitEntry(page, "error", "", "lost the bridge");

  // Sending now explains why nothing happens, instead of failing silently.
  await page.getByRole("button", { name: "Send via UDP" }).click();
  await waitEntry(page, "error", "udp", "not sent: the bridge is not connected");

  // The same address again: the console finds it on its next attempt.
  bridge = await startBridge({ http: bridge.http });
  try {
    await waitConnected(page);
    assert.equal(await page.locator(".sl-howto").isVisible(), false);
    await page.getByRole("button", { name: "Send via UDP" }).click();
    await waitEntry(page, "echo", "udp", "HELLO SOCKET");
  } finally {
    await bridge.stop();
  }
});

test("an idle session is closed by the bridge with its reason, in each language; the next action reconnects and is carried out", async () => {
  const bridge = await startBridge({ args: ["--idle-timeout", "2"] });
  browser ??= await launchBrowser();
  try {
    for (const [lang, said, status] of [
      // The time as the bridge was given it (--idle-timeout 2), not rounded up to "1 min".
      ["en", "the bridge closed this session after 2 s without a command", /disconnected after 2 s without use/],
      ["zh-CN", "桥接服务在 2 秒没有收到命令后关闭了这个会话", /闲置 2 秒后已断开/],
    ]) {
      const page = await browser.newPage({ locale: lang });
      await page.goto(bridge.url);
      await waitConnected(page);
      // Two seconds without a command: the bridge closes with code 4000 and says why; the
      // console does not reconnect by itself (an idle tab costs the bridge nothing).
      await page.locator('.sl-status[data-state="idle"]').waitFor({ timeout: PATIENCE });
      assert.match(await page.locator(".sl-status").textContent(), status);
      await waitEntry(page, "error", "", said);
      assert.equal(await page.locator('.sl-status[data-state="idle"]').count(), 1, "still idle");
      // The learner acts: the console reconnects and carries the action out.
      await page.locator(".sl-send.sl-udp").click();
      await waitEntry(page, "echo", "udp", "HELLO SOCKET");
      await page.close();
    }
  } finally {
    await bridge.stop();
  }
});

test("a console the bridge refuses says why, in each language, instead of 'start the bridge'", async () => {
  // One session per address: the first page takes it; the second is refused with 429, which
  // the browser hides from the page — the console asks the bridge why and says it.
  const bridge = await startBridge({ args: ["--max-sessions-per-ip", "1"] });
  browser ??= await launchBrowser();
  try {
    const first = await browser.newPage();
    await first.goto(bridge.url);
    await waitConnected(first);
    for (const [lang, said] of [
      ["en", /refused this console .*--max-sessions-per-ip.* retrying in \d+ s/],
      ["zh-CN", /拒绝了本控制台.*--max-sessions-per-ip.*秒后重试/],
    ]) {
      const page = await browser.newPage({ locale: lang });
      await page.goto(bridge.url);
      await page.locator('.sl-status[data-state="refused"]').waitFor({ timeout: PATIENCE });
      assert.match(await page.locator(".sl-status").textContent(), said);
      assert.equal(await page.locator(".sl-howto").isVisible(), false, "no 'start the bridge' when it answered");
      await page.close();
    }
    // The first closes its tab: the refused console gets in on its next attempt.
    const page = await browser.newPage();
    await page.goto(bridge.url);
    await page.locator('.sl-status[data-state="refused"]').waitFor({ timeout: PATIENCE });
    await first.close();
    await waitConnected(page);
    await page.getByRole("button", { name: "Send via UDP" }).click();
    await waitEntry(page, "echo", "udp", "HELLO SOCKET");
    await page.close();
  } finally {
    await bridge.stop();
  }
});
