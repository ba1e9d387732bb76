//! The options object given to `mount()`.

use crate::i18n::Lang;
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Options {
    /// WebSocket URL of the bridge, e.g. "ws://127.0.0.1:8000/ws".
    pub(crate) bridge: Option<String>,
    /// "en" or "zh-CN"; default: the browser's language.
    pub(crate) lang: Option<String>,
    /// The tab to open with: "echo" (default), "sticky", "empty", "bigger", "nobody", "queue",
    /// "time-wait", "file" or "others".
    pub(crate) experiment: Option<String>,
}

impl Options {
    pub(crate) fn from_js(value: &JsValue) -> Result<Options, JsValue> {
        if value.is_undefined() || value.is_null() {
            return Ok(Options::default());
        }
        let bad =
            |why: String| JsValue::from_str(&format!("Socket Lab mount(): bad options: {why}"));
        // serde-wasm-bindgen reads only the fields it knows, so a typo ("brige") would be
        // ignored silently; name it instead.
        let object = value
            .dyn_ref::<js_sys::Object>()
            .ok_or_else(|| bad("expected an object like { bridge, lang }".into()))?;
        for key in js_sys::Object::keys(object).iter() {
            let key = key.as_string().unwrap_or_default();
            if !Self::FIELDS.contains(&key.as_str()) {
                let known = Self::FIELDS.join(", ");
                return Err(bad(format!("unknown option {key:?} (known: {known})")));
            }
        }
        serde_wasm_bindgen::from_value(value.clone()).map_err(|e| bad(e.to_string()))
    }

    /// The option names `mount()` understands.
    const FIELDS: &'static [&'static str] = &["bridge", "lang", "experiment"];

    /// The bridge URL: the option, else the bridge that served this page.
    pub(crate) fn bridge_url(&self) -> String {
        if let Some(url) = &self.bridge {
            return url.clone();
        }
        let location = web_sys::window().map(|w| w.location());
        let protocol = location
            .as_ref()
            .and_then(|l| l.protocol().ok())
            .unwrap_or_default();
        let host = location
            .as_ref()
            .and_then(|l| l.host().ok())
            .unwrap_or_default();
        default_bridge_url(&protocol, &host)
    }

    pub(crate) fn lang(&self) -> Lang {
        let tag = self
            .lang
            .clone()
            .or_else(|| web_sys::window()?.navigator().language());
        Lang::from_tag(tag.as_deref().unwrap_or("en"))
    }
}

/// `/ws` on the page's own host; a page opened from a file gets the bridge's default address.
pub(crate) fn default_bridge_url(page_protocol: &str, page_host: &str) -> String {
    match page_protocol {
        "https:" => format!("wss://{page_host}/ws"),
        "http:" if !page_host.is_empty() => format!("ws://{page_host}/ws"),
        _ => "ws://127.0.0.1:8000/ws".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn the_default_bridge_is_the_pages_own_host() {
        assert_eq!(
            default_bridge_url("http:", "127.0.0.1:8000"),
            "ws://127.0.0.1:8000/ws"
        );
        assert_eq!(
            default_bridge_url("https:", "lab.example"),
            "wss://lab.example/ws"
        );
        assert_eq!(default_bridge_url("file:", ""), "ws://127.0.0.1:8000/ws");
    }
}
