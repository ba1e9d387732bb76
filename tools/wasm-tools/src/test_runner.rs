//! `wasm-bindgen-test-runner`, built from the `wasm-bindgen-cli` crate.
//!
//! Why this exists: the lab's machines cannot download prebuilt binaries, and
//! `cargo install wasm-bindgen-cli` takes minutes on every fresh machine. Built as part of the
//! workspace it shares `Cargo.lock` and the target directory, so its version always equals the
//! `wasm-bindgen` the console uses (the runner refuses any other version).
//! `scripts/test.sh` puts it on `PATH`; `.cargo/config.toml` names it as the wasm32 runner.

fn main() {
    if let Err(e) =
        wasm_bindgen_cli::wasm_bindgen_test_runner::run_cli_with_args(std::env::args_os())
    {
        eprintln!("error: {e:?}");
        std::process::exit(1);
    }
}
