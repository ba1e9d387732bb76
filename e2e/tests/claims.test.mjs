// Claims the README makes about the page, the embeds and the wire view that had no test: the
// example tutorial pages in both languages, the custom element's theme, height and experiment,
// the TIME_WAIT countdown and the relative/absolute switch in the wire view, and what a bridge
// without the capture privilege shows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { useLab, waitConnected, openTab, waitLine, PATIENCE } from "./helpers.mjs";

let bridge, browser;
useLab((lab) => ({ bridge, browser } = lab));

for (const [page_, lang, tab] of [["tutorial-en.html", "en", "Sticky packets"], ["tutorial-zh.html", "zh-CN", "粘包"]]) {
  test(`the example tutorial ${page_} mounts every console in its language, lazily: none connects until used`, async () => {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const sockets = [];
    page.on("websocket", (ws) => sockets.push(ws.url()));
    await page.goto(`${bridge.url}examples/${page_}`);
    const consoles = page.locator("socket-lab");
    const count = await consoles.count();
    assert.ok(count >= 6, `${count} consoles`);
    for (let i = 0; i < count; i++) {
      const lab = consoles.nth(i);
      await lab.locator('.sl-status[data-state="lazy"]').waitFor({ timeout: PATIENCE });
      assert.equal(await lab.locator(".socket-lab").getAttribute("lang"), lang);
    }
    await page.waitForTimeout(300);
    assert.deepEqual(sockets, [], "six consoles on the page, no WebSocket until one is used");
    // The reader uses the third console: it, and only it, connects.
    await consoles.nth(2).locator("button:visible").first().click();
    await waitConnected(consoles.nth(2));
    assert.equal(sockets.length, 1, JSON.stringify(sockets));
    assert.equal(await consoles.nth(0).locator(".sl-status").getAttribute("data-state"), "lazy");
    // A console opened on its experiment shows that experiment's panel, in the page's language.
    const sticky = consoles.filter({ has: page.locator(`[role=tabpanel][data-tab="sticky"]:not([hidden])`) });
    await sticky.first().waitFor({ timeout: PATIENCE });
    assert.ok((await sticky.first().locator("[role=tabpanel]:not([hidden])").getAttribute("aria-label")).includes(tab));
    assert.deepEqual(errors, []);
    await page.close();
  });
}

test("the custom element's theme, height and experiment attributes do what they say", async () => {
  const page = await browser.newPage();
  await page.goto(`${bridge.url}examples/element.html`);
  await page.evaluate(() => {
    const lab = document.createElement("socket-lab");
    lab.id = "themed";
    lab.setAttribute("theme", "dark");
    lab.setAttribute("height", "420px");
    lab.setAttribute("experiment", "lossy");
    lab.setAttribute("lang", "en");
    lab.setAttribute("lazy", "false");
    document.body.append(lab);
  });
  const lab = page.locator("#themed");
  await waitConnected(lab);
  const root = lab.locator(".socket-lab");
  assert.equal(await root.getAttribute("data-theme"), "dark");
  // Dark: a dark background behind light text.
  const [bg, fg] = await root.evaluate((e) => {
    const s = getComputedStyle(e);
    return [s.backgroundColor, s.color];
  });
  const lum = (c) => c.match(/\d+/g).slice(0, 3).reduce((a, b) => a + Number(b), 0);
  assert.ok(lum(bg) < 200 && lum(fg) > 500, `${bg} behind ${fg}`);
  const box = await lab.boundingBox();
  assert.equal(Math.round(box.height), 420);
  assert.equal(await lab.evaluate((e) => getComputedStyle(e).overflowY), "auto");
  await lab.locator('[role=tabpanel][data-tab="lossy"]:not([hidden])').waitFor({ timeout: PATIENCE });
  assert.equal(await lab.getByRole("tab", { name: "Lossy link" }).getAttribute("aria-selected"), "true");
  await page.close();
});

test("the wire view: TIME_WAIT counts down, and sequence numbers switch between relative and absolute", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(bridge.url);
  await waitConnected(page);
  await page.getByRole("button", { name: "Send via TCP" }).click();
  await page.locator('[role=log] li[data-kind="echo"]').waitFor({ timeout: PATIENCE });
  // Relative numbers: the SYN is seq=0; absolute: the kernel's random initial number. (The
  // rows are redrawn on the switch: read the row again each time.)
  await page.locator(".sl-diagram").evaluate((d) => (d.scrollTop = 0));
  const syn = page.locator('.sl-arrow[data-flags="SYN"] .sl-detail').first();
  const seq = async () => Number((await syn.textContent()).match(/seq=(\d+)/)[1]);
  const until = async (ok) => {
    const end = Date.now() + PATIENCE;
    while (!ok(await seq())) {
      assert.ok(Date.now() < end, "the numbers did not switch");
      await page.waitForTimeout(50);
    }
  };
  assert.equal(await seq(), 0);
  await page.getByLabel("Relative sequence numbers").uncheck();
  await until((n) => n > 0);
  await page.getByLabel("Relative sequence numbers").check();
  await until((n) => n === 0);
  // The client closes first: its end waits in TIME_WAIT, and the countdown goes down.
  await page.getByRole("button", { name: "Close", exact: true }).click();
  const row = page.locator('.sl-kernel li[data-state="TIME_WAIT"]');
  await row.waitFor({ timeout: PATIENCE });
  const left = async () => Number((await row.textContent()).match(/(\d+) s/)[1]);
  const first = await left();
  assert.ok(first > 50 && first <= 60, `${first} s`);
  // The list is redrawn as it changes: read the row again until the seconds go down.
  const end = Date.now() + PATIENCE;
  while ((await left()) >= first) {
    assert.ok(Date.now() < end, "the countdown did not move");
    await page.waitForTimeout(200);
  }
  await page.close();
});

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

test("a bridge that may not capture says how to allow it, in the wire view", { skip: process.getuid?.() !== 0 && "needs root to drop the capability" }, async () => {
  // The real binary without CAP_NET_RAW (and CAP_NET_ADMIN): setpriv drops them.
  const bin = path.join(root, "target/debug/bridge");
  const child = spawn("setpriv", ["--bounding-set", "-net_raw,-net_admin", bin, "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--udp", "127.0.0.1:0", "--tcp6", "off", "--udp6", "off"], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no banner")), PATIENCE);
      createInterface({ input: child.stdout }).on("line", (line) => {
        const m = line.match(/Open (http:\/\/\S+\/) /);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    const page = await browser.newPage();
    await page.goto(url);
    await waitConnected(page);
    const status = await page.locator(".sl-capture").textContent();
    assert.match(status, /setcap cap_net_raw\+ep/);
    // And the lossy link says what to run too.
    const panel = await openTab(page, "Lossy link", "lossy");
    await waitLine(panel, /This bridge cannot make a lossy link: .*setcap cap_net_raw,cap_net_admin\+ep/);
    await page.close();
  } finally {
    child.kill("SIGINT");
  }
});

test("the page speaks the reader's language, page and console alike, and can switch", async () => {
  const page = await browser.newPage({ locale: "zh-CN" });
  await page.goto(bridge.url);
  await waitConnected(page);
  assert.equal(await page.evaluate(() => document.documentElement.lang), "zh-CN");
  await page.getByRole("heading", { name: "看什么" }).waitFor({ timeout: PATIENCE });
  assert.equal(await page.getByRole("heading", { name: "What to look for" }).count(), 0);
  assert.equal(await page.locator(".socket-lab").getAttribute("lang"), "zh-CN");
  // The switch: English page, English console.
  await page.getByRole("link", { name: "English" }).click();
  await waitConnected(page);
  assert.equal(await page.evaluate(() => document.documentElement.lang), "en");
  await page.getByRole("heading", { name: "What to look for" }).waitFor({ timeout: PATIENCE });
  assert.equal(await page.locator(".socket-lab").getAttribute("lang"), "en");
  // The terminal lines name this bridge's real servers.
  const tcpPort = bridge.tcp.split(":").pop();
  assert.match(await page.locator("pre").first().textContent(), new RegExp(`nc 127\\.0\\.0\\.1 ${tcpPort}`));
  await page.close();
});

test("click-to-load fetches nothing of the console, not even its module, until the reader asks", async () => {
  const page = await browser.newPage();
  const fetched = [];
  page.on("request", (r) => fetched.push(new URL(r.url()).pathname));
  // A page of the bridge with no console of its own; the element is added as a tutorial would.
  await page.goto(`${bridge.url}examples/`);
  await page.evaluate(() => {
    const script = document.createElement("script");
    script.type = "module";
    script.src = "/socket-lab.js";
    const lab = document.createElement("socket-lab");
    lab.setAttribute("lang", "en");
    lab.setAttribute("click-to-load", "");
    document.body.append(script, lab);
  });
  const load = page.getByRole("button", { name: "Load the Socket Lab console" });
  await load.waitFor({ timeout: PATIENCE });
  await page.waitForTimeout(300);
  assert.deepEqual(fetched.filter((p) => p.startsWith("/pkg/")), [], "nothing of the console yet");
  await load.click();
  await waitConnected(page.locator("socket-lab"));
  assert.ok(fetched.includes("/pkg/web_bg.wasm") && fetched.includes("/pkg/web.js"), JSON.stringify(fetched));
  await page.close();
});

test("every experiment id opens its own tab when embedded (the iframe's ?experiment=)", async () => {
  const page = await browser.newPage();
  for (const key of ["echo", "sticky", "empty", "bigger", "nobody", "queue", "time-wait", "file", "lossy", "others", "glossary"]) {
    await page.goto(`${bridge.url}embed?lang=en&experiment=${key}`);
    const shown = page.locator("[role=tabpanel]:not([hidden])");
    await shown.first().waitFor({ timeout: PATIENCE });
    assert.equal(await shown.count(), 1, key);
    assert.equal(await shown.getAttribute("data-tab"), key);
    assert.equal(await page.locator('[role=tab][aria-selected="true"]').getAttribute("data-tab"), key);
  }
  await page.goto(`${bridge.url}embed?lang=en&experiment=nope`);
  await page.getByText('Socket Lab could not start: Socket Lab mount(): unknown experiment "nope"').waitFor({ timeout: PATIENCE });
  await page.close();
});
