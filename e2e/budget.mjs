// Time from navigation to an interactive console (bridge connected), in headless Chromium:
// the median of several loads. Printed by scripts/budget.sh; not a test.
import { startBridge, launchBrowser, waitConnected } from "./tests/helpers.mjs";

const RUNS = 7;
const bridge = await startBridge({ args: ["--no-capture"] });
const browser = await launchBrowser();
const times = [];
try {
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
