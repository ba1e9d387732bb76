// What the bridge really serves (the console's JS and wasm, gzip-encoded), and the time from
// navigation to an interactive console (bridge connected) in headless Chromium: the median of
// several loads. Printed by scripts/budget.sh; not a test.
import { startBridge, launchBrowser, waitConnected } from "./tests/helpers.mjs";

const RUNS = 7;
const bridge = await startBridge({ args: ["--no-capture"] });
const browser = await launchBrowser();
const times = [];
try {
  // What a browser really downloads from the bridge: the console gzip-encoded.
  let served = 0;
  for (const file of ["pkg/web.js", "pkg/web_bg.wasm"]) {
    const response = await fetch(bridge.url + file, { headers: { "accept-encoding": "gzip" } });
    // Node's fetch unpacks the body; Content-Length is what travelled.
    const unpacked = (await response.arrayBuffer()).byteLength;
    const sent = Number(response.headers.get("content-length") ?? unpacked);
    const encoding = response.headers.get("content-encoding") ?? "identity";
    console.log(`served by the bridge: ${file} ${sent} bytes (${encoding}; ${unpacked} unpacked)`);
    served += sent;
  }
  const GOAL = 120000;
  const verdict = served <= GOAL ? `within, ${GOAL - served} bytes to spare` : `OVER by ${served - GOAL} bytes`;
  console.log(`served by the bridge, total: ${served} bytes (goal: ≤ ${GOAL}: ${verdict})`);
  for (let i = 0; i < RUNS; i++) {
    const page = await browser.newPage();
    await page.goto(bridge.url);
    await waitConnected(page);
    times.push(await page.evaluate(() => performance.now()));
    await page.close();
  }
} finally {
  await browser.close();
  await bridge.stop();
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(`time to interactive (page load → bridge connected), median of ${RUNS}: ${median.toFixed(0)} ms`);
console.log(`  all runs: ${times.map((t) => t.toFixed(0)).join(", ")} ms`);
