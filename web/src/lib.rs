//! Socket Lab's browser console.
//!
//! `mount(element, options)` builds one console inside `element` and returns a handle with
//! `destroy()`. Each console owns its state, its DOM and its WebSocket: there is no global state,
//! so any number of consoles can live on one page.
//!
//! The layers, from the inside out:
//! - [`model`]: the console's state as plain Rust; intents in, bridge events in, tested natively.
//! - [`present`] and [`i18n`]: turn the state into words, in English or Chinese.
//! - [`view`]: the thin DOM layer (web-sys) that draws the model and forwards clicks.
//! - [`link`]: the WebSocket to the bridge, with reconnection and backoff.
//! - [`console`]: wires the three together for one mounted console.

mod console;
mod experiments;
mod i18n;
mod link;
mod model;
mod options;
mod present;
mod vec_map;
mod view;
mod wire;

use wasm_bindgen::prelude::*;

/// The allocator: Talc instead of Rust's default dlmalloc for wasm — 2.8 KB smaller gzipped in the
/// download (the console is single-threaded: no atomics, so the unsynchronised variant is sound).
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[wasm_bindgen(typescript_custom_section)]
const OPTIONS_TS: &'static str = r#"
/** Options of `mount()`; every field is optional. */
export interface SocketLabOptions {
  /** WebSocket URL of the bridge, e.g. "ws://127.0.0.1:8000/ws". Default: /ws on the page's host. */
  bridge?: string;
  /** The console's language. Default: the browser's. */
  lang?: "en" | "zh-CN";
  /** The tab to open with. Default: "echo". */
  experiment?: "echo" | "sticky" | "empty" | "bigger" | "nobody" | "queue" | "time-wait" | "file" | "lossy" | "others" | "glossary";
  /** Parts to show besides the current tab's panel. Default: all. */
  panels?: Array<"tabs" | "wire" | "log">;
  /** Colours. Default: "auto" (follows prefers-color-scheme). */
  theme?: "light" | "dark" | "auto";
  /** URL of a recording ("Save recording") to play, labelled as such, when the bridge cannot be reached. */
  recording?: string;
  /** Connect on the reader's first use (click, key, focus) instead of at load. Default: false. */
  lazy?: boolean;
}
"#;

/// Mounts a console into `element` and returns its handle. `options` (all fields optional):
/// `bridge` (WebSocket URL; default `/ws` on the page's own host), `lang` (`"en"` or `"zh-CN"`;
/// default the browser's), `experiment` (the tab to open with), `panels` (`["tabs", "wire",
/// "log"]` by default), `theme` (`"light"`, `"dark"` or `"auto"`), `recording` (URL of a recording
/// to play when the bridge cannot be reached), `lazy` (connect on first use, not at load).
#[wasm_bindgen]
pub fn mount(
    element: web_sys::Element,
    #[wasm_bindgen(unchecked_optional_param_type = "SocketLabOptions")] options: JsValue,
) -> Result<Console, JsValue> {
    let options = options::Options::from_js(&options)?;
    Ok(Console {
        inner: console::Console::mount(element, options)?,
    })
}

/// A mounted console. Call `destroy()` to close its WebSocket and remove it from the page.
#[wasm_bindgen]
pub struct Console {
    inner: console::Handle,
}

#[wasm_bindgen]
impl Console {
    /// Closes the WebSocket, stops reconnecting, and empties the element it was mounted in.
    pub fn destroy(&self) {
        self.inner.destroy();
    }

    /// Shows the tab of `experiment` ("echo", "sticky", …, as the `experiment` option).
    pub fn select(&self, experiment: &str) -> Result<(), JsValue> {
        self.inner.select(experiment)
    }

    /// Sends `text` over `proto` ("tcp" or "udp"), as the Send buttons do.
    pub fn send(&self, proto: &str, text: &str) -> Result<(), JsValue> {
        self.inner.send(proto, text)
    }

    /// Plays the recording at `url` (a file saved with "Save recording"), labelled as such,
    /// instead of the live session.
    pub fn play(&self, url: &str) {
        self.inner.play(url);
    }

    /// Calls `callback` with `{type: "ready", live}` when the console is ready (live: connected
    /// to a bridge; not live: playing a recording), `{type: "echo", proto, text}` for each echo
    /// and `{type: "error", message}` for each error the log shows.
    pub fn on(&self, callback: js_sys::Function) {
        self.inner.on(callback);
    }
}
