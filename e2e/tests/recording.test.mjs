// Record and replay: a live session saved with "Save recording" plays back, without a bridge,
// to the same log and the same diagram, labelled as a recording (never as live); the file keeps
// the bridge's frames verbatim, with the kernel and bridge version that made them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { useLab, waitConnected, PATIENCE } from "./helpers.mjs";

let bridge, browser;
useLab((lab) => ({ bridge, browser } = lab));

/** What the log says happened (calls, not the console's own notes), and the diagram's arrows. */
async function story(page) {
  const calls = await page
    .locator('[role=log] li:not([data-kind="note"]):not([data-kind="error"])')
    .evaluateAll((all) => all.map((e) => e.textContent));
  // The diagram draws only the rows in view: scroll through it and collect every arrow.
  const diagram = page.locator(".sl-diagram");
  const arrows = new Set();
  for (let top = 0; ; top += 100) {
    const height = await diagram.evaluate((e, t) => ((e.scrollTop = t), e.scrollHeight), top);
    await page.waitForTimeout(60);
    for (const text of await page.locator(".sl-arrow").evaluateAll((all) => all.map((e) => e.textContent))) arrows.add(text);
    if (top > height) break;
  }
  return { calls, arrows: [...arrows].sort((a, b) => parseFloat(a) - parseFloat(b)) };
}

test("a saved session replays without a bridge to the same log and diagram, labelled as a recording", async () => {
  const live = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const frames = [];
  live.on("websocket", (ws) => ws.on("framereceived", (f) => frames.push(f.payload)));
  await live.goto(bridge.url);
  await waitConnected(live);
  await live.getByRole("button", { name: "Send via TCP" }).click();
  await live.locator('[role=log] li[data-kind="echo"][data-proto="tcp"]').waitFor({ timeout: PATIENCE });
  await live.getByRole("button", { name: "Send via UDP" }).click();
  await live.locator('[role=log] li[data-kind="echo"][data-proto="udp"]').waitFor({ timeout: PATIENCE });
  await live.waitForTimeout(500);
  const [download] = await Promise.all([live.waitForEvent("download"), live.getByRole("button", { name: "Save recording" }).click()]);
  const file = await readFile(await download.path(), "utf8");
  const recorded = await story(live);
  await live.close();

  // The file: a header line, then every frame exactly as the bridge sent it, and the console's
  // own commands among them, each wrapped as {"console": …}.
  const lines = file.trimEnd().split("\n");
  const header = JSON.parse(lines[0]);
  assert.equal(header.format, "socket-lab-recording");
  assert.equal(header.complete, true);
  const fromBridge = lines.slice(1).filter((l) => !l.startsWith('{"console":'));
  assert.deepEqual(fromBridge, frames.slice(0, fromBridge.length), "frames verbatim, in order");
  const sent = lines.filter((l) => l.startsWith('{"console":')).map((l) => JSON.parse(l).console);
  assert.ok(sent.some((c) => c.type === "tcp_send" && Buffer.from(c.data, "base64").toString() === "hello socket"), JSON.stringify(sent));
  const hello = JSON.parse(lines[1]);
  assert.equal(hello.type, "hello");
  assert.match(hello.kernel, /^Linux \d/);
  assert.match(hello.bridge_version, /^\d+\.\d+\.\d+/);

  // Played back by a console whose bridge does not answer (port 1 refuses).
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.route((url) => url.pathname === "/recorded.jsonl", (route) => route.fulfill({ body: file, contentType: "application/jsonl" }));
  await page.goto(`${bridge.url}embed?lang=en&bridge=ws://127.0.0.1:1/ws&recording=/recorded.jsonl`);
  const status = page.locator('.sl-status[data-state="recording"]');
  await status.waitFor({ timeout: PATIENCE });
  const kernel = (await readFile("/proc/sys/kernel/osrelease", "utf8")).trim();
  assert.match(await status.textContent(), new RegExp(`^Recording, not live: recorded \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC on Linux ${kernel.replace(/[.+]/g, "\\$&")} \\(bridge \\d`));
  await page.locator("[role=log] li", { hasText: "the bridge at ws://127.0.0.1:1/ws is not reachable, so this console plays the recording" }).waitFor({ timeout: PATIENCE });
  await page.locator("[role=log] li", { hasText: "the recording ends here" }).waitFor({ timeout: PATIENCE });
  assert.deepEqual(await story(page), recorded);
  // Nothing is live: a send says so and goes nowhere.
  await page.getByRole("button", { name: "Send via TCP" }).click();
  await page.locator("[role=log] li", { hasText: "not sent: this console is playing a recording" }).waitFor({ timeout: PATIENCE });
  await page.close();
});

test("step plays call by call; a page whose recording is missing says why and keeps trying the bridge", async () => {
  const live = await browser.newPage();
  await live.goto(bridge.url);
  await waitConnected(live);
  await live.getByRole("button", { name: "Send via TCP" }).click();
  await live.locator('[role=log] li[data-kind="echo"][data-proto="tcp"]').waitFor({ timeout: PATIENCE });
  const [download] = await Promise.all([live.waitForEvent("download"), live.getByRole("button", { name: "Save recording" }).click()]);
  const file = await readFile(await download.path(), "utf8");
  await live.close();

  const page = await browser.newPage();
  await page.route((url) => url.pathname === "/r.jsonl", (route) => route.fulfill({ body: file }));
  await page.goto(`${bridge.url}embed?lang=zh-CN&bridge=ws://127.0.0.1:1/ws&recording=/r.jsonl`);
  await page.locator('.sl-status[data-state="recording"]', { hasText: "录制回放，并非实时" }).waitFor({ timeout: PATIENCE });
  await page.getByRole("button", { name: "暂停" }).click();
  const calls = () => page.locator('[role=log] li:not([data-kind="note"]):not([data-kind="error"])').count();
  const before = await calls();
  await page.getByRole("button", { name: "单步到下一个调用" }).click();
  await page.waitForTimeout(100);
  // One more call at most per step (the recording may have reached its end).
  assert.ok((await calls()) - before <= 1);
  await page.close();

  const missing = await browser.newPage();
  await missing.goto(`${bridge.url}embed?lang=en&bridge=ws://127.0.0.1:1/ws&recording=/nothing-here.jsonl`);
  await missing.locator("[role=log] li", { hasText: "could not play the recording /nothing-here.jsonl: HTTP 404" }).waitFor({ timeout: PATIENCE });
  await missing.locator('.sl-status[data-state="retrying"]').waitFor({ timeout: PATIENCE });
  await missing.close();

  // A recording the browser cannot fetch at all (fetch() says only "TypeError"): the log says
  // what that can mean.
  const unfetchable = await browser.newPage();
  await unfetchable.goto(`${bridge.url}embed?lang=en&bridge=ws://127.0.0.1:1/ws&recording=http://127.0.0.1:1/r.jsonl`);
  await unfetchable.locator("[role=log] li", { hasText: "the browser could not fetch it (TypeError): the network failed, or the server is on another origin and does not allow this page (CORS)" }).waitFor({ timeout: PATIENCE });
  await unfetchable.close();
});

test("the .pcapng keeps the socket calls: tshark shows each as a comment on its packet", async () => {
  const page = await browser.newPage();
  await page.goto(bridge.url);
  await waitConnected(page);
  await page.getByRole("button", { name: "Send via TCP" }).click();
  await page.locator('[role=log] li[data-kind="echo"][data-proto="tcp"]').waitFor({ timeout: PATIENCE });
  await page.waitForTimeout(300);
  // The console's number for the request's packet (its first PSH-ACK), to hold against tshark's.
  await page.locator('.sl-arrow[data-flags="PSH-ACK"]').first().click();
  const heading = await page.locator(".sl-layers h4").textContent({ timeout: PATIENCE });
  const shownNumber = Number(/#(\d+)/.exec(heading)?.[1]);
  // Another socket's datagram, and a connect() the kernel refuses with a RST: each call goes
  // with its own socket's packet.
  await page.getByRole("button", { name: "Send via UDP" }).click();
  await page.locator('[role=log] li[data-kind="echo"][data-proto="udp"]').waitFor({ timeout: PATIENCE });
  await page.getByRole("tab", { name: "Nobody listening" }).click();
  await page.getByRole("button", { name: "TCP connect()" }).click();
  await page.locator("[role=log] li", { hasText: "ECONNREFUSED" }).waitFor({ timeout: PATIENCE });
  // The captured packets come a few milliseconds after the calls.
  await page.waitForTimeout(300);
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Download .pcapng (with the calls)" }).click(),
  ]);
  const { execFileSync } = await import("node:child_process");
  const path = `${(await import("node:os")).tmpdir()}/socket-lab-e2e-${process.pid}.pcapng`;
  await download.saveAs(path);
  await page.close();
  const out = execFileSync("tshark", ["-r", path, "-T", "fields", "-E", "separator=|", "-e", "tcp.flags.str", "-e", "tcp.payload", "-e", "frame.comment", "-e", "frame.number", "-e", "udp.payload"], { encoding: "utf8" });
  const rows = out.trim().split("\n").map((l) => l.split("|"));
  const hex = (s) => Buffer.from(s).toString("hex");
  const request = rows.find((r) => r[1] === hex("hello socket"));
  const reply = rows.find((r) => r[1] === hex("HELLO SOCKET"));
  assert.ok(request && reply, out);
  // "Layers of packet #N" counts as Wireshark does: the request is frame N of the file too.
  assert.equal(shownNumber, Number(request[3]), `${heading} vs\n${out}`);
  // The client's send() put the request on the wire; the server's recv() waited for it.
  assert.match(request[2], /client TCP send\(\) 12 B/, out);
  assert.match(request[2], /server TCP recv\(1024\) → 12 B/, out);
  assert.match(reply[2], /server TCP send\(\) 12 B/, out);
  assert.match(reply[2], /client TCP recv\(\) → 12 B echo/, out);
  // The handshake's SYN carries the connect().
  assert.match(rows.find((r) => r[0].includes("S") && !r[0].includes("A"))?.[2] ?? "", /connect\(\) returned/, out);
  // The datagram carries the UDP calls only; the refusal is on the RST that refused it.
  const datagram = rows.find((r) => r[4] === hex("hello socket"));
  assert.match(datagram?.[2] ?? "", /client UDP sendto\(\) 12 B/, out);
  assert.doesNotMatch(datagram[2], /TCP/, out);
  const reset = rows.find((r) => r[0].includes("R"));
  assert.match(reset?.[2] ?? "", /ECONNREFUSED/, out);
  (await import("node:fs")).rmSync(path);
});

test("an experiment replays with its results: the click is recorded and run again over the recorded events", async () => {
  const live = await browser.newPage();
  await live.goto(`${bridge.url}embed?lang=en&experiment=sticky`);
  await waitConnected(live);
  const panel = live.locator('[role=tabpanel][data-tab="sticky"]');
  await panel.getByRole("button", { name: "Run burst" }).click();
  const line = panel.locator(".sl-line").filter({ hasText: /send\(\) × 5 → recv\(\) × [1-5]/ }).first();
  await line.waitFor({ timeout: PATIENCE });
  await live.waitForTimeout(1500);
  const results = await panel.locator(".sl-block").allTextContents();
  const [download] = await Promise.all([live.waitForEvent("download"), live.getByRole("button", { name: "Save recording" }).click()]);
  const file = await readFile(await download.path(), "utf8");
  await live.close();
  assert.match(file, /\{"action":"sticky_run","next_id":\d+,"params":"[^"]*"\}/);

  const page = await browser.newPage();
  await page.route((url) => url.pathname === "/sticky.jsonl", (route) => route.fulfill({ body: file }));
  await page.goto(`${bridge.url}embed?lang=en&experiment=sticky&bridge=ws://127.0.0.1:1/ws&recording=/sticky.jsonl`);
  await page.locator("[role=log] li", { hasText: "the recording ends here" }).waitFor({ timeout: PATIENCE });
  assert.deepEqual(await page.locator('[role=tabpanel][data-tab="sticky"] .sl-block').allTextContents(), results);
  await page.close();
});
