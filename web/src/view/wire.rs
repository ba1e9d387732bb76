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
use crate::i18n::{Catalog, fill, fill_owned};
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
    /// What was drawn last, to skip identical redraws.
    drawn: Option<Drawn>,
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
        let teardown = el("button", "sl-teardown")?;
        teardown.set_attribute("type", "button")?;
        teardown.set_text_content(Some(w.teardown_demo));
        head.append_with_node_4(&title, &label, &download, &teardown)?;
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
            &head, &lanes, &diagram, &kernel, &rtt_note, &status, &note, &layers,
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
            drawn: None,
        };
        Ok((
            view,
            vec![
                (download, Intent::DownloadPcap),
                (teardown, Intent::TeardownDemo),
            ],
        ))
    }

    pub(crate) fn render(&mut self, model: &Model, c: &Catalog) -> Result<(), JsValue> {
        let w = c.w;
        let wire = model.wire();
        let status = match &wire.capture {
            None => String::new(),
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
        let doc = self.root.owner_document().ok_or("detached")?;
        let dropped = timeline.dropped();
        self.dropped
            .toggle_attribute_with_force("hidden", dropped == 0)?;
        self.dropped.set_text_content(Some(&fill(
            c.w.dropped_rows,
            &[("n", &dropped.to_string())],
        )));
        self.spacer.set_text_content(None);
        if total == 0 {
            let p = doc.create_element("p")?;
            p.set_class_name("sl-empty");
            p.set_text_content(Some(c.w.empty));
            self.spacer.append_child(&p)?;
        }
        let busy = Busy::of(model, window, timeline);
        for i in window.0..window.1 {
            let Some((at, row)) = timeline.get(i) else {
                continue;
            };
            let Some(element) = self.row(&doc, model, c, at, row, &packets)? else {
                continue;
            };
            element.set_attribute("style", &format!("top:{}px", i as i32 * ROW_PX))?;
            element.set_attribute("data-row", &i.to_string())?;
            // The lifelines: a call in progress on a side shows as a bar on that side.
            for (side, class) in [(Side::Client, "sl-cside"), (Side::Server, "sl-sside")] {
                if let Some(kind) = busy.at(side, at)
                    && let Ok(Some(cell)) = element.query_selector(&format!(".{class}"))
                {
                    cell.set_attribute("data-busy", kind)?;
                }
            }
            self.spacer.append_child(&element)?;
        }
        self.render_layers(&doc, model, c)?;
        self.drawn = Some(drawn);
        Ok(())
    }

    /// The element of one row.
    fn row(
        &self,
        doc: &Document,
        model: &Model,
        c: &Catalog,
        at: u64,
        row: Row,
        highlighted: &[u64],
    ) -> Result<Option<Element>, JsValue> {
        let time = millis(at);
        Ok(match row {
            Row::Packet(n) => match model.wire().arrow(n) {
                Some(arrow) => {
                    let e = arrow_row(doc, arrow, model.wire().relative, c)?;
                    if highlighted.contains(&n) {
                        e.class_list().add_1("sl-hl")?;
                    }
                    if model.selected_packet() == Some(n) {
                        e.set_attribute("aria-pressed", "true")?;
                    }
                    Some(e)
                }
                None => None,
            },
            Row::Entry(seq) => match model.log().get(seq) {
                Some(entry) => Some(call_row(doc, c, entry, &time)?),
                None => None,
            },
            Row::State(n) => match model.timeline().state(n) {
                Some(change) => {
                    let mut text = fill(c.w.state_row, &[("state", &change.state)]);
                    if let Some(ms) = change.timer_ms {
                        text += &format!(" · {}", present::seconds(c, ms / 1000));
                    }
                    let e = plain_row(doc, "state", &time, &text, "sl-cside")?;
                    e.set_attribute("data-state", &change.state)?;
                    Some(e)
                }
                None => None,
            },
            Row::Session => Some(plain_row(doc, "session", &time, c.w.session_row, "sl-mid")?),
        })
    }

    fn render_kernel(&self, model: &Model, c: &Catalog) -> Result<(), JsValue> {
        let doc = self.root.owner_document().ok_or("detached")?;
        self.kernel.set_text_content(None);
        let mut any_rtt = false;
        for (id, k) in model.wire().states() {
            let li = doc.create_element("li")?;
            let mut text = format!("TCP #{id}: {}", k.state);
            if let Some(i) = k.info {
                any_rtt = true;
                text += " · ";
                text += &fill(c.w.rtt_kernel, &[("us", &micros(i.rtt_us.into()))]);
                text += &format!(
                    " · cwnd {} · segs {}↑ {}↓ · retrans {}",
                    i.cwnd, i.segs_out, i.segs_in, i.total_retrans
                );
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

    fn render_layers(&self, doc: &Document, model: &Model, c: &Catalog) -> Result<(), JsValue> {
        self.layers.set_text_content(None);
        let Some(packet) = model.selected_packet().and_then(|n| model.wire().packet(n)) else {
            return Ok(());
        };
        let w = c.w;
        let title = doc.create_element("h4")?;
        title.set_text_content(Some(&fill(
            w.layers_title,
            &[("n", &packet.number.to_string())],
        )));
        let hint = doc.create_element("p")?;
        hint.set_class_name("sl-hint");
        hint.set_text_content(Some(w.hover_hint));
        self.layers.append_with_node_2(&title, &hint)?;
        let grid = doc.create_element("div")?;
        grid.set_class_name("sl-layer-grid");
        let fields = doc.create_element("div")?;
        for layer in layers::layers(&packet.frame, w).unwrap_or_default() {
            let h = doc.create_element("h5")?;
            h.set_text_content(Some(layer.name));
            let table = doc.create_element("dl")?;
            for f in &layer.fields {
                let dt = doc.create_element("dt")?;
                dt.set_text_content(Some(&format!("{} = {}", f.name, f.value)));
                let dd = doc.create_element("dd")?;
                dd.set_text_content(Some(f.note));
                for e in [&dt, &dd] {
                    e.set_attribute("data-start", &f.start.to_string())?;
                    e.set_attribute("data-end", &f.end.to_string())?;
                }
                table.append_with_node_2(&dt, &dd)?;
            }
            fields.append_with_node_2(&h, &table)?;
        }
        let hex = doc.create_element("pre")?;
        hex.set_class_name("sl-hex");
        for (i, b) in packet.frame.iter().enumerate() {
            if i > 0 && i % 16 == 0 {
                hex.append_child(&doc.create_text_node("\n"))?;
            } else if i > 0 {
                hex.append_child(&doc.create_text_node(" "))?;
            }
            let span = doc.create_element("span")?;
            span.set_attribute("data-i", &i.to_string())?;
            span.set_text_content(Some(&format!("{b:02x}")));
            hex.append_child(&span)?;
        }
        grid.append_with_node_2(&fields, &hex)?;
        self.layers.append_child(&grid)?;
        Ok(())
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

/// A row with one text in one lane.
fn plain_row(
    doc: &Document,
    kind: &str,
    time: &str,
    text: &str,
    lane: &str,
) -> Result<Element, JsValue> {
    let row = doc.create_element("div")?;
    row.set_class_name("sl-row");
    row.set_attribute("data-kind", kind)?;
    for (class, t) in [
        ("sl-at", time),
        ("sl-cside", ""),
        ("sl-mid", ""),
        ("sl-sside", ""),
    ] {
        let span = doc.create_element("span")?;
        span.set_class_name(class);
        span.set_text_content(Some(if class == lane { text } else { t }));
        row.append_child(&span)?;
    }
    Ok(row)
}

/// A call (or a note) on its side's lifeline: what it did, and how long it took.
fn call_row(doc: &Document, c: &Catalog, e: &Entry, time: &str) -> Result<Element, JsValue> {
    let line = present::line(c, e);
    let lane = match e.side {
        Side::Client => "sl-cside",
        Side::Server => "sl-sside",
        Side::Bridge => "sl-mid",
    };
    let row = plain_row(doc, "call", time, "", lane)?;
    row.set_attribute("data-side", line.side)?;
    row.set_attribute("data-proto", &line.proto.to_ascii_lowercase())?;
    row.set_attribute("data-what", line.kind)?;
    if let Ok(Some(cell)) = row.query_selector(&format!(".{lane}")) {
        let what = doc.create_element("span")?;
        what.set_class_name("sl-what");
        let mut text = line.text.clone();
        if let Some(payload) = &line.payload {
            text += " ";
            text += payload;
        }
        what.set_text_content(Some(&text));
        cell.append_child(&what)?;
        what.set_attribute("title", &text)?;
        if let (Some(entered), Some(returned)) = (e.called_us, e.t_us) {
            let took = doc.create_element("span")?;
            took.set_class_name("sl-took");
            let values = [("took", micros(returned.saturating_sub(entered)))];
            let template = if waits(e) == "wait" {
                c.w.waited
            } else {
                c.w.took
            };
            took.set_text_content(Some(&fill_owned(template, &values)));
            cell.append_child(&took)?;
        }
    }
    Ok(row)
}

/// One packet: an arrow between the lifelines, focusable and opened with Enter (a button).
fn arrow_row(doc: &Document, a: &Arrow, relative: bool, c: &Catalog) -> Result<Element, JsValue> {
    let w = c.w;
    let row = doc.create_element("button")?;
    row.set_class_name("sl-row sl-arrow");
    row.set_attribute("type", "button")?;
    row.set_attribute("data-kind", "packet")?;
    row.set_attribute("data-packet", &a.packet.to_string())?;
    row.set_attribute("data-dir", if a.to_server { "out" } else { "in" })?;
    row.set_attribute(
        "data-proto",
        if a.proto == Proto::Udp { "udp" } else { "tcp" },
    )?;
    row.set_attribute("data-flags", &a.label)?;
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
    row.set_attribute(
        "data-phase",
        match a.phase {
            Phase::Handshake(_) => "handshake",
            Phase::Teardown => "teardown",
            Phase::Datagram => "datagram",
            Phase::Reset => "reset",
            Phase::Data => "data",
            Phase::Other => "other",
            Phase::Icmp => "icmp",
            Phase::Fragment => "fragment",
        },
    )?;
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
    detail += &format!(" len={}", a.len);
    let note = if a.note == Some(Note::AckIsSeqPlusOne) {
        w.ack_note
    } else {
        ""
    };
    let mid = doc.create_element("span")?;
    mid.set_class_name("sl-mid");
    for (class, text) in [
        ("sl-flags", a.label.as_str()),
        ("sl-detail", detail.trim()),
        ("sl-phase", phase.as_str()),
        ("sl-note", note),
    ] {
        let span = doc.create_element("span")?;
        span.set_class_name(class);
        span.set_text_content(Some(text));
        mid.append_child(&span)?;
    }
    let cells = [
        ("sl-at", millis(a.at_us)),
        ("sl-cside", a.client.to_string()),
        ("", String::new()),
        ("sl-sside", a.server.to_string()),
    ];
    for (class, text) in cells {
        if class.is_empty() {
            row.append_child(&mid)?;
            continue;
        }
        let span = doc.create_element("span")?;
        span.set_class_name(class);
        span.set_text_content(Some(&text));
        row.append_child(&span)?;
    }
    Ok(row)
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
