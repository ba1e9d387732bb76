// The iframe's postMessage API, end to end: a parent page on another origin drives /embed
// (pick an experiment, send over TCP and UDP, play a recording) and hears back ready, each echo
// and errors — only from its own iframe.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startBridge, launchBrowser, PATIENCE } from "./helpers.mjs";

let bridge, browser, parentServer, parentUrl;
before(async () => {
  bridge = await startBridge();
  browser = await launchBrowser();
  // The tutorial page, served from another origin: two iframes of the console.
  parentServer = http.createServer((_, res) => {
    res.setHeader("content-type", "text/html");
    res.end(`<!doctype html><html lang="en"><title>parent</title><body>
      <iframe id="a" src="${bridge.url}embed?lang=en" style="width:900px;height:600px"></iframe>
      <iframe id="b" src="${bridge.url}embed?lang=en" style="width:900px;height:600px"></iframe>
      <script>
        window.heard = { a: [], b: [] };
        addEventListener("message", (e) => {
          for (const id of ["a", "b"])
            if (e.source === document.getElementById(id).contentWindow && e.data.type !== "socket-lab:height")
              window.heard[id].push(e.data);
        });
        window.tell = (id, message) => document.getElementById(id).contentWindow.postMessage(message, "*");
      </script></body></html>`);
  });
  await new Promise((r) => parentServer.listen(0, "127.0.0.1", r));
  parentUrl = `http://127.0.0.1:${parentServer.address().port}/`;
});
after(async () => {
  await browser?.close();
  await bridge?.stop();
  parentServer?.close();
});

test("a parent page picks an experiment, sends over TCP and UDP, and hears ready, echoes and errors", async () => {
  // The bridge accepts WebSockets from its own pages: the iframe's origin is the bridge's.
  const page = await browser.newPage();
  await page.goto(parentUrl);
  const heard = (id) => page.evaluate((id) => window.heard[id], id);
  const until = async (id, check) => {
    const end = Date.now() + PATIENCE;
    while (Date.now() < end) {
      const got = await heard(id);
      if (check(got)) return got;
      await page.waitForTimeout(50);
    }
    assert.fail(`${id}: ${JSON.stringify(await heard(id))}`);
  };
  await until("a", (h) => h.some((m) => m.type === "socket-lab:ready" && m.live === true));
  await page.evaluate(() => window.tell("a", { type: "socket-lab:send", proto: "tcp", text: "hello socket" }));
  await until("a", (h) => h.some((m) => m.type === "socket-lab:echo" && m.proto === "tcp" && m.text === "HELLO SOCKET" && m.live === true));
  await page.evaluate(() => window.tell("a", { type: "socket-lab:send", proto: "udp", text: "from the parent" }));
  await until("a", (h) => h.some((m) => m.type === "socket-lab:echo" && m.proto === "udp" && m.text === "FROM THE PARENT"));
  // The other iframe heard none of it: reports are scoped to the iframe that made them.
  assert.equal((await heard("b")).filter((m) => m.type === "socket-lab:echo").length, 0);
  // An experiment is shown; a bad one is an error reported back.
  await page.evaluate(() => window.tell("a", { type: "socket-lab:experiment", experiment: "sticky" }));
  const frame = page.frameLocator("#a");
  await frame.locator('[role=tabpanel][data-tab="sticky"]').waitFor({ state: "visible", timeout: PATIENCE });
  await page.evaluate(() => window.tell("a", { type: "socket-lab:experiment", experiment: "nope" }));
  await until("a", (h) => h.some((m) => m.type === "socket-lab:error" && m.message.includes('unknown experiment "nope"')));
  await page.close();
});

test("a parent page starts a recording's replay; the iframe reports it ready, not live, and its echoes", async () => {
  // A recording made here, live.
  const live = await browser.newPage();
  await live.goto(bridge.url);
  await live.locator('.sl-status[data-state="open"]').waitFor({ timeout: PATIENCE });
  await live.getByRole("button", { name: "Send via TCP" }).click();
  await live.locator('[role=log] li[data-kind="echo"]').waitFor({ timeout: PATIENCE });
  const [download] = await Promise.all([live.waitForEvent("download"), live.getByRole("button", { name: "Save recording" }).click()]);
  const file = await (await import("node:fs/promises")).readFile(await download.path(), "utf8");
  await live.close();

  const page = await browser.newPage();
  await page.route((url) => url.pathname === "/rec.jsonl", (route) => route.fulfill({ body: file }));
  await page.goto(parentUrl);
  await page.waitForFunction(() => window.heard.a.some((m) => m.type === "socket-lab:ready"), null, { timeout: PATIENCE });
  await page.evaluate((url) => window.tell("a", { type: "socket-lab:replay", recording: url }), `${bridge.url}rec.jsonl`);
  await page.waitForFunction(() => window.heard.a.some((m) => m.type === "socket-lab:ready" && m.live === false), null, { timeout: PATIENCE });
  await page.waitForFunction(() => window.heard.a.some((m) => m.type === "socket-lab:echo" && m.text === "HELLO SOCKET" && m.live === false), null, { timeout: PATIENCE });
  await page.frameLocator("#a").locator('.sl-status[data-state="recording"]').waitFor({ timeout: PATIENCE });
  await page.close();
});
