#!/usr/bin/env bash
# Installs what building and testing Socket Lab needs, and nothing that is already there.
# Idempotent: every step checks first. Called by scripts/test.sh and scripts/run.sh.
#
#   scripts/setup.sh            toolchain + wasm target (enough for `cargo run -p bridge`)
#   scripts/setup.sh --browser  also what the tests drive: Chromium, ChromeDriver, nginx (two
#                               bridges behind a proxy), iproute2's `ss` (a reference for kernel
#                               state), nftables' `nft` (a reference for the lossy link's rules;
#                               the bridge itself writes them over netlink), tshark (reads
#                               the console's .pcapng) and the e2e npm packages
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

# 2. Debian packages: Chromium + ChromeDriver (test tools never download their own browser
#    here), nginx (the reverse proxy of the deployment test; only its binary is used, the
#    package's own service is left alone), iproute2 (`ss`), nftables (`nft`), util-linux's
#    `setpriv` (runs the bridge without a capability), tshark (reads the .pcapng back) and
#    python3 (serves the exported static site, as a tutorial author would).
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v ss >/dev/null || missing+=(iproute2)
command -v nft >/dev/null || [ -x /usr/sbin/nft ] || missing+=(nftables)
command -v setpriv >/dev/null || missing+=(util-linux)
command -v tshark >/dev/null || missing+=(tshark)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} (Debian packages)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # policy-rc.d exit 101: do not start the services the packages bring (nginx on port 80);
  # a machine's own policy-rc.d, if it has one, is left as it is.
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    own_policy=yes
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    "${missing[@]}" >/dev/null
  [ -z "$own_policy" ] || $SUDO rm -f /usr/sbin/policy-rc.d
fi

# 3. playwright-core for the end-to-end tests (no browser download: it drives /usr/bin/chromium)
#    and axe-core for the accessibility checks.
if [ ! -d e2e/node_modules/playwright-core ] || [ ! -d e2e/node_modules/axe-core ]; then
  say "installing e2e npm packages"
  (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
