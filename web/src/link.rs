//! The WebSocket to the bridge.
//!
//! A thin wrapper that turns the browser's WebSocket callbacks into three Rust callbacks (open,
//! text frame, closed) and cleans up after itself: dropping a [`Link`] detaches the handlers and
//! closes the socket, so a destroyed console leaves nothing running. Reconnecting is the
//! console's decision ([`backoff_ms`]), not the link's.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

pub(crate) struct Link {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Link {
    /// Starts connecting. `on_closed` is called once, whether the socket failed to open or
    /// closed later, with the close code and reason (1006 and "" when there was no close frame).
    pub(crate) fn open(
        url: &str,
        on_open: impl FnMut() + 'static,
        mut on_text: impl FnMut(String) + 'static,
        mut on_closed: impl FnMut(u16, String) + 'static,
    ) -> Result<Link, JsValue> {
        let ws = WebSocket::new(url)?;
        let on_open = Closure::<dyn FnMut()>::new(on_open);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(text) = e.data().as_string() {
                on_text(text);
            }
        });
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            on_closed(e.code(), e.reason())
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Link {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    pub(crate) fn send(&self, text: &str) -> Result<(), JsValue> {
        self.ws.send_with_str(text)
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// How long to wait before reconnect attempt number `attempt` (0-based): 0.5 s, 1 s, 2 s, …,
/// at most 10 s. Quick when the bridge is just restarting, gentle when it is gone for good.
pub(crate) fn backoff_ms(attempt: u32) -> u32 {
    500u32.saturating_mul(1 << attempt.min(10)).min(10_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn backoff_doubles_up_to_ten_seconds() {
        let delays: Vec<u32> = (0..8).map(backoff_ms).collect();
        assert_eq!(
            delays,
            [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]
        );
        assert_eq!(backoff_ms(1000), 10_000);
    }
}
