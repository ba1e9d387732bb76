// Every experiment, end to end: a real Chromium clicks through the console served by a real
// bridge, and the results shown come from the bridge's real sockets.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { useLab, waitConnected, openTab, waitLine, PATIENCE } from "./helpers.mjs";

let bridge, browser;
useLab((lab) => ({ bridge, browser } = lab), { args: ["--show-other-clients"] });

async function console_() {
  const page = await browser.newPage();
  await page.goto(bridge.url);
  await waitConnected(page);
  return page;
}

test("sticky packets: five TCP sends arrive in fewer reads, five datagrams stay five, framing rebuilds them", async () => {
  const page = await console_();
  const panel = await openTab(page, "Sticky packets", "sticky");
  await panel.getByRole("button", { name: "Run burst" }).click();
  const tcp = await waitLine(panel, /send\(\) × 5 → recv\(\) × [1-4]/);
  // Each recv()'s bytes are shown: together, in order, they are the five messages, and there
  // are as many as the line says recv() calls — fewer than five, so some were merged.
  const reads = [...tcp.matchAll(/"([a-e]+)"/g)].map((m) => m[1]);
  const calls = Number(tcp.match(/→ recv\(\) × (\d)/)[1]);
  assert.equal(reads.join(""), "abcde", tcp);
  assert.equal(reads.length, calls, tcp);
  assert.ok(reads.some((r) => r.length > 1), `merged: ${tcp}`);
  await waitLine(panel, "merged");
  await waitLine(panel, "datagrams: 5 → recvfrom() × 5");

  await panel.getByLabel("Framing").selectOption("length");
  await panel.getByRole("button", { name: "Run burst" }).click();
  const rebuiltBlock = panel.locator(".sl-block", { hasText: "messages rebuilt by the server" });
  const rebuilt = await waitLine(rebuiltBlock, '"e"');
  assert.match(rebuilt, /^5"a""b""c""d""e"$/);
  await page.close();
});

test("empty message: 0 bytes over TCP wake nobody; a 0-byte datagram is delivered and echoed", async () => {
  const page = await console_();
  const panel = await openTab(page, "Zero bytes", "empty");
  await panel.getByRole("button", { name: "Send 0 bytes via TCP" }).click();
  await waitLine(panel, "send() of 0 bytes returned 0");
  await waitLine(panel, "server recv() calls since: 0");
  await page.waitForTimeout(1000); // absence over time: still nothing arrived
  await waitLine(panel, "server recv() calls since: 0");
  await panel.getByRole("button", { name: "Send 0 bytes via UDP" }).click();
  await waitLine(panel, /server recvfrom\(\) → 0 B from 127\.0\.0\.1:\d+/);
  await waitLine(panel, "echo received: 0 B");
  await page.close();
});

test("bigger than the buffer: TCP reads in chunks and echoes whole; UDP keeps 1024 bytes; EMSGSIZE", async () => {
  const page = await console_();
  const panel = await openTab(page, "Bigger than the buffer", "bigger");
  await panel.getByRole("button", { name: "Send big message via TCP" }).click();
  await waitLine(panel, "echo received: 3000 B of 3000 B");
  const reads = await waitLine(panel, /recv\(\) × \d+, of these sizes/);
  assert.ok(Number(reads.match(/× (\d+)/)[1]) >= 3, reads);
  // The log keeps every byte of a big payload, scrolling inside its entry instead of filling it.
  const big = await page.locator("[role=log] .sl-payload").evaluateAll((all) =>
    all.filter((e) => e.textContent.length >= 1000).map((e) => ({ shown: e.clientHeight, all: e.scrollHeight })));
  assert.ok(big.length > 0 && big.every((b) => b.shown < b.all), JSON.stringify(big));
  await panel.getByRole("button", { name: "Send big message via UDP" }).click();
  await waitLine(panel, "got 1024 B of a 3000 B datagram — 1976 B discarded by the kernel");
  await panel.getByLabel("Size (bytes)").fill("65508");
  await panel.getByRole("button", { name: "Send big message via UDP" }).click();
  await waitLine(panel, "UDP over IPv4: the largest datagram sendto() accepts is 65507 B");
  await waitLine(panel, "EMSGSIZE");
  // Over IPv6 the same 65,508 bytes are accepted (the ceiling is 65,527) and the server reads
  // its buffer's worth; 65,528 fails.
  await panel.getByLabel("IP version").selectOption("ipv6");
  await panel.getByRole("button", { name: "Send big message via UDP" }).click();
  await waitLine(panel, "UDP over IPv6: the largest datagram sendto() accepts is 65527 B");
  await waitLine(panel, "got 1024 B of a 65508 B datagram");
  await panel.getByLabel("Size (bytes)").fill("65528");
  await panel.getByRole("button", { name: "Send big message via UDP" }).click();
  await waitLine(panel, "EMSGSIZE");
  await page.close();
});

test("nobody listening: TCP refused, UDP silent, connected UDP refused", async () => {
  const page = await console_();
  const panel = await openTab(page, "Nobody listening", "nobody");
  await panel.getByRole("button", { name: "TCP connect()" }).click();
  await panel.getByRole("button", { name: "UDP sendto() (unconnected)" }).click();
  await panel.getByRole("button", { name: "UDP send() (connected socket)" }).click();
  const blocks = panel.locator(".sl-block");
  await blocks.nth(0).locator('.sl-line[data-kind="bad"]', { hasText: "ECONNREFUSED" }).waitFor({ timeout: PATIENCE });
  await blocks.nth(1).locator(".sl-line", { hasText: "the send itself succeeded" }).waitFor({ timeout: PATIENCE });
  await blocks.nth(1).locator(".sl-line", { hasText: "nothing came back within 2 s" }).waitFor({ timeout: PATIENCE });
  await blocks.nth(2).locator('.sl-line[data-kind="bad"]', { hasText: "ECONNREFUSED" }).waitFor({ timeout: PATIENCE });
  if (process.getuid?.() === 0) {
    // The kernel's answers, captured: the RST, and the ICMP packet nobody tells the
    // unconnected socket about — shown on the timeline too.
    await blocks.nth(0).locator(".sl-line", { hasText: "answered the SYN with a RST" }).waitFor({ timeout: PATIENCE });
    await blocks.nth(1).locator(".sl-line", { hasText: "this unconnected socket is never told" }).waitFor({ timeout: PATIENCE });
    await blocks.nth(2).locator(".sl-line", { hasText: "this connected socket is told" }).waitFor({ timeout: PATIENCE });
    // An ICMP error has no payload of its own: its arrow gives no length.
    const icmp = page.locator('.sl-arrow[data-phase="icmp"]').first();
    await icmp.waitFor({ timeout: PATIENCE });
    assert.doesNotMatch(await icmp.textContent(), /len=/);
  }
  await page.close();
});

test("one at a time: later clients queue, the queue fills to backlog + 1, then connects hang", async () => {
  const page = await console_();
  const panel = await openTab(page, "One at a time", "queue");
  const open = panel.getByRole("button", { name: "Open a client" });
  await open.click();
  await waitLine(panel, "client 1: served");
  for (let i = 2; i <= 8; i++) await open.click();
  await waitLine(panel, "accept queue, from the kernel: 6 waiting (backlog 5");
  await waitLine(panel, "client 2: connected (handshake done), no echo yet");
  await waitLine(panel, "client 8: connect() has not returned yet");
  // Still hanging a while later: its SYNs are being dropped, not answered.
  await page.waitForTimeout(1500);
  await waitLine(panel, "client 8: connect() has not returned yet");
  await panel.getByRole("button", { name: "Close the oldest client" }).click();
  await waitLine(panel, "client 2: served");
  // The server accepted client 2, so the queue has room: client 8's retried SYN gets in.
  await waitLine(panel, "client 8: connected (handshake done)");
  // The concurrent server serves everyone at once.
  await panel.getByLabel("Server").selectOption("many");
  for (let i = 0; i < 3; i++) await open.click();
  await waitLine(panel, "client 9: served");
  await waitLine(panel, "client 11: served");
  await page.close();
});

test("TIME_WAIT: the server closes first; restarting needs SO_REUSEADDR", async () => {
  const page = await console_();
  const panel = await openTab(page, "TIME_WAIT", "time-wait");
  await panel.getByRole("button", { name: "Connect a client" }).click();
  await waitLine(panel, "ESTABLISHED");
  await panel.getByRole("button", { name: "Server closes first" }).click();
  const tw = await waitLine(panel, /TIME_WAIT · \d+ s left/);
  assert.ok(Number(tw.match(/(\d+) s left/)[1]) <= 60, tw);
  await panel.getByRole("button", { name: "Restart without SO_REUSEADDR" }).click();
  await waitLine(panel, "EADDRINUSE");
  await panel.getByRole("button", { name: "Restart with SO_REUSEADDR" }).click();
  await waitLine(panel, "server: listening on");
  // The server log says who closed first: the server (its FIN went first on the wire).
  await page.locator('[role=log] li[data-kind="server"]', { hasText: "closes first" }).first().waitFor({ timeout: PATIENCE });
  await page.close();
});

test("TIME_WAIT keeps the first server's setting: without SO_REUSEADDR there, a restart with it fails too", async () => {
  const page = await console_();
  const panel = await openTab(page, "TIME_WAIT", "time-wait");
  await panel.getByLabel("First server").selectOption("without");
  await panel.getByRole("button", { name: "Connect a client" }).click();
  await waitLine(panel, "ESTABLISHED");
  await panel.getByRole("button", { name: "Server closes first" }).click();
  await waitLine(panel, /TIME_WAIT · \d+ s left/);
  await panel.getByRole("button", { name: "Restart with SO_REUSEADDR" }).click();
  await waitLine(panel, "EADDRINUSE");
  await page.close();
});

test("sending a file: 1 MiB over TCP comes back with a matching SHA-256; a picked file too; UDP is counted", async () => {
  const page = await console_();
  const panel = await openTab(page, "Sending a file", "file");
  await panel.getByRole("button", { name: "Send file via TCP" }).click();
  await waitLine(panel, "1048576 B sent, 1048576 B echoed, of 1048576 B");
  await waitLine(panel, "match: the echo is the file uppercased, byte for byte");

  const text = "line one\nline two\nsin newline at the end";
  await panel.getByLabel("File", { exact: true }).setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from(text) });
  await panel.getByRole("button", { name: "Send file via TCP" }).click();
  await panel.locator(".sl-block h3", { hasText: "TCP · notes.txt" }).waitFor({ timeout: PATIENCE });
  await waitLine(panel, `${text.length} B sent, ${text.length} B echoed`);
  await waitLine(panel, "client: send() × 3");
  await waitLine(panel, "match: the echo is the file uppercased, byte for byte");
  // The words are checked against a hash computed here: of the file, uppercased.
  const { createHash } = await import("node:crypto");
  const upper = createHash("sha256").update(Buffer.from(text).toString("latin1").toUpperCase(), "latin1").digest("hex");
  await waitLine(panel, `SHA-256 of what came back: ${upper}`);
  // Starting this second transfer cancelled nothing: no error about the finished first one.
  assert.equal(await page.locator('[role=log] li[data-kind="error"]').count(), 0);

  await panel.getByLabel("File", { exact: true }).setInputFiles([]);
  await panel.getByLabel("Or a generated file of (KiB)").fill("64");
  await panel.getByRole("button", { name: "Send file via UDP" }).click();
  const counts = await waitLine(panel, /datagrams: \d+ sent · \d+ received · \d+ lost/);
  const [, sent, received, lost] = counts.match(/(\d+) sent · (\d+) received · (\d+) lost/).map(Number);
  assert.equal(sent, Math.ceil(65536 / 1013));
  // On loopback to the shared server nothing is lost: every datagram came back, and the
  // echoed bytes hash as the file's. (Loss itself is checked through a real lossy link.)
  assert.equal(received, sent);
  assert.equal(lost, 0);
  await waitLine(panel, "match: the echo is the file uppercased, byte for byte");
  await page.close();
});

test("sending a file: a big transfer shows progress and can be cancelled", async () => {
  const page = await console_();
  const panel = await openTab(page, "Sending a file", "file");
  await panel.getByLabel("Or a generated file of (KiB)").fill("65536");
  await panel.getByRole("button", { name: "Send file via TCP" }).click();
  // Progress from the bridge: some bytes sent, not all.
  await waitLine(panel, /[1-9]\d* B sent, \d+ B echoed, of 67108864 B/);
  await panel.getByRole("button", { name: "Cancel" }).click();
  await waitLine(panel, "cancelled");
  const progress = await waitLine(panel, /B sent, .* of 67108864 B/);
  const sent = Number(progress.match(/(\d+) B sent/)[1]);
  assert.ok(sent < 67108864, progress);
  await page.close();
});

test("other clients: a plain TCP client (like nc) shows up with its bytes", async () => {
  const page = await console_();
  const panel = await openTab(page, "Other clients", "others");
  await waitLine(panel, "This bridge shows other clients");
  const [host, port] = bridge.tcp.split(":");
  const nc = net.connect(Number(port), host);
  await new Promise((resolve) => nc.once("connect", resolve));
  nc.write("from nc");
  await new Promise((resolve) => nc.once("data", resolve));
  const line = await waitLine(panel, "recv(1024) → 7 B");
  assert.ok(line.includes('"from nc"'), line);
  nc.destroy();
  await page.close();
});
