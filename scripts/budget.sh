#!/usr/bin/env bash
# The console's size and speed budget, measured and printed (not a timed test):
#   - release wasm + JS glue, raw and gzipped, before and after wasm-opt -Oz (npm's binaryen),
#     what `wasm-pack build web` makes, and what the bridge really serves (gzip-encoded); the
#     goal is ≤ 120 KB gzipped;
#   - time from page load to an interactive console (bridge connected) in headless Chromium,
#     median of several loads.
# Usage: scripts/budget.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --browser
if [ ! -x tools/budget/node_modules/.bin/wasm-opt ]; then
  (cd tools/budget && npm install --no-audit --no-fund --loglevel=error)
fi

out=target/budget
cargo build -q -p web --lib --profile wasm --target wasm32-unknown-unknown --target-dir "$out"
cargo build -q -p wasm-tools
# As the bridge builds it: the `wasm` profile, no function-name section.
target/debug/wasm-bindgen --target web --remove-name-section --out-dir "$out/pkg" --out-name web \
  "$out/wasm32-unknown-unknown/wasm/web.wasm"
tools/budget/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-reference-types \
  "$out/pkg/web_bg.wasm" -o "$out/pkg/web_bg.opt.wasm"

size() { wc -c < "$1" | tr -d ' '; }
gz() { gzip -9 -c "$1" | wc -c | tr -d ' '; }
js="$out/pkg/web.js"; raw="$out/pkg/web_bg.wasm"; opt="$out/pkg/web_bg.opt.wasm"
printf '\n%-28s %10s %10s\n' "file" "bytes" "gzip -9"
printf '%-28s %10s %10s\n' "web.js (glue)" "$(size "$js")" "$(gz "$js")"
printf '%-28s %10s %10s\n' "web_bg.wasm (as built)" "$(size "$raw")" "$(gz "$raw")"
printf '%-28s %10s %10s\n' "web_bg.wasm (wasm-opt -Oz)" "$(size "$opt")" "$(gz "$opt")"
printf '%-28s %10s %10s\n' "total as built" "" "$(( $(gz "$js") + $(gz "$raw") ))"
printf '%-28s %10s %10s   (goal: ≤ 120000)\n\n' "total after wasm-opt" "" "$(( $(gz "$js") + $(gz "$opt") ))"

# What `wasm-pack build web` makes, as the README writes it: the release profile (which builds
# the web crate small and stripped) and wasm-bindgen's bundler glue (wasm-pack's default target;
# wasm-opt is off for wasm-pack in web/Cargo.toml).
cargo build -q -p web --lib --release --target wasm32-unknown-unknown --target-dir "$out"
target/debug/wasm-bindgen --target bundler --out-dir "$out/npm" --out-name web \
  "$out/wasm32-unknown-unknown/release/web.wasm" 2>/dev/null
npm_total=$(( $(gz "$out/npm/web_bg.wasm") + $(gz "$out/npm/web_bg.js") + $(gz "$out/npm/web.js") ))
printf '%-28s %10s %10s   (goal: ≤ 120000)\n\n' "wasm-pack build web" "$(size "$out/npm/web_bg.wasm")" "$npm_total"

# What a browser really downloads from the bridge (gzip-encoded), and the time to interactive.
cargo build -q -p bridge
node e2e/budget.mjs
