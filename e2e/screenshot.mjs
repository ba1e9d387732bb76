// Regenerates docs/screenshot.png (the README's picture) from the real page:
//   cargo build -p bridge && node e2e/screenshot.mjs
// Uses the default ports so the picture matches the README; stop any running bridge first.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startBridge, launchBrowser, waitConnected, waitEntry } from "./tests/helpers.mjs";

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../docs/screenshot.png");
const bridge = await startBridge({
  http: "127.0.0.1:8000", tcp: "127.0.0.1:8080", udp: "127.0.0.1:8081", tcp6: "[::1]:8080", udp6: "[::1]:8081",
});
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 760 } });
  await page.goto(bridge.url);
  await waitConnected(page);
  await page.getByLabel("Message").fill("héllo socket");
  await page.getByRole("button", { name: "Send via TCP" }).click();
  await waitEntry(page, "echo", "tcp", "HéLLO");
  await page.getByRole("button", { name: "Send via UDP" }).click();
  await waitEntry(page, "echo", "udp", "HéLLO");
  await page.getByRole("button", { name: "Close", exact: true }).click();
  await waitEntry(page, "conn", "tcp", "client closed first");
  await page.locator(".socket-lab").screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await bridge.stop();
}
