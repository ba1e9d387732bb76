// The timeline, end to end in Chromium: calls as intervals and packets between the lifelines,
// placed on one clock in the order physics imposes; the echo of a send in view at 1280×800
// without scrolling; IPv6 beside IPv4; and a session of 10,000 echoes that still echoes, with
// only the visible rows in the page and the dropped ones counted. (How fast it stays is measured
// by scripts/bench.sh, not asserted here: these machines are too noisy for timed tests.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { useLab, waitConnected, waitEntry, PATIENCE } from "./helpers.mjs";

let bridge, browser;
useLab((lab) => ({ bridge, browser } = lab));

const root = process.getuid?.() === 0;

async function open(viewport = { width: 1280, height: 800 }) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(bridge.url);
  await waitConnected(page);
  return { page, errors };
}

/** The drawn timeline rows as {row, kind, ...} in time order. */
const rows = (page) =>
  page.locator(".sl-diagram").evaluate((d) =>
    [...d.querySelectorAll(".sl-row")]
      .map((r) => ({
        row: Number(r.dataset.row),
        kind: r.dataset.kind,
        side: r.dataset.side,
        what: r.dataset.what,
        phase: r.dataset.phase,
        dir: r.dataset.dir,
        text: r.textContent,
        busy: [...r.querySelectorAll("[data-busy]")].map((c) => `${c.className}:${c.dataset.busy}`),
      }))
      .sort((a, b) => a.row - b.row),
  );

test("an echo's story on one clock: send, its segment, the server's recv(), the echo back, in order", async () => {
  if (!root) return; // packets need root or CAP_NET_RAW: the other tests still run
  const { page, errors } = await open();
  await page.getByRole("button", { name: "Send via TCP" }).click();
  await waitEntry(page, "echo", "tcp", "HELLO SOCKET");
  const drawn = await page.waitForFunction(
    () => {
      const d = document.querySelector("#lab .socket-lab-host").shadowRoot.querySelector(".sl-diagram");
      return [...d.querySelectorAll('.sl-arrow[data-phase="data"]')].length >= 2;
    },
    null,
    { timeout: PATIENCE },
  ).catch(() => null);
  const all = await rows(page);
  const index = (pred, what) => {
    const r = all.find(pred);
    assert.ok(r, `${what} in ${JSON.stringify(all, null, 1)}`);
    return r.row;
  };
  const segment = index((r) => r.kind === "packet" && r.phase === "data" && r.dir === "out", "the data segment");
  const serverRecv = index((r) => r.what === "server" && r.text.includes("recv(1024) → 12 B"), "the server's recv()");
  const echoSegment = index((r) => r.kind === "packet" && r.phase === "data" && r.dir === "in", "the echo's segment");
  const clientRecv = index((r) => r.what === "echo", "the client's recv() of the echo");
  // Placed by time on one clock: a segment is on the wire before the recv() that reads it returns.
  assert.ok(segment < serverRecv, `segment ${segment} before the server's recv() ${serverRecv}`);
  assert.ok(echoSegment < clientRecv, `echo ${echoSegment} before the client's recv() ${clientRecv}`);
  // Calls are intervals: the recv() that returned the echo had been waiting (a dashed lifeline),
  // and each call says how long it took or waited.
  const echoRow = all.find((r) => r.what === "echo");
  assert.match(echoRow.text, /waited \d/);
  assert.ok(echoRow.busy.includes("sl-cside:wait"), JSON.stringify(echoRow));
  assert.ok(all.some((r) => r.what === "sent" && /took \d/.test(r.text)), "send() took some time");
  // The times are one clock's: every row's time is later than the one above.
  const times = await page.locator(".sl-diagram .sl-row .sl-at").allTextContents();
  // The console's own notes (the bridge connected) have no time on the bridge's clock: "—".
  const ms = times.filter((t) => /\d/.test(t)).map((t) => parseFloat(t));
  assert.deepEqual([...ms].sort((a, b) => a - b), ms, "times never go back down the timeline");
  assert.deepEqual(errors, []);
  void drawn;
  await page.close();
});

test("at 1280×800 the echo of a send is on screen without scrolling the page", async () => {
  const { page } = await open({ width: 1280, height: 800 });
  for (const name of ["Send via TCP", "Send via UDP"]) {
    await page.getByRole("button", { name }).click();
    const proto = name.endsWith("TCP") ? "tcp" : "udp";
    await waitEntry(page, "echo", proto, "HELLO SOCKET");
    const echo = page.locator(`.sl-diagram .sl-row[data-what="echo"][data-proto="${proto}"]`).last();
    await echo.waitFor({ timeout: PATIENCE });
    const box = await echo.boundingBox();
    assert.ok(box && box.y >= 0 && box.y + box.height <= 800, `the ${proto} echo at ${JSON.stringify(box)}`);
    assert.equal(await page.evaluate(() => window.scrollY), 0, "the page was not scrolled");
  }
  await page.close();
});

test("IPv6 side by side: the same echo over ::1", async () => {
  const { page } = await open();
  await page.getByRole("radio", { name: "IPv6" }).check();
  await page.getByRole("button", { name: "Send via TCP" }).click();
  const echo = await waitEntry(page, "echo", "tcp", "HELLO SOCKET");
  assert.match(echo, /\[::1\]:\d+ → \[::1\]:\d+/, echo);
  await page.getByRole("button", { name: "Send via UDP" }).click();
  const udp = await waitEntry(page, "echo", "udp", "HELLO SOCKET");
  assert.match(udp, /\[::1\]/, udp);
  // Back to IPv4: "Send via TCP" opens a new connection over IPv4.
  await page.getByRole("radio", { name: "IPv4" }).check();
  await page.getByRole("button", { name: "Send via TCP" }).click();
  await page.locator(".sl-tcp-state", { hasText: /connected 127\.0\.0\.1/ }).waitFor({ timeout: PATIENCE });
  await page.close();
});

test("after 10,000 echoes only the visible rows are in the page, the dropped ones are counted, and a click still echoes", async () => {
  const { page, errors } = await open();
  await page.getByRole("button", { name: "Send via UDP" }).click();
  await waitEntry(page, "echo", "udp", "HELLO SOCKET");
  // 10,000 echoes: fifteen sends at a time (a socket queues at most 16 commands), each batch waited
  // for by counting the echoes the log adds (it keeps only its newest in the page).
  const done = await page.evaluate(async ([total, batch, patience]) => {
    const lab = document.querySelector("#lab .socket-lab-host").shadowRoot;
    const send = lab.querySelector(".sl-send.sl-udp");
    let echoes = 0;
    new MutationObserver((changes) => {
      for (const c of changes)
        for (const n of c.addedNodes) if (n.dataset?.kind === "echo") echoes += 1;
    }).observe(lab.querySelector("[role=log] ol"), { childList: true });
    for (let sent = 0; sent < total; ) {
      const n = Math.min(batch, total - sent);
      for (let i = 0; i < n; i++) send.click();
      sent += n;
      const deadline = performance.now() + patience;
      while (echoes < sent) {
        if (performance.now() > deadline) return echoes;
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    return echoes;
  }, [10_000, 15, PATIENCE]);
  assert.equal(done, 10_000, "every datagram came back");
  // Only the rows in view exist: a few dozen, whatever the session's length.
  const counts = await page.evaluate(() => {
    const lab = document.querySelector("#lab .socket-lab-host").shadowRoot;
    return {
      rows: lab.querySelectorAll(".sl-diagram .sl-row").length,
      log: lab.querySelectorAll("[role=log] li").length,
      all: lab.querySelectorAll("*").length,
    };
  });
  assert.ok(counts.rows <= 40, `timeline rows in the page: ${counts.rows}`);
  assert.ok(counts.log <= 200, `log entries in the page: ${counts.log}`);
  assert.ok(counts.all < 3000, `elements in the console: ${counts.all}`);
  // The timeline and the log say that older rows were dropped.
  assert.match(await page.locator(".sl-dropped").textContent(), /\d+ older rows were dropped/);
  assert.match(await page.locator(".sl-older").textContent(), /\d+ earlier lines are not shown here/);
  // And the console still works: a click echoes.
  await page.getByLabel("Message").fill("still here");
  await page.getByRole("button", { name: "Send via TCP" }).click();
  await waitEntry(page, "echo", "tcp", "STILL HERE");
  assert.deepEqual(errors, []);
  await page.close();
});
