//! Builds the browser console (`web/`, Rust → wasm32) so that `cargo run -p bridge` is the only
//! command a learner needs: the page, its JS glue and its wasm are embedded in the binary.
//!
//! How, and the traps this avoids (see `shared/notes/wasm-toolchain.md`):
//! - The inner `cargo build` uses its OWN target directory (`target/wasm-build`): with the outer
//!   build's directory it would wait forever on the outer build's lock.
//! - It runs with the outer build's flags stripped (`RUSTFLAGS`, jobserver variables, …), which
//!   are meant for the native bridge, not for wasm32.
//! - `wasm-bindgen-cli-support` is used as a library at exactly the version of `wasm-bindgen` the
//!   console is built with (both pinned with `=` in the workspace), so no CLI is needed.
//! - `omit_default_module_path(false)`: the library defaults to true (unlike the CLI), and then the
//!   generated `init()` cannot find the `.wasm` by itself.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest
        .parent()
        .expect("bridge/ sits in the workspace")
        .to_path_buf();
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));

    for watched in [
        "web/src",
        "web/Cargo.toml",
        "protocol/src",
        "protocol/Cargo.toml",
        "Cargo.lock",
        "Cargo.toml", // the `wasm` profile
        "www",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=SOCKET_LAB_WASM_PROFILE");

    // The small `wasm` profile by default (see Cargo.toml). SOCKET_LAB_WASM_PROFILE=dev builds
    // quicker while working on the console.
    let profile = env::var("SOCKET_LAB_WASM_PROFILE").unwrap_or_else(|_| "wasm".into());
    let wasm = build_console(&root, &profile);
    let pkg = out.join("pkg");
    std::fs::create_dir_all(&pkg).expect("create OUT_DIR/pkg");
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    bindgen
        .input_path(&wasm)
        .out_name("web")
        .typescript(false)
        .omit_default_module_path(false)
        // Function names are a third of the module and only help a debugger: keep them in the
        // quick `dev` build, leave them out of what learners download. (Here rather than with
        // the profile's `strip`, which would also drop the section wasm-bindgen reads features
        // from.)
        .remove_name_section(profile != "dev");
    bindgen
        .web(true)
        .expect("the web target is always available");
    if let Err(e) = bindgen.generate(&pkg) {
        panic!("wasm-bindgen could not process {}: {e:?}", wasm.display());
    }
    let glue = pkg.join("web.js");
    let js = std::fs::read_to_string(&glue).expect("read the JS glue");
    std::fs::write(&glue, strip_comments(&js)).expect("write the JS glue");
    for file in ["web.js", "web_bg.wasm"] {
        gzip(&pkg.join(file));
    }
}

/// The JS glue without its doc comments, comment lines, indentation and blank lines: what a
/// browser needs of it (−0.9 KB gzipped). wasm-bindgen writes each comment on lines of its own
/// (`/** … */` blocks and `//` lines) and no multi-line strings, so whole lines are dropped and
/// nothing inside a string is touched; the page's tests run this very file.
fn strip_comments(js: &str) -> String {
    let mut out = String::with_capacity(js.len());
    let mut in_block = false;
    for line in js.lines() {
        let t = line.trim();
        if in_block {
            in_block = !t.ends_with("*/");
            continue;
        }
        if t.starts_with("/*") {
            in_block = !t.ends_with("*/");
            continue;
        }
        if t.is_empty() || t.starts_with("//") {
            continue;
        }
        out.push_str(t);
        out.push('\n');
    }
    out
}

/// Writes `FILE.gz` next to `file`, compressed once here so the bridge can serve it to every
/// browser that accepts gzip without compressing on each request (the wasm shrinks about 3×).
/// Zopfli's default 15 iterations: more find almost nothing on these files.
fn gzip(file: &Path) {
    let raw = std::fs::read(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
    let mut packed = Vec::with_capacity(raw.len() / 2);
    zopfli::compress(
        zopfli::Options::default(),
        zopfli::Format::Gzip,
        raw.as_slice(),
        &mut packed,
    )
    .expect("compressing in memory");
    let mut name = file.as_os_str().to_owned();
    name.push(".gz");
    std::fs::write(&name, packed).unwrap_or_else(|e| panic!("write {name:?}: {e}"));
}

/// Runs the inner `cargo build` of the console for wasm32 and returns the `.wasm` it made.
fn build_console(root: &Path, profile: &str) -> PathBuf {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target_dir = root.join("target").join("wasm-build");
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args([
            "build",
            "-p",
            "web",
            "--lib",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .args(["--profile", profile])
        .arg("--target-dir")
        .arg(&target_dir);
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("could not run cargo for the console: {e}"));
    if !status.success() {
        panic!(
            "building the browser console (web/) for wasm32 failed (see the errors above).\n\
             If the wasm32 target is missing, run `rustup toolchain install --no-self-update` \
             in the repository (it reads rust-toolchain.toml) or \
             `rustup target add wasm32-unknown-unknown`."
        );
    }
    let dir = if profile == "dev" { "debug" } else { profile };
    target_dir
        .join("wasm32-unknown-unknown")
        .join(dir)
        .join("web.wasm")
}
