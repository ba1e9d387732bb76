// The console's speed at any length, measured (scripts/bench.sh runs it; it is not a test —
// these machines are too noisy for timed assertions): click-to-echo on a fresh console and after
// 10,000 echoes in the same session, and the longest main-thread task while the echoes pour in.
// Prints one line of JSON.
import { startBridge, launchBrowser, waitConnected } from "./tests/helpers.mjs";

const bridge = await startBridge();
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(bridge.url);
  await waitConnected(page);
  const measure = (n) =>
    page.evaluate(async (n) => {
      const lab = document.querySelector("#lab .socket-lab-host").shadowRoot;
      const send = lab.querySelector(".sl-send.sl-udp");
      const log = lab.querySelector("[role=log] ol");
      const times = [];
      for (let i = 0; i < n; i++) {
        const echoed = new Promise((resolve) => {
          const o = new MutationObserver((changes) => {
            for (const c of changes)
              for (const node of c.addedNodes)
                if (node.dataset?.kind === "echo") {
                  o.disconnect();
                  resolve(performance.now());
                }
          });
          o.observe(log, { childList: true });
        });
        const start = performance.now();
        send.click();
        times.push((await echoed) - start);
        await new Promise((r) => setTimeout(r, 20));
      }
      times.sort((a, b) => a - b);
      return times[Math.floor(times.length / 2)];
    }, n);
  const fresh = await measure(30);
  // 10,000 echoes, fifteen at a time, while long tasks are recorded.
  const longest = await page.evaluate(async () => {
    const lab = document.querySelector("#lab .socket-lab-host").shadowRoot;
    const send = lab.querySelector(".sl-send.sl-udp");
    let echoes = 0;
    let longest = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) longest = Math.max(longest, e.duration);
    }).observe({ type: "longtask", buffered: false });
    new MutationObserver((changes) => {
      for (const c of changes) for (const n of c.addedNodes) if (n.dataset?.kind === "echo") echoes += 1;
    }).observe(lab.querySelector("[role=log] ol"), { childList: true });
    for (let sent = 0; sent < 10_000; ) {
      const n = Math.min(15, 10_000 - sent);
      for (let i = 0; i < n; i++) send.click();
      sent += n;
      while (echoes < sent) await new Promise((r) => setTimeout(r, 1));
    }
    return longest;
  });
  const after = await measure(30);
  console.log(
    JSON.stringify({
      click_to_echo_fresh_ms: +fresh.toFixed(2),
      click_to_echo_after_10000_ms: +after.toFixed(2),
      ratio: +(after / fresh).toFixed(2),
      longest_task_ms: +longest.toFixed(1),
    }),
  );
} finally {
  await browser.close();
  await bridge.stop();
}
