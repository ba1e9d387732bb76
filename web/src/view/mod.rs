//! The DOM layer: builds the console's elements, forwards clicks as [`Intent`]s, and draws the
//! model. It holds no state of its own beyond what it has already drawn.
//!
//! Everything is set with `textContent`, never HTML: payloads are arbitrary bytes from the
//! network and must never become markup.

mod html;
mod panel;
mod wire;

use crate::experiments::{Action, Params, Tab};
use crate::i18n::{Catalog, fill, fill_owned};
use crate::model::{BridgeState, Model, Refusal, TcpConn};
use crate::options::Panels;
use crate::present;
use panel::Panel;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, Event, HtmlButtonElement, HtmlInputElement, HtmlSelectElement};

/// The console's own styles, scoped under `.socket-lab` (`style.css`, minified by `build.rs`).
const STYLE: &str = include_str!(concat!(env!("OUT_DIR"), "/style.min.css"));

/// What the learner asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Intent {
    SendTcp,
    SendUdp,
    Connect,
    Close,
    ClearLog,
    /// Show another tab (the echo console or an experiment).
    Tab(Tab),
    /// A button of an experiment.
    Experiment(Action),
    /// Relative (true) or absolute sequence numbers in the wire view.
    SetRelative(bool),
    /// A click on a packet of the diagram.
    SelectPacket(u64),
    /// A click on an entry of the log.
    SelectEntry(u64),
    /// The timeline was scrolled: draw the rows now in view.
    Scrolled,
    /// IPv4 or IPv6 for the next sends.
    SetFamily(protocol::Family),
    DownloadPcap,
    /// "Download .pcapng": the packets with the calls as comments.
    DownloadPcapng,
    TeardownDemo,
    /// "Save recording": the live session as a file.
    SaveRecording,
    /// Play or pause the recording.
    ReplayToggle,
    /// Pause, and play up to the next socket call.
    ReplayStep,
    /// The replay's speed, in percent.
    ReplaySpeed(u32),
}

impl Intent {
    /// Does carrying it out need the bridge (and so reconnect an idle session)?
    pub(crate) fn needs_bridge(self) -> bool {
        matches!(
            self,
            Intent::SendTcp
                | Intent::SendUdp
                | Intent::Connect
                | Intent::Experiment(_)
                | Intent::TeardownDemo
        )
    }
}

/// Log entries kept in the DOM: the newest two hundred (the model keeps many more, and the
/// timeline draws any of them). A page with thousands of nodes gets slow.
const LOG_SHOWN: u64 = 200;

/// A DOM listener we added, kept so that it can be removed again.
type Listener = (
    web_sys::EventTarget,
    &'static str,
    Closure<dyn FnMut(Event)>,
);

pub(crate) struct View {
    root: Element,
    status: Element,
    howto: Element,
    servers: Element,
    input: HtmlInputElement,
    buttons: Vec<(HtmlButtonElement, Intent)>,
    tcp_state: Element,
    /// The transcript's list, its scrolling region, and the "earlier lines" note.
    log: Element,
    log_region: Element,
    log_older: Element,
    tabs: Vec<(Element, Tab)>,
    replay_bar: Element,
    replay_toggle: HtmlButtonElement,
    replay_step: HtmlButtonElement,
    replay_speed: HtmlSelectElement,
    /// For screen readers: one sentence per exchange (the echo, or what went wrong).
    announce: Element,
    /// This console's number among those mounted on the page, when it is not the only one.
    pub(crate) number: Option<u32>,
    echo_panel: Element,
    panels: Vec<Panel>,
    /// Tab and experiment buttons with their intents, bound in [`View::bind`].
    actions: Vec<(Element, Intent)>,
    wire: wire::WireView,
    /// The IP version radio buttons.
    family: Vec<(HtmlInputElement, protocol::Family)>,
    /// Log entries highlighted now (linked to the selected packet).
    log_hl: Vec<u64>,
    /// Sequence numbers of the log entries currently in the DOM: `drawn_from..drawn_to`.
    drawn_from: u64,
    drawn_to: u64,
    listeners: Vec<Listener>,
}

impl View {
    /// Builds the console inside `container`.
    pub(crate) fn build(
        container: &Element,
        c: &Catalog,
        lang_tag: &str,
        show: Panels,
        theme: &str,
    ) -> Result<View, JsValue> {
        let doc = container
            .owner_document()
            .ok_or("Socket Lab: the element is not in a document")?;
        let el = |tag: &str, class: &str| -> Result<Element, JsValue> {
            let e = doc.create_element(tag)?;
            e.set_class_name(class);
            Ok(e)
        };
        let root = el("section", "socket-lab")?;
        root.set_attribute("lang", lang_tag)?;
        root.set_attribute("data-theme", theme)?;
        root.set_attribute("aria-label", c.title)?;
        let style = doc.create_element("style")?;
        style.set_text_content(Some(STYLE));
        root.append_child(&style)?;

        let head = el("header", "sl-head")?;
        // The console's heading; its parts' headings are h3–h5 below it.
        let title = el("h2", "sl-title")?;
        title.set_text_content(Some(c.title));
        let status = el("span", "sl-status")?;
        status.set_attribute("role", "status")?;
        head.append_with_node_2(&title, &status)?;
        // A recording's controls, shown only while one plays.
        let replay_bar = el("div", "sl-replay")?;
        replay_bar.set_attribute("role", "group")?;
        replay_bar.set_attribute("aria-label", c.replay_speed)?;
        let replay_toggle = button(&doc, c.replay_pause, "sl-replay-toggle")?;
        let replay_step = button(&doc, c.replay_step, "sl-replay-step")?;
        let speed_label = el("label", "")?;
        let speed_text = el("span", "")?;
        speed_text.set_text_content(Some(c.replay_speed));
        let replay_speed: HtmlSelectElement = el("select", "")?.dyn_into()?;
        for (value, text) in [("25", "¼×"), ("100", "1×"), ("400", "4×"), ("1600", "16×")] {
            let option = el("option", "")?;
            option.set_attribute("value", value)?;
            option.set_text_content(Some(text));
            replay_speed.append_child(&option)?;
        }
        replay_speed.set_value("100");
        speed_label.append_with_node_2(&speed_text, &replay_speed)?;
        replay_bar.append_with_node_3(&replay_toggle, &replay_step, &speed_label)?;
        replay_bar.toggle_attribute_with_force("hidden", true)?;
        head.append_child(&replay_bar)?;
        let howto = el("p", "sl-howto")?;
        howto.set_text_content(Some(c.bridge_howto));
        let servers = el("p", "sl-servers")?;

        // <label>Message <input></label>: the label names the input without ids, so several
        // consoles on one page do not clash.
        let compose = el("div", "sl-compose")?;
        let label = el("label", "sl-message")?;
        let label_text = el("span", "")?;
        label_text.set_text_content(Some(c.message));
        let input: HtmlInputElement = el("input", "")?.dyn_into()?;
        input.set_type("text");
        input.set_placeholder(c.message_placeholder);
        input.set_value("hello socket");
        input.set_attribute("autocomplete", "off")?;
        input.set_attribute("spellcheck", "false")?;
        label.append_with_node_2(&label_text, &input)?;
        let send_tcp = button(&doc, c.send_tcp, "sl-send sl-tcp")?;
        let send_udp = button(&doc, c.send_udp, "sl-send sl-udp")?;
        compose.append_with_node_3(&label, &send_tcp, &send_udp)?;

        // IPv4 or IPv6: two radio buttons in a labelled group.
        let family = el("div", "sl-family")?;
        family.set_attribute("role", "radiogroup")?;
        family.set_attribute("aria-label", c.family)?;
        let family_name = el("span", "")?;
        family_name.set_text_content(Some(c.family));
        family.append_child(&family_name)?;
        let mut family_inputs = vec![];
        for (value, text) in [
            (protocol::Family::Ipv4, "IPv4"),
            (protocol::Family::Ipv6, "IPv6"),
        ] {
            let label = el("label", "sl-radio")?;
            let input: HtmlInputElement = el("input", "")?.dyn_into()?;
            input.set_type("radio");
            input.set_value(text);
            input.set_checked(value == protocol::Family::Ipv4);
            let span = el("span", "")?;
            span.set_text_content(Some(text));
            label.append_with_node_2(&input, &span)?;
            family.append_child(&label)?;
            family_inputs.push((input, value));
        }
        compose.append_child(&family)?;

        let tcp_row = el("div", "sl-tcp-row")?;
        tcp_row.set_attribute("role", "group")?;
        tcp_row.set_attribute("aria-label", c.tcp_group)?;
        let tcp_state = el("span", "sl-tcp-state")?;
        let connect = button(&doc, c.connect, "sl-connect")?;
        let close = button(&doc, c.close, "sl-close")?;
        tcp_row.append_with_node_3(&tcp_state, &connect, &close)?;
        let udp_row = el("div", "sl-udp-row")?;
        udp_row.set_text_content(Some(c.udp_note));

        let log_head = el("div", "sl-log-head")?;
        let log_title = el("span", "")?;
        log_title.set_text_content(Some(c.log));
        let clear = button(&doc, c.clear, "sl-clear")?;
        log_head.append_with_node_2(&log_title, &clear)?;
        // The transcript: a list in a log region (role="log" on the <ol> itself would orphan
        // its <li>s for assistive technology).
        let log_region = el("div", "sl-log")?;
        log_region.set_attribute("role", "log")?;
        log_region.set_attribute("aria-label", c.log)?;
        // Not read out line by line (one TCP echo is about seven lines): `announce` says one
        // summary per exchange, and Alt+L brings the reader here for the detail.
        log_region.set_attribute("aria-live", "off")?;
        log_region.set_attribute("aria-keyshortcuts", "Alt+L")?;
        log_region.set_attribute("tabindex", "0")?;
        let announce = el("p", "sl-announce")?;
        announce.set_attribute("role", "status")?;
        let log_older = el("p", "sl-older")?;
        log_older.toggle_attribute_with_force("hidden", true)?;
        let log = el("ol", "sl-entries")?;
        log_region.append_with_node_2(&log_older, &log)?;

        // The tabs: the echo console, then one per experiment.
        let tablist = el("div", "sl-tabs")?;
        tablist.set_attribute("role", "tablist")?;
        tablist.set_attribute("aria-label", c.x.tablist)?;
        let mut tabs = vec![];
        let mut actions = vec![];
        for tab in Tab::ALL {
            let t = el("button", "sl-tab")?;
            t.set_attribute("type", "button")?;
            t.set_attribute("role", "tab")?;
            t.set_attribute("data-tab", tab.key())?;
            // Ids are the shadow root's own, so several consoles on a page do not clash.
            t.set_attribute("id", &format!("sl-tab-{}", tab.key()))?;
            t.set_attribute("aria-controls", &format!("sl-panel-{}", tab.key()))?;
            t.set_text_content(Some(tab.title(c)));
            tablist.append_child(&t)?;
            actions.push((t.clone(), Intent::Tab(tab)));
            tabs.push((t, tab));
        }
        let echo_panel = el("section", "sl-panel sl-echo")?;
        echo_panel.set_attribute("role", "tabpanel")?;
        echo_panel.set_attribute("aria-label", c.x.tab_echo)?;
        echo_panel.set_attribute("data-tab", Tab::Echo.key())?;
        echo_panel.set_attribute("id", "sl-panel-echo")?;
        echo_panel.append_with_node_3(&compose, &tcp_row, &udp_row)?;
        let mut panels = vec![];
        for tab in Tab::ALL.into_iter().filter(|t| *t != Tab::Echo) {
            let (panel, buttons) = Panel::build(&doc, tab, c)?;
            actions.extend(buttons);
            panels.push(panel);
        }

        for part in [&head, &howto, &servers, &tablist, &echo_panel] {
            root.append_child(part)?;
        }
        for panel in &panels {
            root.append_child(&panel.root)?;
        }
        let (wire, wire_buttons) = wire::WireView::build(&doc, c)?;
        actions.extend(wire_buttons);
        root.append_child(&wire.root)?;
        for part in [&log_head, &log_region, &announce] {
            root.append_child(part)?;
        }
        // The parts an embedding page asked not to show.
        tablist.toggle_attribute_with_force("hidden", !show.tabs)?;
        wire.root
            .toggle_attribute_with_force("hidden", !show.wire)?;
        log_head.toggle_attribute_with_force("hidden", !show.log)?;
        log_region.toggle_attribute_with_force("hidden", !show.log)?;
        container.append_child(&root)?;
        Ok(View {
            root,
            status,
            howto,
            servers,
            input,
            buttons: vec![
                (send_tcp, Intent::SendTcp),
                (send_udp, Intent::SendUdp),
                (connect, Intent::Connect),
                (close, Intent::Close),
                (clear, Intent::ClearLog),
                (replay_toggle.clone(), Intent::ReplayToggle),
                (replay_step.clone(), Intent::ReplayStep),
            ],
            replay_bar,
            replay_toggle,
            replay_step,
            replay_speed,
            tcp_state,
            log,
            log_region,
            log_older,
            tabs,
            announce,
            number: None,
            echo_panel,
            panels,
            actions,
            wire,
            family: family_inputs,
            log_hl: vec![],
            drawn_from: 0,
            drawn_to: 0,
            listeners: vec![],
        })
    }

    /// Calls `handler` with each intent: button clicks, and Enter in the message field (which
    /// sends via TCP, the tutorial's first client).
    pub(crate) fn bind(&mut self, handler: impl Fn(Intent) + 'static) {
        let handler = std::rc::Rc::new(handler);
        for (button, intent) in self.buttons.clone() {
            let h = handler.clone();
            self.listen(button.into(), "click", move |_| h(intent));
        }
        for (element, intent) in self.actions.clone() {
            let h = handler.clone();
            self.listen(element.into(), "click", move |_| h(intent));
        }
        for (input, family) in self.family.clone() {
            let h = handler.clone();
            self.listen(input.into(), "change", move |_| {
                h(Intent::SetFamily(family))
            });
        }
        let h = handler.clone();
        self.listen(self.wire.diagram.clone().into(), "scroll", move |_| {
            h(Intent::Scrolled)
        });
        let h = handler.clone();
        let speed = self.replay_speed.clone();
        self.listen(self.replay_speed.clone().into(), "change", move |_| {
            h(Intent::ReplaySpeed(speed.value().parse().unwrap_or(100)))
        });
        let h = handler.clone();
        let relative = self.wire.relative.clone();
        self.listen(self.wire.relative.clone().into(), "change", move |_| {
            h(Intent::SetRelative(relative.checked()))
        });
        // Clicks on a packet or a log entry: one listener each, reading the clicked row's number.
        for (list, attr, select) in [
            (
                self.wire.diagram.clone(),
                "data-packet",
                Intent::SelectPacket as fn(u64) -> Intent,
            ),
            (
                self.log.clone(),
                "data-seq",
                Intent::SelectEntry as fn(u64) -> Intent,
            ),
        ] {
            let h = handler.clone();
            self.listen(list.into(), "click", move |e| {
                if let Some(n) = attr_of(&e, attr) {
                    h(select(n as u64));
                }
            });
        }
        // Pointing at a field of the layer view, or focusing it (Tab, or a tap), lights up its
        // bytes in the hex dump.
        for (on, off) in [("mouseover", "mouseout"), ("focusin", "focusout")] {
            let layers = self.wire.layers.clone();
            self.listen(self.wire.layers.clone().into(), on, move |e| {
                let range = attr_of(&e, "data-start").zip(attr_of(&e, "data-end"));
                wire::highlight_bytes(&layers, range);
            });
            let layers = self.wire.layers.clone();
            self.listen(self.wire.layers.clone().into(), off, move |_| {
                wire::highlight_bytes(&layers, None);
            });
        }
        // The tab list, the ARIA way: Left/Right move to the previous/next tab and show it,
        // Home/End to the first/last.
        if let Some((first, _)) = self.tabs.first()
            && let Some(tablist) = first.parent_element()
        {
            let h = handler.clone();
            let tabs = self.tabs.clone();
            self.listen(tablist.into(), "keydown", move |e| {
                let Some(key) = e.dyn_ref::<web_sys::KeyboardEvent>().map(|k| k.key()) else {
                    return;
                };
                let Some(at) = tabs.iter().position(|(t, _)| {
                    e.target()
                        .is_some_and(|target| &target == t.unchecked_ref::<web_sys::EventTarget>())
                }) else {
                    return;
                };
                let last = tabs.len() - 1;
                let to = match key.as_str() {
                    "ArrowRight" => {
                        if at == last {
                            0
                        } else {
                            at + 1
                        }
                    }
                    "ArrowLeft" => {
                        if at == 0 {
                            last
                        } else {
                            at - 1
                        }
                    }
                    "Home" => 0,
                    "End" => last,
                    _ => return,
                };
                e.prevent_default();
                let (element, tab) = &tabs[to];
                h(Intent::Tab(*tab));
                if let Some(element) = element.dyn_ref::<web_sys::HtmlElement>() {
                    let _ = element.focus();
                }
            });
        }
        // Alt+L: to the log, for the detail of what was just announced.
        let log_region = self.log_region.clone();
        self.listen(self.root.clone().into(), "keydown", move |e| {
            if let Some(key) = e.dyn_ref::<web_sys::KeyboardEvent>()
                && key.alt_key()
                && key.code() == "KeyL"
                && let Some(log) = log_region.dyn_ref::<web_sys::HtmlElement>()
            {
                e.prevent_default();
                let _ = log.focus();
            }
        });
        let h = handler.clone();
        self.listen(self.input.clone().into(), "keydown", move |e| {
            if let Some(key) = e.dyn_ref::<web_sys::KeyboardEvent>()
                && key.key() == "Enter"
            {
                e.prevent_default();
                h(Intent::SendTcp);
            }
        });
    }

    fn listen(
        &mut self,
        target: web_sys::EventTarget,
        kind: &'static str,
        f: impl FnMut(Event) + 'static,
    ) {
        let closure = Closure::<dyn FnMut(Event)>::new(f);
        if target
            .add_event_listener_with_callback(kind, closure.as_ref().unchecked_ref())
            .is_ok()
        {
            self.listeners.push((target, kind, closure));
        }
    }

    /// The values of the controls of `tab`'s experiment.
    pub(crate) fn params(&self, tab: Tab) -> Params {
        self.panel(tab).map(Panel::params).unwrap_or_default()
    }

    /// The file picked in `tab`'s experiment, if any.
    pub(crate) fn picked_file(&self, tab: Tab) -> Option<web_sys::File> {
        self.panel(tab).and_then(Panel::picked_file)
    }

    fn panel(&self, tab: Tab) -> Option<&Panel> {
        self.panels.iter().find(|p| p.tab == tab)
    }

    /// Puts `text` in the Message field.
    pub(crate) fn set_message(&self, text: &str) {
        self.input.set_value(text);
    }

    /// The message as the bytes to send (UTF-8).
    pub(crate) fn message(&self) -> Vec<u8> {
        self.input.value().into_bytes()
    }

    /// Draws the model: status, controls, and the log entries not drawn yet.
    pub(crate) fn render(&mut self, model: &Model, c: &Catalog) -> Result<(), JsValue> {
        let url = model.url();
        let (state, text) = match model.bridge() {
            BridgeState::Connecting => ("connecting", fill(c.bridge_connecting, &[("url", url)])),
            BridgeState::Open => ("open", fill(c.bridge_open, &[("url", url)])),
            BridgeState::Retrying { in_ms } => {
                let seconds = in_ms.div_ceil(1000).to_string();
                let values = [("url", url), ("seconds", seconds.as_str())];
                // The bridge answered and said why: no "start the bridge" then.
                match model.refusal() {
                    None => ("retrying", fill(c.bridge_retrying, &values)),
                    Some(why) => {
                        let template = match why {
                            Refusal::PerAddress => c.bridge_refused_per_address,
                            Refusal::Full => c.bridge_refused_full,
                            Refusal::Origin => c.bridge_refused_origin,
                            Refusal::NoUpgrade => c.bridge_refused_no_upgrade,
                        };
                        ("refused", fill(template, &values))
                    }
                }
            }
            BridgeState::Idle { seconds } => {
                let time = crate::present::duration(c, *seconds);
                ("idle", fill(c.bridge_idle, &[("time", time.as_str())]))
            }
            BridgeState::Replaying => ("recording", replay_status(model, c)),
            BridgeState::Lazy => ("lazy", fill(c.bridge_lazy, &[("url", url)])),
        };
        let replay = model.replay();
        self.replay_bar
            .toggle_attribute_with_force("hidden", replay.is_none())?;
        if let Some(r) = replay {
            let label = if r.done() {
                c.replay_again
            } else if r.playing {
                c.replay_pause
            } else {
                c.replay_play
            };
            if self.replay_toggle.text_content().as_deref() != Some(label) {
                self.replay_toggle.set_text_content(Some(label));
            }
            self.replay_step.set_disabled(r.done());
        }
        self.status.set_attribute("data-state", state)?;
        self.status.set_text_content(Some(&text));
        self.howto
            .toggle_attribute_with_force("hidden", state != "retrying")?;
        match model.servers() {
            Some((tcp, udp)) => {
                let values = [("tcp", tcp.to_string()), ("udp", udp.to_string())];
                let mut text = fill_owned(c.servers, &values);
                if let (Some(tcp), Some(udp)) = model.servers6() {
                    let values = [("tcp", tcp.to_string()), ("udp", udp.to_string())];
                    text += &fill_owned(c.servers6, &values);
                } else {
                    text += c.servers_no6;
                }
                self.servers.set_text_content(Some(&text));
            }
            None => self.servers.set_text_content(None),
        }
        for (input, family) in &self.family {
            input.set_checked(*family == model.family());
            // IPv6 only when the bridge serves it.
            let v6 = *family == protocol::Family::Ipv6;
            input.set_disabled(v6 && model.servers6().0.is_none());
        }
        let tcp_text = match model.tcp() {
            TcpConn::Idle => c.tcp_idle.to_string(),
            TcpConn::Connecting { .. } => c.tcp_connecting.to_string(),
            TcpConn::Open { id, local, peer } => {
                let mut text = fill(
                    c.tcp_open,
                    &[("local", &local.to_string()), ("peer", &peer.to_string())],
                );
                if let Some(k) = model.wire().state(id) {
                    text += &fill(c.kernel_state, &[("state", &k.state)]);
                }
                text
            }
        };
        self.tcp_state.set_text_content(Some(&tcp_text));
        for (button, intent) in &self.buttons {
            match intent {
                Intent::Connect => button.set_disabled(!model.can_connect()),
                Intent::Close => button.set_disabled(!model.can_close()),
                _ => {}
            }
        }
        let active = model.tab();
        // A page may hold several consoles: each region is named by the tab it shows.
        let name = match self.number {
            Some(n) => format!("{} {n}{}{}", c.title, c.colon, active.title(c)),
            None => format!("{}{}{}", c.title, c.colon, active.title(c)),
        };
        if self.root.get_attribute("aria-label").as_deref() != Some(name.as_str()) {
            self.root.set_attribute("aria-label", &name)?;
        }
        for (element, tab) in &self.tabs {
            let selected = if *tab == active { "true" } else { "false" };
            element.set_attribute("aria-selected", selected)?;
            // One stop for the whole tab list in the Tab order; arrows move within it.
            element.set_attribute("tabindex", if *tab == active { "0" } else { "-1" })?;
        }
        self.echo_panel
            .toggle_attribute_with_force("hidden", active != Tab::Echo)?;
        for panel in &mut self.panels {
            panel.show(panel.tab == active)?;
            if panel.tab == active {
                panel.draw(active.results(model, c))?;
                panel.enable(|action| crate::experiments::available(model, action))?;
            }
        }
        self.wire.render(model, c)?;
        self.render_log(model, c)?;
        let (_, entries) = model.highlighted();
        if entries != self.log_hl {
            let items = self.log.children();
            for i in 0..items.length() {
                if let Some(li) = items.item(i) {
                    let seq = li.get_attribute("data-seq").and_then(|s| s.parse().ok());
                    let on = seq.is_some_and(|s: u64| entries.contains(&s));
                    li.class_list().toggle_with_force("sl-hl", on)?;
                }
            }
            self.log_hl = entries;
        }
        Ok(())
    }

    fn render_log(&mut self, model: &Model, c: &Catalog) -> Result<(), JsValue> {
        let log = model.log();
        // The DOM holds the newest LOG_SHOWN entries; the model keeps more (the timeline's).
        let keep_from = log.end_seq().saturating_sub(LOG_SHOWN).max(log.first_seq());
        if self.drawn_to < keep_from || self.drawn_from < log.first_seq() {
            // Far behind (a burst, a clear): start over from what is kept.
            self.log.set_text_content(None);
            self.drawn_from = keep_from;
            self.drawn_to = keep_from;
        }
        while self.drawn_from < keep_from {
            if let Ok(Some(first)) = self.log.query_selector("li[data-seq]") {
                first.remove();
            }
            self.drawn_from += 1;
        }
        let follow = at_bottom(&self.log_region);
        let mut html = html::Html::default();
        let mut summary = None;
        for (seq, entry) in log.since(self.drawn_to) {
            let line = present::line(c, entry);
            if matches!(line.kind, "echo" | "error") {
                summary = Some(summary_of(c, &line));
            }
            entry_html(&mut html, seq, &line);
            self.drawn_to += 1;
        }
        if let Some(mut summary) = summary {
            // The same words twice in a row are still a new exchange: make the text differ.
            if self.announce.text_content().as_deref() == Some(summary.as_str()) {
                summary.push('\u{a0}');
            }
            self.announce.set_text_content(Some(&summary));
        }
        let html = html.finish();
        let appended = !html.is_empty();
        if appended {
            // The whole burst in one call into the browser (see `html.rs`).
            self.log.insert_adjacent_html("beforeend", &html)?;
        }
        // Entries older than the ones shown are said to exist, not silently gone.
        let older = self.drawn_from.saturating_sub(log.first_seq()) + model.log_dropped();
        self.log_older
            .toggle_attribute_with_force("hidden", older == 0)?;
        self.log_older
            .set_text_content(Some(&fill(c.log_older, &[("n", &older.to_string())])));
        if appended && follow {
            self.log_region
                .set_scroll_top(self.log_region.scroll_height());
        }
        Ok(())
    }

    /// Removes the console from the page and detaches every listener.
    pub(crate) fn remove(&mut self) {
        for (target, kind, closure) in self.listeners.drain(..) {
            let _ =
                target.remove_event_listener_with_callback(kind, closure.as_ref().unchecked_ref());
        }
        self.root.remove();
    }
}

/// "Recording, not live: recorded 2026-11-30 05:13 UTC on Linux 6.1.0 (bridge 0.4.0) · …".
fn replay_status(model: &Model, c: &Catalog) -> String {
    let Some(r) = model.replay() else {
        return String::new();
    };
    let made = &r.made_by;
    let ms = (made.started_unix_us / 1000) as f64;
    let iso = String::from(js_sys::Date::new(&ms.into()).to_iso_string());
    let date = format!("{} UTC", iso.get(..16).unwrap_or("").replace('T', " "));
    let (n, total) = r.progress();
    let values = [
        ("date", date),
        ("kernel", made.kernel.clone()),
        ("version", made.bridge_version.clone()),
        ("n", n.to_string()),
        ("total", total.to_string()),
    ];
    let mut text = fill_owned(c.replay_status, &values);
    if !r.playing && !r.done() {
        text.push_str(c.replay_paused);
    }
    if !r.complete {
        text.push_str(c.replay_cut);
    }
    text
}

/// What a screen reader hears of an exchange: "TCP: echo received: 12 B “HELLO SOCKET”".
fn summary_of(c: &Catalog, line: &present::Line) -> String {
    let mut text = line.text.clone();
    if !line.proto.is_empty() {
        text = format!("{}{}{text}", line.proto, c.colon);
    }
    if let Some(payload) = &line.payload {
        text.push(' ');
        text.push_str(payload);
    }
    text
}

/// Whether a scrolled list shows its end (or has nothing to scroll): new rows are followed only
/// then, so a learner reading further up is not pulled away.
fn at_bottom(list: &Element) -> bool {
    list.scroll_top() + list.client_height() + 8 >= list.scroll_height()
}

/// A number attribute of the clicked element or its nearest ancestor that has it.
fn attr_of(e: &Event, attr: &str) -> Option<usize> {
    let target: Element = e.target()?.dyn_into().ok()?;
    let holder = target.closest(&format!("[{attr}]")).ok()??;
    holder.get_attribute(attr)?.parse().ok()
}

fn button(doc: &Document, text: &str, class: &str) -> Result<HtmlButtonElement, JsValue> {
    let b: HtmlButtonElement = doc.create_element("button")?.dyn_into()?;
    b.set_type("button");
    b.set_class_name(class);
    b.set_text_content(Some(text));
    Ok(b)
}

/// One `<li>` of the log.
fn entry_html(html: &mut html::Html, seq: u64, line: &present::Line) {
    let seq = seq.to_string();
    let proto = line.proto.to_ascii_lowercase();
    html.open(
        "li",
        &[
            ("class", "sl-entry"),
            ("data-kind", line.kind),
            ("data-proto", &proto),
            ("data-seq", &seq),
        ],
    );
    let parts = [
        ("sl-time", Some(line.time.as_str())),
        ("sl-proto", Some(line.proto)),
        ("sl-side", Some(line.side)),
        ("sl-text", Some(line.text.as_str())),
        ("sl-addrs", line.addrs.as_deref()),
        ("sl-took", line.took.as_deref()),
        ("sl-payload", line.payload.as_deref()),
    ];
    for (class, text) in parts {
        if let Some(text) = text.filter(|t| !t.is_empty()) {
            html.span(class, text);
        }
    }
    html.close("li");
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests;
