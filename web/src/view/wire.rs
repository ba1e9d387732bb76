//! The timeline's DOM: one sequence diagram on one clock — the client's lifeline on the left,
//! the packets between, the server's lifeline on the right, oldest at the top. A call is drawn
//! on its side's lifeline as an interval (entered → returned: a bar on every row it spans), a
//! packet as an arrow, a kernel state change as a mark; rows are placed by time, so a learner
//! sees their `send()`, the segment it became, the server's `recv()` that read it, and where
//! calls overlapped.
//!
//! Only the rows in view are in the DOM ([`ROW_PX`] each, a spacer for the rest), so a session
//! of 10,000 echoes draws as fast as a new one. Below: the kernel's TCP states, the capture's
//! status, and the layer view of the selected packet with its hex dump.
//!
//! All numbers come from the model (`model::timeline`, `wire::flow`, `wire::layers`); this file
//! only draws them.

use super::Intent;
use super::html::Html;
use crate::i18n::{Catalog, Wire, fill, fill_owned};
use crate::model::Model;
use crate::model::log::{Entry, Side};
use crate::model::timeline::Row;
use crate::present::{self, micros, millis};
use crate::wire::decode::Proto;
use crate::wire::flow::{Arrow, Note, Phase};
use crate::wire::layers;
use protocol::CaptureState;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, HtmlInputElement};

/// The height of one row, in CSS pixels (the stylesheet sets the same).
pub(crate) const ROW_PX: i32 = 40;

/// Rows drawn above and below the visible ones, so a small scroll needs no redraw.
const OVERSCAN: usize = 6;

pub(crate) struct WireView {
    pub(crate) root: Element,
    status: Element,
    pub(crate) relative: HtmlInputElement,
    kernel: Element,
    rtt_note: Element,
    /// The scrolling box (`.sl-diagram`) and the spacer inside it that holds the rows.
    pub(crate) diagram: Element,
    spacer: Element,
    dropped: Element,
    pub(crate) layers: Element,
    /// "Save recording": saves the live sessions, so a replay has nothing to save; whether it
    /// is enabled now.
    save: (Element, bool),
    /// What was drawn last, to skip identical redraws.
    drawn: Option<Drawn>,
    /// The packet whose layers are shown: drawn once, so a field in focus keeps its focus
    /// and its lit bytes while other packets arrive.
    layers_of: std::cell::Cell<Option<u64>>,
}

#[derive(PartialEq)]
struct Drawn {
    rows: usize,
    dropped: u64,
    window: (usize, usize),
    relative: bool,
    highlighted: Vec<u64>,
    selected: Option<u64>,
}

impl WireView {
    /// Builds the section; returns it with its buttons and their intents.
    pub(crate) fn build(
        doc: &Document,
        c: &Catalog,
    ) -> Result<(WireView, Vec<(Element, Intent)>), JsValue> {
        let w = c.w;
        let el = |tag: &str, class: &str| -> Result<Element, JsValue> {
            let e = doc.create_element(tag)?;
            e.set_class_name(class);
            Ok(e)
        };
        let root = el("section", "sl-wire")?;
        root.set_attribute("aria-label", w.title)?;
        let head = el("div", "sl-wire-head")?;
        let title = el("h3", "")?;
        title.set_text_content(Some(w.title));
        let label = el("label", "sl-toggle")?;
        let relative: HtmlInputElement = doc.create_element("input")?.dyn_into()?;
        relative.set_type("checkbox");
        relative.set_checked(true);
        let text = el("span", "")?;
        text.set_text_content(Some(w.relative));
        label.append_with_node_2(&relative, &text)?;
        let download = el("button", "sl-download")?;
        download.set_attribute("type", "button")?;
        download.set_text_content(Some(w.download));
        let pcapng = el("button", "sl-download")?;
        pcapng.set_attribute("type", "button")?;
        pcapng.set_text_content(Some(w.download_pcapng));
        let save = el("button", "sl-save")?;
        save.set_attribute("type", "button")?;
        save.set_text_content(Some(c.save_recording));
        let teardown = el("button", "sl-teardown")?;
        teardown.set_attribute("type", "button")?;
        teardown.set_text_content(Some(w.teardown_demo));
        head.append_with_node_3(&title, &label, &teardown)?;
        // What to take away, under the timeline (the head stays one line at 1280 px).
        let exports = el("div", "sl-exports")?;
        exports.append_with_node_3(&download, &pcapng, &save)?;
        // The lanes' names, above the timeline.
        let lanes = el("div", "sl-lanes")?;
        lanes.set_attribute("aria-hidden", "true")?;
        for (class, text) in [
            ("sl-at", ""),
            ("sl-cside", w.client),
            ("sl-mid", w.lane_wire),
            ("sl-sside", w.server),
        ] {
            let span = el("span", class)?;
            span.set_text_content(Some(text));
            lanes.append_child(&span)?;
        }
        let diagram = el("div", "sl-diagram")?;
        diagram.set_attribute("role", "group")?;
        diagram.set_attribute("aria-label", w.timeline_label)?;
        // Scrollable regions are reachable from the keyboard.
        diagram.set_attribute("tabindex", "0")?;
        let dropped = el("p", "sl-dropped")?;
        dropped.toggle_attribute_with_force("hidden", true)?;
        let spacer = el("div", "sl-spacer")?;
        diagram.append_with_node_2(&dropped, &spacer)?;
        let status = el("p", "sl-capture")?;
        let note = el("p", "sl-wire-note")?;
        note.set_text_content(Some(w.teardown_note));
        let kernel = el("ul", "sl-kernel")?;
        kernel.set_attribute("aria-label", w.kernel)?;
        let rtt_note = el("p", "sl-hint sl-rtt-note")?;
        rtt_note.set_text_content(Some(w.rtt_note));
        rtt_note.toggle_attribute_with_force("hidden", true)?;
        let layers = el("div", "sl-layers")?;
        for part in [
            &head, &lanes, &diagram, &exports, &kernel, &rtt_note, &status, &note, &layers,
        ] {
            root.append_child(part)?;
        }
        let view = WireView {
            root,
            status,
            relative,
            kernel,
            rtt_note,
            diagram,
            spacer,
            dropped,
            layers,
            save: (save.clone(), true),
            drawn: None,
            layers_of: Default::default(),
        };
        Ok((
            view,
            vec![
                (download, Intent::DownloadPcap),
                (pcapng, Intent::DownloadPcapng),
                (save, Intent::SaveRecording),
                (teardown, Intent::TeardownDemo),
            ],
        ))
    }

    pub(crate) fn render(&mut self, model: &Model, c: &Catalog) -> Result<(), JsValue> {
        let w = c.w;
        let can_save = model.can_save_recording();
        if can_save != self.save.1 {
            self.save
                .0
                .toggle_attribute_with_force("disabled", !can_save)?;
            self.save.1 = can_save;
        }
        let wire = model.wire();
        let status = match &wire.capture {
            None => String::new(),
            Some(CaptureState::On) if model.replay().is_some() => w.capture_recorded.to_string(),
            Some(CaptureState::On) => w.capture_on.to_string(),
            Some(CaptureState::Off) => w.capture_off.to_string(),
            Some(CaptureState::NoPermission { hint }) => {
                format!("{} {hint}", w.capture_no_permission)
            }
            Some(CaptureState::Failed { message }) => {
                format!("{} {message}", w.capture_no_permission)
            }
        };
        self.status.set_text_content(Some(&status));
        self.render_kernel(model, c)?;
        self.render_rows(model, c)?;
        Ok(())
    }

    /// The rows in view (and a few around them), placed in the spacer.
    fn render_rows(&mut self, model: &Model, c: &Catalog) -> Result<(), JsValue> {
        let timeline = model.timeline();
        let total = timeline.len();
        let (packets, _) = model.highlighted();
        // Follow the newest row only when rows came and the learner was at the end already:
        // someone who scrolled up to the handshake stays there.
        let grew = self.drawn.as_ref().is_some_and(|d| d.rows != total);
        let follow = grew && super::at_bottom(&self.diagram);
        self.spacer
            .set_attribute("style", &format!("height:{}px", total as i32 * ROW_PX))?;
        if follow || self.drawn.is_none() {
            self.diagram.set_scroll_top(self.diagram.scroll_height());
        }
        let top = self.diagram.scroll_top().max(0) as usize / ROW_PX as usize;
        let visible = (self.diagram.client_height().max(ROW_PX * 8) / ROW_PX) as usize + 1;
        let window = (
            top.saturating_sub(OVERSCAN).min(total),
            (top + visible + OVERSCAN).min(total),
        );
        let drawn = Drawn {
            rows: total,
            dropped: timeline.dropped(),
            window,
            relative: model.wire().relative,
            highlighted: packets.clone(),
            selected: model.selected_packet(),
        };
        if self.drawn.as_ref() == Some(&drawn) {
            return Ok(());
        }
        let dropped = timeline.dropped();
        self.dropped
            .toggle_attribute_with_force("hidden", dropped == 0)?;
        self.dropped.set_text_content(Some(&fill(
            c.w.dropped_rows,
            &[("n", &dropped.to_string())],
        )));
        let mut html = Html::default();
        if total == 0 {
            html.open("p", &[("class", "sl-empty")])
                .text(c.w.empty)
                .close("p");
        }
        let busy = Busy::of(model, window, timeline);
        for i in window.0..window.1 {
            if let Some((at, row)) = timeline.get(i) {
                self.row(&mut html, model, c, i, at, row, &packets, &busy);
            }
        }
        // One call into the browser for the whole window (see `html.rs`). A row in keyboard
        // focus is focused again after (new packets must not throw a keyboard user out).
        let focused = self
            .spacer
            .query_selector(":focus")
            .ok()
            .flatten()
            .and_then(|e| e.get_attribute("data-row"));
        self.spacer.set_inner_html(&html.finish());
        if let Some(row) = focused
            && let Ok(Some(again)) = self.spacer.query_selector(&format!("[data-row=\"{row}\"]"))
            && let Some(again) = again.dyn_ref::<web_sys::HtmlElement>()
        {
            let _ = again.focus();
        }
        self.render_layers(model, c);
        self.drawn = Some(drawn);
        Ok(())
    }

    /// One row, written into `html`; nothing for a row whose source was dropped.
    #[allow(clippy::too_many_arguments)]
    fn row(
        &self,
        html: &mut Html,
        model: &Model,
        c: &Catalog,
        i: usize,
        at: u64,
        row: Row,
        highlighted: &[u64],
        busy: &Busy,
    ) {
        let time = millis(at);
        let place = Place {
            top: format!("top:{}px", i as i32 * ROW_PX),
            index: i.to_string(),
            client: busy.at(Side::Client, at),
            server: busy.at(Side::Server, at),
        };
        match row {
            Row::Packet(n) => {
                if let Some(arrow) = model.wire().arrow(n) {
                    let state = Selection {
                        highlighted: highlighted.contains(&n),
                        pressed: model.selected_packet() == Some(n),
                    };
                    arrow_html(html, &place, arrow, model.wire().relative, c, state);
                }
            }
            Row::Entry(seq) => {
                if let Some(entry) = model.log().get(seq) {
                    // The console's own notes (the bridge went away, the session idled out)
                    // have no time on the bridge's clock: none is shown rather than a neighbour's.
                    let time = if entry.t_us.is_some() { &time } else { "—" };
                    call_html(html, &place, c, entry, time);
                }
            }
            Row::State(n) => {
                if let Some(change) = model.timeline().state(n) {
                    let mut text = fill(c.w.state_row, &[("state", &change.state)]);
                    if let Some(ms) = change.timer_ms {
                        text += &format!(" · {}", present::seconds(c, ms / 1000));
                    }
                    let extra = [("data-state", change.state.as_str())];
                    open_row(html, "div", "sl-row", "state", &place, &extra);
                    lanes(html, &place, &time, "sl-cside", |h| {
                        h.text(&text);
                    });
                    html.close("div");
                }
            }
            Row::Session => {
                open_row(html, "div", "sl-row", "session", &place, &[]);
                lanes(html, &place, &time, "sl-mid", |h| {
                    h.text(c.w.session_row);
                });
                html.close("div");
            }
        }
    }

    fn render_kernel(&self, model: &Model, c: &Catalog) -> Result<(), JsValue> {
        let doc = self.root.owner_document().ok_or("detached")?;
        self.kernel.set_text_content(None);
        let mut any_rtt = false;
        for (id, k) in model.wire().states() {
            let li = doc.create_element("li")?;
            let mut text = format!("TCP #{id}{}{}", c.colon, k.state);
            if let Some(i) = k.info {
                any_rtt = true;
                text += " · ";
                text += &fill(c.w.rtt_kernel, &[("us", &micros(i.rtt_us.into()))]);
                let values = [
                    ("cwnd", i.cwnd.to_string()),
                    ("out", i.segs_out.to_string()),
                    ("in", i.segs_in.to_string()),
                    ("retrans", i.total_retrans.to_string()),
                ];
                text += &fill_owned(c.w.tcp_info, &values);
            }
            if let Some(ms) = k.timer_ms {
                text += &format!(" · {}", present::seconds(c, ms / 1000));
            }
            li.set_attribute("data-state", &k.state)?;
            li.set_text_content(Some(&text));
            self.kernel.append_child(&li)?;
        }
        // The two round trips are named side by side only when both are on the page.
        self.rtt_note
            .toggle_attribute_with_force("hidden", !any_rtt)?;
        Ok(())
    }

    /// The selected packet's layers and hex dump (one `innerHTML`, like the rows).
    fn render_layers(&self, model: &Model, c: &Catalog) {
        let selected = model
            .selected_packet()
            .filter(|n| model.wire().packet(*n).is_some());
        if self.layers_of.replace(selected) == selected {
            return;
        }
        let Some(packet) = selected.and_then(|n| model.wire().packet(n)) else {
            self.layers.set_inner_html("");
            return;
        };
        let w = c.w;
        let mut h = Html::default();
        // Counted from 1, as Wireshark counts frames: packet #1 of the console is frame 1 of its
        // downloaded capture (and stays so until a packet is lost on an impaired link, which the
        // console shows and the capture file cannot hold, or the oldest are let go).
        let shown = packet.number + 1;
        h.open("h4", &[])
            .text(&fill(w.layers_title, &[("n", &shown.to_string())]))
            .close("h4")
            .open("p", &[("class", "sl-hint")])
            .text(w.hover_hint)
            .close("p")
            .open("div", &[("class", "sl-layer-grid")])
            .open("div", &[]);
        for layer in layers::layers(&packet.frame, w).unwrap_or_default() {
            h.open("h5", &[])
                .text(layer.name)
                .close("h5")
                .open("dl", &[]);
            for f in &layer.fields {
                let (start, end) = (f.start.to_string(), f.end.to_string());
                let range = [("data-start", start.as_str()), ("data-end", end.as_str())];
                // Focusable, so a keyboard or a tap lights up the bytes as a pointer does; the
                // bytes are also written out, for a reader who cannot see the highlight.
                let field = [range[0], range[1], ("tabindex", "0")];
                h.open("dt", &field)
                    .text(&format!("{} = {}", (w.field_name)(f.name), f.value))
                    .close("dt")
                    .open("dd", &range)
                    .text(f.note)
                    .text(" ")
                    .open("span", &[("class", "sl-bytes")])
                    .text(&field_bytes(w, &packet.frame, f.start, f.end))
                    .close("span")
                    .close("dd");
            }
            h.close("dl");
        }
        h.close("div").open("pre", &[("class", "sl-hex")]);
        for (i, b) in packet.frame.iter().enumerate() {
            if i > 0 {
                h.text(if i % 16 == 0 { "\n" } else { " " });
            }
            h.open("span", &[("data-i", &i.to_string())])
                .text(&format!("{b:02x}"))
                .close("span");
        }
        h.close("pre").close("div");
        self.layers.set_inner_html(&h.finish());
    }
}

/// The calls in progress around the drawn rows, per side: (entered, returned, kind).
struct Busy(Vec<(Side, u64, u64, &'static str)>);

impl Busy {
    fn of(
        model: &Model,
        window: (usize, usize),
        timeline: &crate::model::timeline::Timeline,
    ) -> Busy {
        let (Some((from, _)), Some((to, _))) = (
            timeline.get(window.0),
            timeline.get(window.1.saturating_sub(1)),
        ) else {
            return Busy(vec![]);
        };
        let log = model.log();
        let calls = log
            .since(0)
            .filter_map(|(_, e)| Some((e.side, e.called_us?, e.t_us?, waits(e))))
            .filter(|&(_, entered, returned, _)| entered <= to && returned >= from)
            .collect();
        Busy(calls)
    }

    /// Whether a call of `side` is in progress at `at`: "wait" for one blocked until data came
    /// (recv, accept), "call" for any other; a returning call's own row counts.
    fn at(&self, side: Side, at: u64) -> Option<&'static str> {
        let mut found = None;
        for &(s, entered, returned, kind) in &self.0 {
            if s == side && entered <= at && at <= returned {
                if kind == "call" {
                    return Some("call");
                }
                found = Some(kind);
            }
        }
        found
    }
}

/// "wait" for a call that blocks until the other side acts, "call" for any other.
fn waits(e: &Entry) -> &'static str {
    if present::waits(e) { "wait" } else { "call" }
}

/// Where a row goes and what is in progress on each lifeline at its time.
struct Place {
    top: String,
    index: String,
    client: Option<&'static str>,
    server: Option<&'static str>,
}

/// Whether a packet row is lit (a hovered call's packets) and whether it is the one opened.
#[derive(Clone, Copy)]
struct Selection {
    highlighted: bool,
    pressed: bool,
}

/// Opens a row: its element, class, kind and place, and any more attributes.
fn open_row(
    html: &mut Html,
    tag: &str,
    class: &str,
    kind: &str,
    place: &Place,
    extra: &[(&str, &str)],
) {
    let mut attrs = vec![
        ("class", class),
        ("data-kind", kind),
        ("style", place.top.as_str()),
        ("data-row", place.index.as_str()),
    ];
    attrs.extend_from_slice(extra);
    html.open(tag, &attrs);
}

/// The four cells of a row: the time, the client's lifeline, the wire, the server's lifeline;
/// `fill` writes the contents of the cell `lane` (the time's cell has the time).
fn lanes(html: &mut Html, place: &Place, time: &str, lane: &str, fill: impl FnOnce(&mut Html)) {
    let mut fill = Some(fill);
    for class in ["sl-at", "sl-cside", "sl-mid", "sl-sside"] {
        open_cell(html, place, class);
        if class == lane {
            if let Some(f) = fill.take() {
                f(html);
            }
        } else if class == "sl-at" {
            html.text(time);
        }
        html.close("span");
    }
}

/// Opens one cell of a row; a lifeline with a call in progress carries `data-busy` ("call" or
/// "wait"), which the stylesheet draws as a bar.
fn open_cell(html: &mut Html, place: &Place, class: &str) {
    let busy = match class {
        "sl-cside" => place.client,
        "sl-sside" => place.server,
        _ => None,
    };
    match busy {
        Some(kind) => html.open("span", &[("class", class), ("data-busy", kind)]),
        None => html.open("span", &[("class", class)]),
    };
}

/// A call (or a note) on its side's lifeline: what it did, and how long it took.
fn call_html(html: &mut Html, place: &Place, c: &Catalog, e: &Entry, time: &str) {
    let line = present::line(c, e);
    let lane = match e.side {
        Side::Client => "sl-cside",
        Side::Server => "sl-sside",
        Side::Bridge => "sl-mid",
    };
    let proto = line.proto.to_ascii_lowercase();
    let extra = [
        ("data-side", line.side),
        ("data-proto", proto.as_str()),
        ("data-what", line.kind),
    ];
    open_row(html, "div", "sl-row", "call", place, &extra);
    let mut text = line.text.clone();
    if let Some(payload) = &line.payload {
        text += " ";
        text += payload;
    }
    lanes(html, place, time, lane, |h| {
        h.open("span", &[("class", "sl-what"), ("title", &text)])
            .text(&text)
            .close("span");
        if let Some(took) = &line.took {
            h.span("sl-took", took);
        }
    });
    html.close("div");
}

/// One packet: an arrow between the lifelines, focusable and opened with Enter (a button).
fn arrow_html(
    html: &mut Html,
    place: &Place,
    a: &Arrow,
    relative: bool,
    c: &Catalog,
    state: Selection,
) {
    let w = c.w;
    let phase = match a.phase {
        Phase::Handshake(n) => format!("{} {n}/3", w.handshake),
        Phase::Teardown => w.teardown.to_string(),
        Phase::Datagram => w.datagram.to_string(),
        Phase::Reset => w.reset.to_string(),
        Phase::Icmp => match a.detail {
            Some((3, 3)) | Some((1, 4)) => w.icmp_port.to_string(),
            Some((kind, code)) => fill_owned(
                w.icmp_other,
                &[("kind", kind.to_string()), ("code", code.to_string())],
            ),
            None => String::new(),
        },
        Phase::Fragment => {
            let offset = a.detail.map(|d| d.0).unwrap_or(0);
            fill_owned(
                w.fragment,
                &[
                    ("offset", offset.to_string()),
                    ("len", present::bytes(a.len)),
                ],
            )
        }
        Phase::Data | Phase::Other => String::new(),
    };
    let phase_id = match a.phase {
        Phase::Handshake(_) => "handshake",
        Phase::Teardown => "teardown",
        Phase::Datagram => "datagram",
        Phase::Reset => "reset",
        Phase::Data => "data",
        Phase::Other => "other",
        Phase::Icmp => "icmp",
        Phase::Fragment => "fragment",
    };
    let mut detail = match (a.proto, a.phase) {
        (Proto::Tcp, Phase::Icmp | Phase::Fragment) | (Proto::Udp, _) => String::new(),
        (Proto::Tcp, _) => format!("seq={}", a.seq(relative)),
    };
    if let Some(ack) = a.ack(relative) {
        detail += &format!(" ack={ack}");
    }
    if let Some(win) = a.window {
        detail += &format!(" win={win}");
    }
    // An ICMP error carries no payload of its own (it quotes the datagram's headers): no len.
    if a.phase != Phase::Icmp {
        detail += &format!(" len={}", a.len);
    }
    let detail = detail.trim_start().to_string();
    let note = match a.note {
        Some(Note::AckIsSeqPlusOne) => w.ack_note.to_string(),
        Some(Note::Retransmission { dupacks, .. }) if dupacks > 0 => {
            fill_owned(w.retrans_fast, &[("n", dupacks.to_string())])
        }
        Some(Note::Retransmission { waited_us, .. }) => {
            fill_owned(w.retrans_timer, &[("ms", micros(waited_us))])
        }
        Some(Note::DupAck(n)) => fill_owned(w.dupack, &[("n", n.to_string())]),
        None => String::new(),
    };
    let note_kind = match a.note {
        Some(Note::Retransmission { .. }) => "retransmission",
        Some(Note::DupAck(_)) => "dupack",
        _ => "",
    };
    let number = a.packet.to_string();
    let mut extra = vec![
        ("type", "button"),
        ("data-packet", number.as_str()),
        ("data-dir", if a.to_server { "out" } else { "in" }),
        (
            "data-proto",
            if a.proto == Proto::Udp { "udp" } else { "tcp" },
        ),
        ("data-flags", a.label.as_str()),
        ("data-phase", phase_id),
    ];
    if state.pressed {
        extra.push(("aria-pressed", "true"));
    }
    if a.lost {
        extra.push(("data-lost", "true"));
    }
    if !note_kind.is_empty() {
        extra.push(("data-note", note_kind));
    }
    let class = if state.highlighted {
        "sl-row sl-arrow sl-hl"
    } else {
        "sl-row sl-arrow"
    };
    open_row(html, "button", class, "packet", place, &extra);
    let cells = [
        ("sl-at", millis(a.at_us)),
        ("sl-cside", a.client.to_string()),
        ("sl-mid", String::new()),
        ("sl-sside", a.server.to_string()),
    ];
    for (class, text) in cells {
        open_cell(html, place, class);
        if class == "sl-mid" {
            // The arrow, then one line of what it carries (cut with an ellipsis when long; the
            // whole line is its title).
            let lost = if a.lost { c.w.lost } else { "" };
            let all = [detail.trim(), &phase, &note, lost]
                .into_iter()
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join(" · ");
            html.span("sl-flags", &a.label)
                .open("span", &[("class", "sl-info"), ("title", &all)])
                .span("sl-detail", detail.trim())
                .span("sl-phase", &phase)
                .span("sl-note", &note)
                .span("sl-lost", lost)
                .close("span");
        } else {
            html.text(&text);
        }
        html.close("span");
    }
    html.close("button");
}

/// "bytes 14–15: 45 00": a field's bytes as text (the first 16 of a longer field, then "…").
fn field_bytes(w: &Wire, frame: &[u8], start: usize, end: usize) -> String {
    /// Enough to read any header field whole; a payload is in the dump.
    const SHOWN: usize = 16;
    let bytes = frame.get(start..end.min(frame.len())).unwrap_or_default();
    let last = end.max(1) - 1;
    let template = if last <= start {
        w.field_byte
    } else {
        w.field_bytes
    };
    let mut text = fill(
        template,
        &[("from", &start.to_string()), ("to", &last.to_string())],
    );
    for b in bytes.iter().take(SHOWN) {
        text.push_str(&format!(" {b:02x}"));
    }
    if bytes.len() > SHOWN {
        text.push_str(" …");
    }
    text
}

/// Lights up the hex bytes `start..end` of the layer view (a focused or hovered field), or none.
pub(crate) fn highlight_bytes(layers: &Element, range: Option<(usize, usize)>) {
    let Ok(spans) = layers.query_selector_all(".sl-hex span") else {
        return;
    };
    for i in 0..spans.length() {
        if let Some(span) = spans.get(i).and_then(|n| n.dyn_into::<Element>().ok()) {
            let on = range.is_some_and(|(s, e)| (s..e).contains(&(i as usize)));
            let _ = span.class_list().toggle_with_force("sl-hl", on);
        }
    }
}
