//! The options object given to `mount()`.

use crate::i18n::Lang;
use wasm_bindgen::{JsCast, JsValue};

#[derive(Debug, Default)]
pub(crate) struct Options {
    /// WebSocket URL of the bridge, e.g. "ws://127.0.0.1:8000/ws".
    pub(crate) bridge: Option<String>,
    /// "en" or "zh-CN"; default: the browser's language.
    pub(crate) lang: Option<String>,
    /// The tab to open with: "echo" (default), "sticky", "empty", "bigger", "nobody", "queue",
    /// "time-wait", "file" or "others".
    pub(crate) experiment: Option<String>,
    /// Which parts to show besides the current tab's panel: "tabs", "wire", "log" (all by
    /// default). A tutorial section about one experiment may want only that experiment's panel.
    pub(crate) panels: Option<Vec<String>>,
    /// "light", "dark" or "auto" (the default: follows `prefers-color-scheme`).
    pub(crate) theme: Option<String>,
    /// URL of a recording (a file saved with "Save recording") to play when the bridge cannot
    /// be reached.
    pub(crate) recording: Option<String>,
    /// Connect on the reader's first use of the console (a click, a key, a focus), not at load:
    /// a page of several consoles opens no WebSocket until a reader uses one.
    pub(crate) lazy: bool,
}

/// The parts of the console that can be hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Panels {
    pub(crate) tabs: bool,
    pub(crate) wire: bool,
    pub(crate) log: bool,
}

impl Default for Panels {
    fn default() -> Self {
        Panels {
            tabs: true,
            wire: true,
            log: true,
        }
    }
}

impl Options {
    pub(crate) fn from_js(value: &JsValue) -> Result<Options, JsValue> {
        if value.is_undefined() || value.is_null() {
            return Ok(Options::default());
        }
        let bad =
            |why: String| JsValue::from_str(&format!("Socket Lab mount(): bad options: {why}"));
        // A typo ("brige") would otherwise be ignored silently; name it instead.
        let object = value
            .dyn_ref::<js_sys::Object>()
            .ok_or_else(|| bad("expected an object like { bridge, lang }".into()))?;
        for key in js_sys::Object::keys(object).iter() {
            let key = key.as_string().unwrap_or_default();
            if !Self::FIELDS.contains(&key.as_str()) {
                let known = Self::FIELDS.join(", ");
                return Err(bad(format!("unknown option \"{key}\" (known: {known})")));
            }
        }
        // Read by hand rather than with serde: serde's generic deserialiser cost more code
        // than the console's whole options object is worth (see docs/design.md, "Size").
        let string = |key: &str| -> Result<Option<String>, JsValue> {
            let v = js_sys::Reflect::get(object, &JsValue::from_str(key))?;
            if v.is_undefined() || v.is_null() {
                return Ok(None);
            }
            v.as_string()
                .map(Some)
                .ok_or_else(|| bad(format!("option \"{key}\" must be a string")))
        };
        let panels = js_sys::Reflect::get(object, &JsValue::from_str("panels"))?;
        let panels = if panels.is_undefined() || panels.is_null() {
            None
        } else {
            let not_names = || bad("option \"panels\" must be an array of names".into());
            let array = panels.dyn_ref::<js_sys::Array>().ok_or_else(not_names)?;
            let names: Option<Vec<String>> = array.iter().map(|n| n.as_string()).collect();
            Some(names.ok_or_else(not_names)?)
        };
        Ok(Options {
            bridge: string("bridge")?,
            lang: string("lang")?,
            experiment: string("experiment")?,
            panels,
            theme: string("theme")?,
            recording: string("recording")?,
            lazy: {
                let v = js_sys::Reflect::get(object, &JsValue::from_str("lazy"))?;
                match v.as_bool() {
                    Some(lazy) => lazy,
                    None if v.is_undefined() || v.is_null() => false,
                    None => return Err(bad("option \"lazy\" must be true or false".into())),
                }
            },
        })
    }

    /// The option names `mount()` understands.
    const FIELDS: &'static [&'static str] = &[
        "bridge",
        "lang",
        "experiment",
        "panels",
        "theme",
        "recording",
        "lazy",
    ];

    /// The parts to show; an unknown name is an error that names it.
    pub(crate) fn panels(&self) -> Result<Panels, String> {
        let Some(names) = &self.panels else {
            return Ok(Panels::default());
        };
        let mut panels = Panels {
            tabs: false,
            wire: false,
            log: false,
        };
        for name in names {
            match name.as_str() {
                "tabs" => panels.tabs = true,
                "wire" => panels.wire = true,
                "log" => panels.log = true,
                other => {
                    return Err(format!(
                        "unknown panel \"{other}\" (known: tabs, wire, log)"
                    ));
                }
            }
        }
        Ok(panels)
    }

    /// "light", "dark" or "auto".
    pub(crate) fn theme(&self) -> Result<&'static str, String> {
        match self.theme.as_deref() {
            None | Some("auto") => Ok("auto"),
            Some("light") => Ok("light"),
            Some("dark") => Ok("dark"),
            Some(other) => Err(format!(
                "unknown theme \"{other}\" (known: light, dark, auto)"
            )),
        }
    }

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
    fn panels_and_theme_are_checked() {
        let o = Options {
            panels: Some(vec!["log".into()]),
            theme: Some("dark".into()),
            ..Options::default()
        };
        assert_eq!(
            o.panels(),
            Ok(Panels {
                tabs: false,
                wire: false,
                log: true
            })
        );
        assert_eq!(o.theme(), Ok("dark"));
        assert_eq!(Options::default().panels(), Ok(Panels::default()));
        assert_eq!(Options::default().theme(), Ok("auto"));
        let bad = Options {
            panels: Some(vec!["nope".into()]),
            theme: Some("pink".into()),
            ..Options::default()
        };
        assert!(bad.panels().unwrap_err().contains("nope"));
        assert!(bad.theme().unwrap_err().contains("pink"));
    }

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
