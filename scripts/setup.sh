#!/usr/bin/env bash
# Installs what building and testing Socket Lab needs, and nothing that is already there.
# Idempotent: every step checks first. Called by scripts/test.sh and scripts/run.sh.
#
#   scripts/setup.sh            toolchain + wasm target (enough for `cargo run -p bridge`)
#   scripts/setup.sh --browser  also Chromium, ChromeDriver and the e2e npm packages
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# 1. The pinned toolchain and the wasm32 target (this environment sets RUSTUP_AUTO_INSTALL=0,
#    so cargo would not fetch them by itself).
if ! rustup target list --installed --toolchain "$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)" 2>/dev/null \
    | grep -q wasm32-unknown-unknown; then
  say "installing the pinned Rust toolchain and the wasm32 target"
  rustup toolchain install --no-self-update
fi

[ "${1:-}" = "--browser" ] || exit 0

# 2. Chromium + ChromeDriver from Debian (test tools never download their own browser here).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  say "installing chromium and chromium-driver (Debian packages)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    chromium chromium-driver >/dev/null
fi

# 3. playwright-core for the end-to-end tests (no browser download: it drives /usr/bin/chromium).
if [ ! -d e2e/node_modules/playwright-core ]; then
  say "installing e2e npm packages"
  (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
