#!/usr/bin/env bash
# The one test command (README "Test"; .ci/run runs exactly this). From a fresh clone it installs
# what it needs (pinned toolchain + wasm32 target, Chromium + ChromeDriver, npm packages), then:
#   1. formatting and clippy (native and wasm32),
#   2. native tests: protocol, bridge (real sockets, real WebSockets, the real binary), console model,
#   3. the console's DOM tests in headless Chromium (wasm-bindgen-test),
#   4. end-to-end: a real Chromium drives the page served by a real bridge on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "setup"
bash scripts/setup.sh --browser

step "formatting and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p web --target wasm32-unknown-unknown --all-targets --locked -- -D warnings

step "native tests (real sockets)"
cargo test --workspace --locked

step "console tests in headless Chromium"
# wasm-bindgen's test runner, built from crates.io at the exact wasm-bindgen version (no download).
cargo build -p wasm-tools --locked
PATH="$PWD/target/debug:$PATH" cargo test -p web --target wasm32-unknown-unknown --locked

step "end-to-end: Chromium drives a real bridge"
cargo build -p bridge --locked
(cd e2e && npm test)

printf '\n\033[1mAll Socket Lab tests passed.\033[0m\n'
