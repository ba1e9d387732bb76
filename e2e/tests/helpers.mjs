// Shared helpers for the end-to-end tests: start a real bridge on free ports, and a real
// headless Chromium (Debian's /usr/bin/chromium; nothing is downloaded).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { before, after } from "node:test";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Generous: CI is a loaded 2-core machine. Tests wait for effects, never for fixed times. */
export const PATIENCE = 30_000;

/**
 * Starts `bridge` (by default every port picked by the kernel) and resolves once it printed its
 * banner. Returns { url, http, tcp, udp, stop() }.
 */
export async function startBridge({ http = "127.0.0.1:0", tcp = "127.0.0.1:0", udp = "127.0.0.1:0", tcp6 = "[::1]:0", udp6 = "[::1]:0", args: extra = [] } = {}) {
  const bin = process.env.BRIDGE_BIN ?? path.join(root, "target/debug/bridge");
  const args = ["--http", http, "--tcp", tcp, "--udp", udp, "--tcp6", tcp6, "--udp6", udp6, ...extra];
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const banner = {};
  const ready = new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`bridge exited early with ${code}`)));
    lines.on("line", (line) => {
      let m;
      if ((m = line.match(/Open (http:\/\/(\S+)\/) /))) [banner.url, banner.http] = [m[1], m[2]];
      if ((m = line.match(/TCP echo server: (\S+)/))) banner.tcp = m[1];
      if ((m = line.match(/UDP echo server: (\S+)/))) banner.udp = m[1];
      if (line.includes("Ctrl-C")) resolve();
    });
  });
  const timeout = setTimeout(() => child.kill(), PATIENCE);
  await ready;
  clearTimeout(timeout);
  return {
    ...banner,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGINT");
      await once(child, "exit");
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--no-first-run", "--disable-quic",
    ],
  });
}

/**
 * One bridge (started with `options`, as `startBridge` takes them) and one Chromium for a test
 * file: registers the file's `before` hook that starts them and hands them to `set`, and the
 * `after` hook that stops them.
 *
 *     let bridge, browser;
 *     useLab((lab) => ({ bridge, browser } = lab));
 */
export function useLab(set, options) {
  const lab = {};
  before(async () => {
    lab.bridge = await startBridge(options);
    lab.browser = await launchBrowser();
    set(lab);
  });
  after(async () => {
    await lab.browser?.close();
    await lab.bridge?.stop();
  });
}

/** Resolves when the console in `scope` (page or locator) says the bridge is connected. */
export async function waitConnected(scope) {
  await scope.locator('.sl-status[data-state="open"]').waitFor({ timeout: PATIENCE });
}

/** Text of the log entries of one kind and protocol, e.g. ("echo", "tcp"). */
export async function entries(scope, kind, proto) {
  return scope.locator(`[role=log] li[data-kind="${kind}"][data-proto="${proto}"]`).allTextContents();
}

/** Waits until some log entry of (kind, proto) contains `text`; returns its text. */
export async function waitEntry(scope, kind, proto, text) {
  const entry = scope
    .locator(`[role=log] li[data-kind="${kind}"][data-proto="${proto}"]`)
    .filter({ hasText: text })
    .first();
  await entry.waitFor({ timeout: PATIENCE });
  return entry.textContent();
}

/** Opens the experiment tab named `name`; returns its panel. */
export async function openTab(page, name, key) {
  await page.getByRole("tab", { name }).click();
  const panel = page.locator(`[role=tabpanel][data-tab="${key}"]`);
  await panel.waitFor({ state: "visible", timeout: PATIENCE });
  return panel;
}

/** Waits until a result line of `panel` contains `text` (string or RegExp); returns its text. */
export async function waitLine(panel, text) {
  const line = panel.locator(".sl-line").filter({ hasText: text }).first();
  await line.waitFor({ timeout: PATIENCE });
  return line.textContent();
}
