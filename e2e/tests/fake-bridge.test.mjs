// What the console does with what a real bridge rarely sends: an event it does not understand
// (a newer bridge) and a 1009 close (a frame over the limit). A minimal WebSocket server plays
// the bridge here, so the test can send exactly that; the console itself is the real one,
// loaded from a real bridge.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import crypto from "node:crypto";
import { once } from "node:events";
import { useLab, PATIENCE } from "./helpers.mjs";

let bridge, browser;
useLab((lab) => ({ bridge, browser } = lab));

/** A text frame from the server (unmasked), for payloads under 64 KiB. */
function frame(text) {
  const data = Buffer.from(text);
  const head = data.length < 126 ? Buffer.from([0x81, data.length]) : Buffer.from([0x81, 126, data.length >> 8, data.length & 255]);
  return Buffer.concat([head, data]);
}

/** A close frame with `code`. */
function close(code) {
  return Buffer.from([0x88, 2, code >> 8, code & 255]);
}

/** A WebSocket server that answers each connection with `script(socket, n)` (n counts from 1). */
async function fakeBridge(script) {
  const server = http.createServer();
  let n = 0;
  server.on("upgrade", (req, socket) => {
    const key = req.headers["sec-websocket-key"];
    const accept = crypto.createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.on("error", () => {});
    script(socket, ++n);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { url: `ws://127.0.0.1:${server.address().port}/ws`, server, connections: () => n };
}

const hello = JSON.stringify({
  v: 1, t_us: 0, type: "hello", tcp_server: "127.0.0.1:8080", udp_server: "127.0.0.1:8081",
  limits: { max_message: 65536, max_sockets: 16 }, started_unix_us: 1_795_000_000_000_000,
});

test("an event the console does not understand is said in the log, in each language, and the rest goes on", async () => {
  const fake = await fakeBridge((socket) => {
    socket.write(frame(hello));
    socket.write(frame(JSON.stringify({ v: 1, t_us: 5, type: "from_a_newer_bridge", x: 1 })));
    socket.write(frame(JSON.stringify({ v: 1, t_us: 9, type: "tcp_sent", id: 1, len: 3 })));
  });
  try {
    for (const [lang, says] of [["en", "does not understand"], ["zh-CN", "无法识别"]]) {
      const page = await browser.newPage({ locale: lang });
      await page.goto(`${bridge.url}examples/element.html`);
      await page.evaluate(([url, lang]) => {
        const lab = document.createElement("socket-lab");
        lab.id = "fake";
        lab.setAttribute("bridge", url);
        lab.setAttribute("lang", lang);
        lab.setAttribute("panels", "log");
        lab.setAttribute("lazy", "false");
        document.body.append(lab);
      }, [fake.url, lang]);
      const log = page.locator("#fake [role=log]");
      const note = log.locator("li", { hasText: says });
      await note.waitFor({ timeout: PATIENCE });
      assert.match(await note.textContent(), /from_a_newer_bridge/);
      // The console is still connected and reads what comes after.
      await page.locator('#fake .sl-status[data-state="open"]').waitFor({ timeout: PATIENCE });
      await page.close();
    }
  } finally {
    fake.server.close();
  }
});

test("a 1009 close (a frame over the bridge's limit) is said, and the console reconnects", async () => {
  const fake = await fakeBridge((socket, n) => {
    socket.write(frame(hello));
    if (n === 1) setTimeout(() => socket.end(close(1009)), 200);
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${bridge.url}examples/element.html`);
    await page.evaluate((url) => {
      const lab = document.createElement("socket-lab");
      lab.id = "fake";
      lab.setAttribute("bridge", url);
      lab.setAttribute("lang", "en");
      lab.setAttribute("panels", "log");
      lab.setAttribute("lazy", "false");
      document.body.append(lab);
    }, fake.url);
    const said = page.locator("#fake [role=log] li", { hasText: "WebSocket close 1009" });
    await said.waitFor({ timeout: PATIENCE });
    // Reconnected: a second connection, and the console open on it.
    const end = Date.now() + PATIENCE;
    while (fake.connections() < 2) {
      assert.ok(Date.now() < end, "no reconnection");
      await page.waitForTimeout(100);
    }
    await page.locator('#fake .sl-status[data-state="open"]').waitFor({ timeout: PATIENCE });
    await page.close();
  } finally {
    fake.server.close();
  }
});
