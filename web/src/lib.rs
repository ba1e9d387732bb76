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
mod view;
mod wire;

use wasm_bindgen::prelude::*;

/// Mounts a console into `element`. `options` is an object, all fields optional:
/// `{ bridge: "ws://127.0.0.1:8000/ws", lang: "en" | "zh-CN" }`. Without `bridge`, the console
/// talks to the bridge that served the page (`/ws` on the same host).
#[wasm_bindgen]
pub fn mount(element: web_sys::Element, options: JsValue) -> Result<Console, JsValue> {
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
}
