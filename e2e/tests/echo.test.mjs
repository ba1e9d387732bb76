// The foundation, end to end: a real Chromium types into the real console, served by a real
// bridge, whose real echo servers answer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useLab, waitConnected, waitEntry, entries, PATIENCE } from "./helpers.mjs";

let bridge, browser;
useLab((lab) => ({ bridge, browser } = lab));

async function openConsole() {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(bridge.url);
  await waitConnected(page);
  return { page, errors };
}

test("the names tutorials and scripts rely on stay unique", async () => {
  const { page } = await openConsole();
  // Playwright matches names as case-insensitive substrings, hidden elements included: a new
  // control labelled "Message size" would make getByLabel("Message") ambiguous for everyone.
  assert.equal(await page.getByLabel("Message").count(), 1);
  assert.equal(await page.getByRole("button", { name: "Send via TCP" }).count(), 1);
  assert.equal(await page.getByRole("button", { name: "Send via UDP" }).count(), 1);
  assert.equal(await page.getByRole("log").count(), 1);
  await page.close();
});

test("hello socket echoes as HELLO SOCKET over TCP and over UDP", async () => {
  const { page, errors } = await openConsole();
  await page.getByLabel("Message").fill("hello socket");
  await page.getByRole("button", { name: "Send via TCP" }).click();
  const tcpEcho = await waitEntry(page, "echo", "tcp", "HELLO SOCKET");
  assert.match(tcpEcho, /12 B/);
  assert.match(tcpEcho, /round trip the calls saw \d/);
  assert.match(tcpEcho, /waited \d/, "a recv() is an interval: it waited for the echo");
  assert.ok(tcpEcho.includes(`${bridge.tcp} →`), `the echo names the server's address: ${tcpEcho}`);

  // "Send via TCP" connected first, and the log shows the connect and the server's accept().
  const conn = await entries(page, "conn", "tcp");
  assert.ok(conn.some((t) => t.includes("three-way handshake")), conn.join("\n"));
  assert.ok((await entries(page, "server", "tcp")).some((t) => t.includes("accept()")));

  await page.getByRole("button", { name: "Send via UDP" }).click();
  const udpEcho = await waitEntry(page, "echo", "udp", "HELLO SOCKET");
  assert.ok(udpEcho.includes(`${bridge.udp} →`), udpEcho);
  const udpSent = await entries(page, "sent", "udp");
  assert.ok(udpSent.some((t) => t.includes("no connection")), udpSent.join("\n"));
  assert.deepEqual(await entries(page, "conn", "udp"), [], "UDP has no connect");
  assert.deepEqual(errors, []);
  await page.close();
});

test("héllo comes back as HéLLO: only ASCII letters are uppercased, byte-wise", async () => {
  const { page } = await openConsole();
  await page.getByLabel("Message").fill("héllo");
  await page.getByRole("button", { name: "Send via TCP" }).click();
  const tcp = await waitEntry(page, "echo", "tcp", "HéLLO");
  assert.match(tcp, /6 B/, "é is two bytes");
  await page.getByRole("button", { name: "Send via UDP" }).click();
  await waitEntry(page, "echo", "udp", "HéLLO");
  const all = await page.getByRole("log").textContent();
  assert.ok(!all.includes("HÉLLO"), "the browser never uppercases");
  await page.close();
});

test("Connect and Close show the handshake and the teardown as events", async () => {
  const { page } = await openConsole();
  const connect = page.getByRole("button", { name: "Connect" });
  const close = page.getByRole("button", { name: "Close", exact: true });
  assert.equal(await close.isDisabled(), true);
  await connect.click();
  await waitEntry(page, "conn", "tcp", "three-way handshake");
  await page.locator(".sl-tcp-state", { hasText: "connected" }).waitFor({ timeout: PATIENCE });
  await close.click();
  await waitEntry(page, "conn", "tcp", "FIN");
  await waitEntry(page, "server", "tcp", "recv() returned 0");
  await waitEntry(page, "conn", "tcp", "client closed first");
  assert.equal(await connect.isDisabled(), false);
  await page.close();
});
