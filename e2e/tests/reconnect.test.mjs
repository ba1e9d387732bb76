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
