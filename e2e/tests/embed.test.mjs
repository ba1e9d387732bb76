// Embedding, end to end: several consoles on one page in two languages, the custom element, the
// iframe, a tutorial on another origin, and styles that stay on their side of the shadow root.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { once } from "node:events";
import { useLab, startBridge, waitConnected, PATIENCE } from "./helpers.mjs";

let bridge, browser;
useLab((lab) => ({ bridge, browser } = lab));

test("two consoles on one page, Chinese and English, each echo on their own", async () => {
  const page = await browser.newPage();
  await page.goto(`${bridge.url}examples/npm.html`);
  const zh = page.locator("#zh");
  const en = page.locator("#en");
  await waitConnected(zh);
  await waitConnected(en);
  // panels: ["log"] — no tabs, no wire view, the log.
  assert.equal(await zh.locator(".sl-wire").isVisible(), false);
  assert.equal(await zh.getByRole("tablist").isVisible(), false);
  assert.equal(await zh.getByRole("log").isVisible(), true);
  await zh.getByRole("button", { name: "通过 TCP 发送" }).click();
  await zh.locator('[role=log] li[data-kind="echo"]', { hasText: "HELLO SOCKET" }).waitFor({ timeout: PATIENCE });
  assert.equal(await en.locator('[role=log] li[data-kind="echo"]').count(), 0, "the other console saw nothing");
  assert.equal(await zh.getByRole("button", { name: "Send via TCP" }).count(), 0, "no mixed languages");
  await en.getByRole("button", { name: "Send via UDP" }).click();
  await en.locator('[role=log] li[data-kind="echo"][data-proto="udp"]').waitFor({ timeout: PATIENCE });
  assert.equal(await zh.locator('[role=log] li[data-proto="udp"]').count(), 0);
  await page.close();
});

test("the custom element remounts when an attribute changes", async () => {
  const page = await browser.newPage();
  await page.goto(`${bridge.url}examples/element.html`);
  const lab = page.locator("#lab");
  await waitConnected(lab);
  await lab.getByRole("tab", { name: "Echo" }).waitFor({ timeout: PATIENCE });
  await page.evaluate(() => document.getElementById("lab").setAttribute("lang", "zh-CN"));
  await lab.getByRole("tab", { name: "回显" }).waitFor({ timeout: PATIENCE });
  assert.equal(await lab.getByRole("tab", { name: "Echo" }).count(), 0);
  await page.evaluate(() => document.getElementById("lab").setAttribute("experiment", "sticky"));
  await lab.locator('[role=tabpanel][data-tab="sticky"]').waitFor({ state: "visible", timeout: PATIENCE });
  await page.close();
});

test("host CSS does not reach the console, the console's CSS does not leak, theming does reach", async () => {
  const page = await browser.newPage();
  await page.goto(`${bridge.url}examples/element.html`);
  const lab = page.locator("#lab");
  await waitConnected(lab);
  const style = (locator) =>
    locator.evaluate((el) => {
      const s = getComputedStyle(el);
      return { background: s.backgroundColor, size: s.fontSize };
    });
  assert.deepEqual(await style(page.locator("#host-button")), { background: "rgb(255, 0, 0)", size: "40px" });
  const inside = await style(lab.getByRole("button", { name: "Send via TCP" }));
  assert.notEqual(inside.background, "rgb(255, 0, 0)");
  assert.notEqual(inside.size, "40px");
  // The console's own rules (.socket-lab has a border, padding) stay inside its shadow root.
  const decoy = await page.locator("#decoy").evaluate((el) => getComputedStyle(el).borderTopWidth);
  assert.equal(decoy, "0px");
  // --sl-accent set by the host page themes the selected tab.
  const tab = await style(lab.getByRole("tab", { name: "Echo" }));
  assert.equal(tab.background, "rgb(0, 128, 0)");
  await page.close();
});

test("the iframe embed tells its parent its height and the parent resizes it", async () => {
  const page = await browser.newPage();
  await page.goto(`${bridge.url}examples/iframe.html`);
  await page.waitForFunction(() => document.getElementById("lab").getBoundingClientRect().height > 300, null, { timeout: PATIENCE });
  const frame = page.frameLocator("#lab");
  await waitConnected(frame);
  await frame.locator('[role=tabpanel][data-tab="sticky"]').waitFor({ state: "visible", timeout: PATIENCE });
  await frame.getByRole("button", { name: "连续发送" }).click();
  await frame.locator(".sl-line", { hasText: "5 次 send()" }).waitFor({ timeout: PATIENCE });
  await page.close();
});

/** A free loopback port, for the other origin (the bridge must know it before it starts). */
async function freePort() {
  const probe = http.createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address();
  probe.close();
  await once(probe, "close");
  return port;
}

test("a page on another origin is accepted with --allow-origin and refused without", async () => {
  const origin = `http://127.0.0.1:${await freePort()}`;
  const allowed = await startBridge({ args: ["--allow-origin", origin] });
  const refusing = await startBridge();
  const servers = [];
  try {
    for (const [b, accepted] of [[allowed, true], [refusing, false]]) {
      const server = http.createServer((_, res) => {
        res.setHeader("content-type", "text/html; charset=utf-8");
        res.end(`<!doctype html><meta charset="utf-8">
          <script type="module" src="http://${b.http}/socket-lab.js"></script>
          <socket-lab id="lab" bridge="ws://${b.http}/ws" lang="en" panels="log"></socket-lab>`);
      });
      server.listen(Number(new URL(origin).port), "127.0.0.1");
      await once(server, "listening");
      // Closed whatever happens: a failure must fail the test, not keep node running.
      servers.push(server);
      const page = await browser.newPage();
      // What the browser's WebSocket attempts met: a refusal is the bridge's 403, not a dead
      // address (which would also leave the console retrying).
      const refusals = [];
      page.on("websocket", (ws) => ws.on("socketerror", (e) => refusals.push(String(e))));
      await page.goto(`${origin}/`);
      const lab = page.locator("#lab");
      if (accepted) {
        await waitConnected(lab);
        await lab.getByRole("button", { name: "Send via TCP" }).click();
        await lab.locator('[role=log] li[data-kind="echo"]').waitFor({ timeout: PATIENCE });
      } else {
        // The console loads (its files are public), but the bridge refuses its WebSocket (403):
        // the console asks the bridge why and says so (not "not reachable"), keeps retrying, and
        // the host page is unharmed.
        await lab.locator('.sl-status[data-state="refused"]').waitFor({ timeout: PATIENCE });
        assert.match(await lab.locator(".sl-status").textContent(), /does not accept consoles from this page .*--allow-origin/);
        assert.equal(await lab.locator('.sl-status[data-state="open"]').count(), 0);
        assert.ok(refusals.some((e) => e.includes("403")), `refused by the bridge: ${refusals}`);
      }
      await page.close();
      server.close();
      await once(server, "close");
    }
  } finally {
    for (const server of servers) server.close();
    await allowed.stop();
    await refusing.stop();
  }
});
