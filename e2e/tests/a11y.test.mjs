// Accessibility, checked by a tool nobody here wrote: axe-core, injected into Chromium, on every
// page a reader meets (the console's page, the iframe embed, the example tutorials in English
// and Chinese, the element example), in light and dark, before and after traffic (a TCP and a
// UDP echo, a packet opened). Any violation fails the test (the issue asks for no serious or
// critical one; the pages have none of the moderate and minor kind either, and keep it so).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { useLab, PATIENCE } from "./helpers.mjs";

const axeSource = await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let bridge, browser;
useLab((lab) => ({ bridge, browser } = lab));

/** The violations on `page`, whatever their impact, as readable lines. */
async function violations(page) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.slice(0, 3).map((n) => `${n.target.join(" ")}: ${n.failureSummary?.split("\n")[1] ?? ""}`),
    }));
  });
  return result.map((v) => `${v.impact} ${v.id}\n    ${v.nodes.join("\n    ")}`);
}

/** Some traffic: a TCP and a UDP echo in every console that has the buttons, a packet opened. */
async function traffic(page) {
  const sends = page.getByRole("button", { name: "Send via TCP" });
  if ((await sends.count()) === 0) return;
  // The first console with the echo buttons (a tutorial's first console may show other panels).
  const lab = page.locator(".socket-lab", { has: sends.first() }).first();
  await lab.getByRole("button", { name: "Send via TCP" }).click();
  await lab.locator('[role=log] li[data-kind="echo"]').first().waitFor({ timeout: PATIENCE });
  await lab.getByRole("button", { name: "Send via UDP" }).click();
  await lab.locator('[role=log] li[data-kind="echo"][data-proto="udp"]').first().waitFor({ timeout: PATIENCE });
  const packet = lab.locator(".sl-arrow:visible").first();
  if ((await packet.count()) > 0) await packet.click();
}

const pages = [
  ["/", "en"],
  ["/", "zh-CN"],
  ["/embed?lang=en", "en"],
  ["/examples/tutorial-en.html", "en"],
  ["/examples/tutorial-zh.html", "zh-CN"],
  ["/examples/element.html", "en"],
  ["/examples/iframe.html", "en"],
  ["/examples/npm.html", "en"],
  ["/examples/", "en"],
];

for (const [path, locale] of pages) {
  for (const colorScheme of ["light", "dark"]) {
    test(`axe-core: ${path} (${locale}, ${colorScheme}), before and after traffic`, async () => {
      const page = await browser.newPage({ locale, colorScheme, viewport: { width: 1280, height: 900 } });
      await page.goto(new URL(path, bridge.url).href);
      // A console on the page is ready: connected, or lazy (a page of several connects each on
      // first use); element.html also has a decoy .socket-lab div; the examples' index and the
      // iframe page hold none of their own.
      if (!path.endsWith("/examples/") && !path.includes("iframe"))
        await page.locator('.sl-status[data-state="open"], .sl-status[data-state="lazy"]').first().waitFor({ timeout: PATIENCE });
      const before = await violations(page);
      await traffic(page);
      const after = await violations(page);
      assert.deepEqual([...before, ...after], [], `${path}:\n${[...before, ...after].join("\n")}`);
      await page.close();
    });
  }
}
