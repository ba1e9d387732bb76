//! One mounted console: its model, its view and its link to the bridge, wired together.
//!
//! Data flows one way each direction: the view reports an [`Intent`], the model turns it into
//! commands for the link; the link reports events, the model applies them; after each, the view
//! redraws. Everything lives in one `Rc<RefCell<State>>` per console: no globals.
//!
//! The DOM listeners and WebSocket callbacks hold the state alive while the console is mounted
//! (that is what being mounted means); `destroy()` drops them, which frees everything.

use crate::experiments::{Action, Tab};
use crate::i18n::{Catalog, Lang};
use crate::link::{Link, backoff_ms};
use crate::model::log::{BrowserCall, Proto};
use crate::model::{BridgeState, Model, Refusal};
use crate::options::Options;
use crate::view::{Intent, View};
use protocol::{ClientMsg, Command, Event};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::Element;

struct State {
    model: Model,
    view: View,
    catalog: &'static Catalog,
    url: String,
    link: Option<Link>,
    /// Reconnect attempts since the link last opened.
    attempts: u32,
    retry: Option<(i32, Closure<dyn FnMut()>)>,
    destroyed: bool,
    /// The `<div>` holding the shadow root, removed by `destroy()`.
    host: Element,
    /// A redraw requested for the next animation frame: (request id, callback).
    frame: Option<(i32, Closure<dyn FnMut()>)>,
    /// What the learner asked for while the session was closed for being idle (or not yet
    /// opened): carried out once the bridge is back.
    pending: Option<Intent>,
    /// The recording to play if the bridge cannot be reached (taken when tried).
    recording: Option<String>,
    /// The link opened at least once: a bridge that went away later is retried, not replaced
    /// by a recording.
    opened: bool,
    /// The replay's next step: (timeout id, callback).
    replay_timer: Option<(i32, Closure<dyn FnMut()>)>,
    /// Lazy: the listeners that connect on first use, removed once they have.
    wake: Vec<Wake>,
    /// `on(callback)`: told `ready`, each echo and each error (see [`report`]).
    listener: Option<js_sys::Function>,
    /// Log entries already reported to the listener.
    reported: u64,
}

/// A listener that connects a lazy console: (target, event name, callback).
type Wake = (web_sys::EventTarget, &'static str, Closure<dyn FnMut()>);

/// Most recorded events played in one go when they are due together (a burst of packets):
/// then the page is drawn, and the rest follow on the next turn.
const REPLAY_BATCH: u32 = 256;

/// The handle `mount()` returns.
pub(crate) struct Handle(Rc<RefCell<State>>);

pub(crate) struct Console;

impl Console {
    pub(crate) fn mount(element: Element, options: Options) -> Result<Handle, JsValue> {
        let lang: Lang = options.lang();
        let catalog = lang.catalog();
        let url = options.bridge_url();
        let tab = match options.experiment.as_deref() {
            None => Tab::Echo,
            Some(key) => Tab::from_key(key).ok_or_else(|| {
                JsValue::from_str(&format!("Socket Lab mount(): unknown experiment \"{key}\""))
            })?,
        };
        let bad =
            |why: String| JsValue::from_str(&format!("Socket Lab mount(): bad options: {why}"));
        let panels = options.panels().map_err(bad)?;
        let theme = options.theme().map_err(bad)?;
        let host = shadow_host(&element)?;
        let mut view = View::build(&host.1, catalog, lang.tag(), panels, theme)?;
        // The second console mounted on a page is "Socket Lab 2", …: every region's name differs.
        let mounted = host
            .0
            .owner_document()
            .and_then(|d| d.query_selector_all(".socket-lab-host").ok())
            .map_or(1, |all| all.length());
        view.number = (mounted > 1).then_some(mounted);
        let state = Rc::new(RefCell::new(State {
            model: {
                let mut model = Model::new(url.clone());
                model.select_tab(tab);
                model
            },
            view,
            catalog,
            url,
            link: None,
            attempts: 0,
            retry: None,
            destroyed: false,
            host: host.0,
            frame: None,
            pending: None,
            recording: options.recording.clone(),
            opened: false,
            replay_timer: None,
            wake: vec![],
            listener: None,
            reported: 0,
        }));
        let for_intents = state.clone();
        state
            .borrow_mut()
            .view
            .bind(move |intent| on_intent(&for_intents, intent));
        if options.lazy {
            wait_for_use(&state);
        } else {
            connect(&state);
        }
        Ok(Handle(state))
    }
}

impl Handle {
    /// Shows the tab `key` ("echo", "sticky", …).
    pub(crate) fn select(&self, key: &str) -> Result<(), JsValue> {
        let tab = Tab::from_key(key).ok_or_else(|| {
            JsValue::from_str(&format!("Socket Lab: unknown experiment \"{key}\""))
        })?;
        on_intent(&self.0, Intent::Tab(tab));
        Ok(())
    }

    /// Sends `text` over "tcp" or "udp", as the Send buttons do.
    pub(crate) fn send(&self, proto: &str, text: &str) -> Result<(), JsValue> {
        let intent = match proto {
            "tcp" => Intent::SendTcp,
            "udp" => Intent::SendUdp,
            _ => {
                return Err(JsValue::from_str(
                    "Socket Lab: send() takes \"tcp\" or \"udp\"",
                ));
            }
        };
        if let Ok(s) = self.0.try_borrow() {
            s.view.set_message(text);
        }
        on_intent(&self.0, intent);
        Ok(())
    }

    /// Plays the recording at `url` now, whether or not a bridge is reachable.
    pub(crate) fn play(&self, url: &str) {
        let mut s = self.0.borrow_mut();
        s.link = None;
        s.recording = None;
        stop_retry(&mut s);
        drop(s);
        load_recording(self.0.clone(), url.to_string(), false);
    }

    /// `callback` is called with `{type: "ready", live}`, `{type: "echo", proto, text, live}` and
    /// `{type: "error", message}` from now on.
    pub(crate) fn on(&self, callback: js_sys::Function) {
        let mut s = self.0.borrow_mut();
        s.reported = s.model.log().end_seq();
        s.listener = Some(callback);
        if matches!(s.model.bridge(), BridgeState::Open | BridgeState::Replaying) {
            let live = *s.model.bridge() == BridgeState::Open;
            tell(&s, &[("type", "ready".into()), ("live", live.into())]);
        }
    }

    pub(crate) fn destroy(&self) {
        let mut s = self.0.borrow_mut();
        s.destroyed = true;
        s.link = None;
        stop_retry(&mut s);
        if let Some((id, _)) = s.frame.take()
            && let Some(w) = web_sys::window()
        {
            let _ = w.cancel_animation_frame(id);
        }
        stop_replay_timer(&mut s);
        for (target, kind, f) in s.wake.drain(..) {
            let _ = target.remove_event_listener_with_callback(kind, f.as_ref().unchecked_ref());
        }
        s.view.remove();
        s.host.remove();
    }
}

/// The console lives in a shadow root on a `<div>` it adds to `element`: the host page's CSS
/// cannot restyle it, and its CSS cannot leak out, whichever way it was embedded. Returns the
/// host `<div>` and the element inside the shadow root to build in.
fn shadow_host(element: &Element) -> Result<(Element, Element), JsValue> {
    let doc = element
        .owner_document()
        .ok_or("Socket Lab: the element is not in a document")?;
    let host = doc.create_element("div")?;
    host.set_class_name("socket-lab-host");
    let init = web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open);
    let shadow = host.attach_shadow(&init)?;
    let inner = doc.create_element("div")?;
    shadow.append_child(&inner)?;
    element.append_child(&host)?;
    Ok((host, inner))
}

fn on_intent(state: &Rc<RefCell<State>>, intent: Intent) {
    let Ok(mut s) = state.try_borrow_mut() else {
        return;
    };
    // An idle session was closed by the bridge, or a lazy console was never connected: this
    // action connects, and is carried out when the bridge is there. While the first connection
    // is being made, it waits for it too.
    if intent.needs_bridge() {
        match s.model.bridge() {
            BridgeState::Idle { .. } | BridgeState::Lazy => {
                s.pending = Some(intent);
                drop(s);
                connect(state);
                return;
            }
            BridgeState::Connecting if !s.opened => {
                s.pending = Some(intent);
                return;
            }
            _ => {}
        }
    }
    let s = &mut *s;
    let commands = match intent {
        Intent::SendTcp => s.model.send(Proto::Tcp, s.view.message()),
        Intent::SendUdp => s.model.send(Proto::Udp, s.view.message()),
        Intent::Connect => s.model.connect_tcp(),
        Intent::Close => s.model.close_tcp(),
        Intent::ClearLog => {
            s.model.clear_log();
            vec![]
        }
        Intent::Tab(tab) => {
            s.model.select_tab(tab);
            vec![]
        }
        Intent::SetRelative(relative) => {
            s.model.set_relative(relative);
            vec![]
        }
        Intent::SetFamily(family) => {
            s.model.set_family(family);
            vec![]
        }
        // Nothing changed but what is in view.
        Intent::Scrolled => vec![],
        Intent::SelectPacket(n) => {
            s.model.select_packet(n);
            vec![]
        }
        Intent::SelectEntry(seq) => {
            s.model.select_entry(seq);
            vec![]
        }
        Intent::DownloadPcap => {
            let pcap = s.model.wire().pcap(s.model.epoch_us());
            if let Err(e) = download("socket-lab.pcap", PCAP_TYPE, &pcap) {
                web_sys::console::error_1(&e);
            }
            vec![]
        }
        Intent::DownloadPcapng => {
            let file = s.model.pcapng(s.catalog);
            if let Err(e) = download("socket-lab.pcapng", "application/x-pcapng", &file) {
                web_sys::console::error_1(&e);
            }
            vec![]
        }
        Intent::SaveRecording => {
            let now = js_sys::Date::now() as u64;
            if let Some(file) = s.model.recording_file(now)
                && let Err(e) = download(
                    "socket-lab-recording.jsonl",
                    "application/jsonl",
                    file.as_bytes(),
                )
            {
                web_sys::console::error_1(&e);
            }
            vec![]
        }
        Intent::ReplayToggle => {
            if s.model.replay_toggle() {
                schedule_replay(state, s, 0);
            } else {
                stop_replay_timer(s);
            }
            vec![]
        }
        Intent::ReplayStep => {
            stop_replay_timer(s);
            s.model.replay_step();
            vec![]
        }
        Intent::ReplaySpeed(percent) => {
            s.model.set_replay_speed(percent);
            vec![]
        }
        Intent::TeardownDemo => s.model.teardown_demo(),
        Intent::Experiment(action) => {
            let tab = s.model.tab();
            let upload = matches!(action, Action::FileTcp | Action::FileUdp);
            match s.view.picked_file(tab).filter(|_| upload) {
                Some(file) => {
                    read_then_upload(state.clone(), action, file);
                    vec![]
                }
                None => {
                    let params = s.view.params(tab);
                    s.model.experiment(action, &params)
                }
            }
        }
    };
    send(s, commands);
    redraw(s);
}

/// Sends commands to the bridge.
fn send(s: &mut State, commands: Vec<Command>) {
    if let Some(link) = &s.link {
        for cmd in commands {
            let frame = ClientMsg::new(cmd).to_json();
            match link.send(&frame) {
                Ok(()) => s.model.record_sent(&frame),
                Err(e) => s.model.browser_failed(BrowserCall::Send, error_name(&e)),
            }
        }
    }
}

/// Reads a picked file (asynchronously, as browsers do), then starts its upload.
fn read_then_upload(state: Rc<RefCell<State>>, action: Action, file: web_sys::File) {
    wasm_bindgen_futures::spawn_local(async move {
        let bytes = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
            .await
            .map(|buffer| js_sys::Uint8Array::new(&buffer).to_vec());
        let Ok(mut s) = state.try_borrow_mut() else {
            return;
        };
        let s = &mut *s;
        match bytes {
            Ok(data) => {
                let commands = s.model.upload_file(action, file.name(), data);
                send(s, commands);
            }
            Err(e) => {
                let failed = BrowserCall::ReadFile { file: file.name() };
                s.model.browser_failed(failed, error_name(&e));
            }
        }
        redraw(s);
    });
}

/// Opens the link; on close, schedules the next attempt with backoff.
fn connect(state: &Rc<RefCell<State>>) {
    let url = {
        let mut s = state.borrow_mut();
        if s.destroyed {
            return;
        }
        s.model.bridge_connecting();
        redraw(&mut s);
        s.url.clone()
    };
    let (on_open, on_text, on_closed) = (state.clone(), state.clone(), state.clone());
    let link = Link::open(
        &url,
        move || {
            let pending = {
                let mut s = on_open.borrow_mut();
                s.attempts = 0;
                s.opened = true;
                s.model.bridge_opened();
                tell(&s, &[("type", "ready".into()), ("live", true.into())]);
                redraw(&mut s);
                s.pending.take()
            };
            if let Some(intent) = pending {
                on_intent(&on_open, intent);
            }
        },
        move |text| {
            {
                let mut s = on_text.borrow_mut();
                // Kept as it came, for "Save recording".
                s.model.record(&text);
                match Event::from_json(&text) {
                    Ok(event) => s.model.apply(event),
                    Err(e) => s.model.bad_frame(e.to_string()),
                }
                let more = s.model.take_outgoing();
                send(&mut s, more);
            }
            redraw_soon(&on_text);
        },
        move |code, reason: String| {
            let (again, never_opened) = {
                let mut s = on_closed.borrow_mut();
                s.link = None;
                let never_opened = *s.model.bridge() == BridgeState::Connecting;
                (s.model.bridge_closed(code, &reason), never_opened)
            };
            if again {
                schedule_reconnect(&on_closed);
                if never_opened {
                    ask_why(&on_closed);
                }
            } else {
                redraw(&mut on_closed.borrow_mut());
            }
        },
    );
    match link {
        Ok(link) => state.borrow_mut().link = Some(link),
        // E.g. a malformed URL: retrying will not help, but say so and keep trying politely.
        Err(e) => {
            let failed = BrowserCall::Open { url };
            state
                .borrow_mut()
                .model
                .browser_failed(failed, error_name(&e));
            schedule_reconnect(state);
        }
    }
}

/// The name of a JavaScript error (`NotReadableError`, `SyntaxError`, …): an identifier the
/// browser gives in every language, so a Chinese console can show it as it shows errno names.
fn error_name(e: &JsValue) -> String {
    match e.dyn_ref::<js_sys::Error>() {
        Some(error) => String::from(error.name()),
        None => e.as_string().unwrap_or_else(|| "Error".into()),
    }
}

fn schedule_reconnect(state: &Rc<RefCell<State>>) {
    let mut s = state.borrow_mut();
    if s.destroyed {
        return;
    }
    // Never reached, and the page came with a recording: play it instead (once).
    if !s.opened
        && let Some(url) = s.recording.take()
    {
        s.link = None;
        s.pending = None;
        drop(s);
        load_recording(state.clone(), url, true);
        return;
    }
    s.pending = None;
    let delay = backoff_ms(s.attempts);
    s.attempts += 1;
    s.link = None;
    s.model.bridge_lost(delay);
    redraw(&mut s);
    let again = state.clone();
    let retry = Closure::<dyn FnMut()>::new(move || {
        again.borrow_mut().retry = None;
        connect(&again);
    });
    let id = web_sys::window().and_then(|w| {
        w.set_timeout_with_callback_and_timeout_and_arguments_0(
            retry.as_ref().unchecked_ref(),
            delay as i32,
        )
        .ok()
    });
    if let Some(id) = id {
        s.retry = Some((id, retry));
    }
}

/// Redraws on the next animation frame: a burst of events (a thousand packets) costs one
/// redraw, not a thousand.
fn redraw_soon(state: &Rc<RefCell<State>>) {
    let Ok(mut s) = state.try_borrow_mut() else {
        return;
    };
    if s.frame.is_some() || s.destroyed {
        return;
    }
    let again = state.clone();
    let callback = Closure::<dyn FnMut()>::new(move || {
        if let Ok(mut s) = again.try_borrow_mut() {
            // Keep the closure alive until this call returns; drop it right after.
            let done = s.frame.take();
            redraw(&mut s);
            drop(s);
            drop(done);
        }
    });
    let id = web_sys::window().and_then(|w| {
        w.request_animation_frame(callback.as_ref().unchecked_ref())
            .ok()
    });
    match id {
        Some(id) => s.frame = Some((id, callback)),
        None => redraw(&mut s),
    }
}

fn redraw(s: &mut State) {
    report(s);
    let catalog = s.catalog;
    if let Err(e) = s.view.render(&s.model, catalog) {
        web_sys::console::error_1(&e);
    }
}

/// The pcap file's media type.
const PCAP_TYPE: &str = "application/vnd.tcpdump.pcap";

/// Offers `bytes` to the learner as a file download of media type `kind`.
fn download(name: &str, kind: &str, bytes: &[u8]) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(kind);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document.create_element("a")?.dyn_into()?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    web_sys::Url::revoke_object_url(&url)
}

/// Lazy: connects on the reader's first pointer, key or focus inside the console.
fn wait_for_use(state: &Rc<RefCell<State>>) {
    let mut s = state.borrow_mut();
    s.model.bridge_lazy();
    redraw(&mut s);
    let target: web_sys::EventTarget = s.host.clone().into();
    for kind in ["pointerdown", "keydown", "focusin"] {
        let again = state.clone();
        let wake = Closure::<dyn FnMut()>::new(move || {
            let lazy = again
                .try_borrow()
                .is_ok_and(|s| *s.model.bridge() == BridgeState::Lazy);
            if lazy {
                connect(&again);
            }
        });
        if target
            .add_event_listener_with_callback(kind, wake.as_ref().unchecked_ref())
            .is_ok()
        {
            s.wake.push((target.clone(), kind, wake));
        }
    }
}

/// Fetches the recording at `url` and plays it; if that fails, says why and goes on trying
/// the bridge.
fn load_recording(state: Rc<RefCell<State>>, url: String, unreachable: bool) {
    wasm_bindgen_futures::spawn_local(async move {
        let text = fetch_text(&url).await;
        let Ok(mut s) = state.try_borrow_mut() else {
            return;
        };
        if s.destroyed {
            return;
        }
        let replay = match text {
            Ok(text) => s.model.start_replay(text, &url, unreachable),
            // fetch() rejects with a bare TypeError for a network error and for a server on
            // another origin that does not allow this page (CORS): say both.
            Err(e) if e.is_instance_of::<js_sys::TypeError>() => Err(crate::i18n::fill(
                s.catalog.replay_unfetchable,
                &[("error", &error_name(&e))],
            )),
            Err(e) => Err(error_name(&e)),
        };
        match replay {
            Ok(()) => {
                tell(&s, &[("type", "ready".into()), ("live", false.into())]);
                let s = &mut *s;
                schedule_replay(&state, s, 0);
                redraw(s);
            }
            Err(why) => {
                s.model.replay_failed(&url, why);
                drop(s);
                if unreachable {
                    schedule_reconnect(&state);
                } else {
                    connect(&state);
                }
            }
        }
    });
}

/// Asks the bridge why its WebSocket did not open: a plain `GET` of the same URL gets the status
/// the handshake got (the browser hides it from the page), and the console says that instead
/// of "not reachable". Nothing answering means not reachable.
fn ask_why(state: &Rc<RefCell<State>>) {
    let url = state.borrow().url.replacen("ws", "http", 1);
    let state = state.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let why = match fetch(&url).await {
            Ok(response) => Refusal::from_status(response.status()),
            Err(_) => None,
        };
        let Ok(mut s) = state.try_borrow_mut() else {
            return;
        };
        if !s.destroyed {
            s.model.bridge_refused(why);
            redraw(&mut s);
        }
    });
}

/// `fetch(url)`: the response, whatever its status; an error only when nothing answered.
async fn fetch(url: &str) -> Result<web_sys::Response, JsValue> {
    let window = web_sys::window().ok_or("no window")?;
    wasm_bindgen_futures::JsFuture::from(window.fetch_with_str(url))
        .await?
        .dyn_into()
}

/// The body of `url` as text; an HTTP error status is an error too.
async fn fetch_text(url: &str) -> Result<String, JsValue> {
    let response = fetch(url).await?;
    if !response.ok() {
        return Err(JsValue::from_str(&format!("HTTP {}", response.status())));
    }
    let text = wasm_bindgen_futures::JsFuture::from(response.text()?).await?;
    text.as_string().ok_or_else(|| "not text".into())
}

/// Plays the recording's next event(s) in `ms`.
fn schedule_replay(state: &Rc<RefCell<State>>, s: &mut State, ms: u64) {
    stop_replay_timer(s);
    let again = state.clone();
    let step = Closure::<dyn FnMut()>::new(move || replay_tick(&again));
    let id = web_sys::window().and_then(|w| {
        w.set_timeout_with_callback_and_timeout_and_arguments_0(
            step.as_ref().unchecked_ref(),
            ms.min(i32::MAX as u64) as i32,
        )
        .ok()
    });
    if let Some(id) = id {
        s.replay_timer = Some((id, step));
    }
}

/// Cancels the pending reconnection to the bridge, if one is scheduled.
fn stop_retry(s: &mut State) {
    if let Some((id, _)) = s.retry.take()
        && let Some(w) = web_sys::window()
    {
        w.clear_timeout_with_handle(id);
    }
}

fn stop_replay_timer(s: &mut State) {
    if let Some((id, _)) = s.replay_timer.take()
        && let Some(w) = web_sys::window()
    {
        w.clear_timeout_with_handle(id);
    }
}

/// Plays what is due now (up to [`REPLAY_BATCH`] events), draws, and schedules the rest.
fn replay_tick(state: &Rc<RefCell<State>>) {
    let Ok(mut s) = state.try_borrow_mut() else {
        return;
    };
    // This callback's own closure: kept alive until it returns.
    let running = s.replay_timer.take();
    let mut budget = REPLAY_BATCH;
    let wait = loop {
        match s.model.replay_next() {
            Some(0) if budget > 0 => budget -= 1,
            other => break other,
        }
    };
    if let Some(ms) = wait {
        schedule_replay(state, &mut s, ms);
    }
    redraw(&mut s);
    drop(s);
    drop(running);
}

/// Calls the `on()` listener with an object of `fields`, once the console's own work is done
/// (so that the listener may call the console back: `send()` in its `ready`, say).
fn tell(s: &State, fields: &[(&str, JsValue)]) {
    let Some(listener) = s.listener.clone() else {
        return;
    };
    let object = js_sys::Object::new();
    for (key, value) in fields {
        let _ = js_sys::Reflect::set(&object, &JsValue::from_str(key), value);
    }
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = listener.call1(&JsValue::NULL, &object) {
            web_sys::console::error_1(&e);
        }
    });
}

/// Tells the `on()` listener of the echoes and errors logged since it last heard.
fn report(s: &mut State) {
    if s.listener.is_none() {
        return;
    }
    let end = s.model.log().end_seq();
    let mut told = vec![];
    for (_, entry) in s.model.log().since(s.reported) {
        let line = crate::present::line(s.catalog, entry);
        match line.kind {
            "echo" => {
                // The echoed bytes as text (the log quotes them; the listener gets them plain).
                let text = match &entry.what {
                    crate::model::log::What::Echo { data, .. } => {
                        String::from_utf8_lossy(data).into_owned()
                    }
                    _ => String::new(),
                };
                told.push(vec![
                    ("type", JsValue::from_str("echo")),
                    ("proto", JsValue::from_str(&line.proto.to_ascii_lowercase())),
                    ("text", JsValue::from_str(&text)),
                    // A recording's echo is not a live one.
                    ("live", JsValue::from_bool(s.model.replay().is_none())),
                ]);
            }
            "error" => told.push(vec![
                ("type", JsValue::from_str("error")),
                ("message", JsValue::from_str(&line.text)),
            ]),
            _ => {}
        }
    }
    s.reported = end;
    for fields in told {
        tell(s, &fields);
    }
}
