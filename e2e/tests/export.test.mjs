// `bridge --export-site DIR`: the example tutorial as a static site, its recordings made at
// export time on the real kernel. Served by Python's http.server with no bridge anywhere, each
// console with a recording plays it — the tutorial's "hello socket" comes back "HELLO SOCKET" —
// labelled as a recording, in English and in Chinese.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createInterface } from "node:readline";
import { mkdtempSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { launchBrowser, PATIENCE } from "./helpers.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
let dir, server, site, browser;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "socket-lab-site-"));
  const bin = process.env.BRIDGE_BIN ?? path.join(root, "target/debug/bridge");
  execFileSync(bin, ["--export-site", dir], { stdio: ["ignore", "pipe", "inherit"], timeout: 120_000 });
  server = spawn("python3", ["-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", dir], { stdio: ["ignore", "pipe", "ignore"] });
  site = await new Promise((resolve, reject) => {
    server.once("exit", (code) => reject(new Error(`http.server exited with ${code}`)));
    createInterface({ input: server.stdout }).on("line", (line) => {
      const m = line.match(/port (\d+)/);
      if (m) resolve(`http://127.0.0.1:${m[1]}/`);
    });
  });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  server?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the export wrote the pages, the console and recordings with the kernel that made them", () => {
  const echo = readFileSync(path.join(dir, "recordings/echo.jsonl"), "utf8").trim().split("\n");
  assert.equal(JSON.parse(echo[0]).format, "socket-lab-recording");
  const hello = JSON.parse(echo[1]);
  assert.equal(hello.type, "hello");
  assert.equal(hello.kernel, `Linux ${readFileSync("/proc/sys/kernel/osrelease", "utf8").trim()}`);
  // The server's real echo is in it: the bytes the kernel carried, uppercased.
  const received = echo.map((l) => JSON.parse(l)).find((e) => e.type === "tcp_received");
  assert.equal(Buffer.from(received.data, "base64").toString(), "HELLO SOCKET");
  const index = readFileSync(path.join(dir, "index.html"), "utf8");
  assert.match(index, /<socket-lab lang="en" experiment="echo" recording="recordings\/echo.jsonl"/);
  assert.match(index, /href="zh-CN.html"/);
});

for (const [page_, lang, label, tab, burst] of [
  ["index.html", "en", "Recording, not live", "Sticky packets", /send\(\) × 5 → recv\(\) × [1-5]/],
  ["zh-CN.html", "zh-CN", "录制回放，并非实时", "粘包", /5 次 send\(\) → [1-5] 次 recv\(\)/],
]) {
  test(`served statically with no bridge, ${page_} replays the uppercased echo, labelled as a recording`, async () => {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(new URL(page_, site).href);
    const first = page.locator("socket-lab").first();
    // A console with a recording starts when the reader reaches it: the last one, far below,
    // has not started; scrolled to (below), it plays.
    const tw = page.locator('socket-lab[experiment="time-wait"]');
    await first.locator('.sl-status[data-state="recording"]', { hasText: label }).waitFor({ timeout: PATIENCE });
    await first.locator('[role=log] li[data-kind="echo"][data-proto="tcp"]', { hasText: '"HELLO SOCKET"' }).waitFor({ timeout: PATIENCE });
    assert.equal(await first.locator(".socket-lab").getAttribute("lang"), lang);
    assert.equal(await tw.locator(".socket-lab").count(), 0, "not started before it is seen");
    // Nothing on the page claims to be live: not the intro, not the packets' caption.
    assert.doesNotMatch(await page.locator("main > p").nth(1).innerText(), /live console|实时控制台/);
    const reach = (console_) => console_.evaluate((e) => e.scrollIntoView());
    await reach(page.locator('socket-lab[panels="wire"]'));
    const captured = lang === "en" ? "captured on the loopback interface by the bridge when this was recorded" : "录制时由桥接服务在回环接口上抓取";
    await page.locator(".sl-capture:visible", { hasText: captured }).first().waitFor({ timeout: PATIENCE });
    // The sticky console replays its experiment's result, from the recorded burst.
    const sticky = page.locator('socket-lab[experiment="sticky"]');
    await reach(sticky);
    await sticky.locator(".sl-line").filter({ hasText: burst }).first().waitFor({ timeout: PATIENCE });
    assert.ok((await sticky.locator("[role=tabpanel]:not([hidden])").getAttribute("aria-label")).includes(tab));
    // The queue's recorded clients fill the kernel's accept queue to backlog + 1; TIME_WAIT's
    // recording ends with the connection in TIME_WAIT on the server's port.
    const queue = page.locator('socket-lab[experiment="queue"]');
    await reach(queue);
    await queue.locator(".sl-line").filter({ hasText: /\b6\b/ }).first().waitFor({ timeout: PATIENCE });
    await reach(tw);
    await tw.locator(".sl-line").filter({ hasText: "TIME_WAIT" }).first().waitFor({ timeout: PATIENCE });
    assert.deepEqual(errors, []);
    await page.close();
  });
}

test("the static site's iframe page plays a recording given in its URL, in Chinese too", async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(new URL("embed.html?recording=recordings/echo.jsonl&lang=zh-CN", site).href);
  await page.locator('.sl-status[data-state="recording"]', { hasText: "录制回放，并非实时" }).waitFor({ timeout: PATIENCE });
  await page.locator('[role=log] li[data-kind="echo"][data-proto="tcp"]', { hasText: '"HELLO SOCKET"' }).waitFor({ timeout: PATIENCE });
  assert.deepEqual(errors, []);
  await page.close();
});
