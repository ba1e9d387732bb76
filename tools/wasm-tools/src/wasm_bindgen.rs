//! `wasm-bindgen`, built from the `wasm-bindgen-cli` crate at the exact version the console uses.
//!
//! `wasm-pack build web` looks for `wasm-bindgen` on `PATH` and uses it only when its version is
//! exactly the crate's; otherwise it tries to download one (which fails on the lab's machines).
//! `scripts/wasm-pack.sh` puts this binary first on `PATH`.

fn main() {
    if let Err(e) = wasm_bindgen_cli::wasm_bindgen::run_cli_with_args(std::env::args_os()) {
        eprintln!("error: {e:?}");
        std::process::exit(1);
    }
}
