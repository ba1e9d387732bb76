//! The wire view's DOM: a sequence diagram of the session's packets (client and server
//! lifelines, one arrow per segment or datagram), the kernel's TCP states, and the layer view
//! of the selected packet with a hex dump whose bytes light up when a field is hovered.
//!
//! All numbers come from the model (`wire::flow`, `wire::layers`); this file only draws them.

use super::Intent;
use crate::i18n::{Catalog, fill};
use crate::model::Model;
use crate::present::{micros, millis};
use crate::wire::decode::Proto;
use crate::wire::flow::{Arrow, Note, Phase};
use crate::wire::layers;
use protocol::CaptureState;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, HtmlInputElement};

/// Arrows drawn at most (the newest); a long session keeps the page quick.
const MAX_ROWS: usize = 300;

pub(crate) struct WireView {
    pub(crate) root: Element,
    status: Element,
    pub(crate) relative: HtmlInputElement,
    kernel: Element,
    pub(crate) diagram: Element,
    pub(crate) layers: Element,
    /// (packet count, relative, highlighted packets, selected) last drawn.
    drawn: Option<(u64, bool, Vec<u64>, Option<u64>)>,
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
        let status = el("p", "sl-capture")?;
        let note = el("p", "sl-wire-note")?;
        note.set_text_content(Some(w.teardown_note));
        let kernel = el("ul", "sl-kernel")?;
        kernel.set_attribute("aria-label", w.kernel)?;
        let diagram = el("ol", "sl-diagram")?;
        diagram.set_attribute("aria-label", w.title)?;
        let layers = el("div", "sl-layers")?;
        for part in [&head, &status, &note, &kernel, &diagram, &layers] {
            root.append_child(part)?;
        }
        let view = WireView {
            root,
            status,
            relative,
            kernel,
            diagram,
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
        self.render_kernel(model)?;

        let (packets, _) = model.highlighted();
        let key = (
            wire.count(),
            wire.relative,
            packets.clone(),
            model.selected_packet(),
        );
        if self.drawn.as_ref() == Some(&key) {
            return Ok(());
        }
        let doc = self.root.owner_document().ok_or("detached")?;
        // Follow the newest packet only when new ones came and the learner was already looking
        // at the end: someone who scrolled up to the handshake, or clicked a packet there, stays.
        let grew = self.drawn.as_ref().map(|k| k.0) != Some(wire.count());
        let follow = grew && super::at_bottom(&self.diagram);
        let top = self.diagram.scroll_top();
        self.diagram.set_text_content(None);
        let arrows = wire.arrows();
        if arrows.is_empty() {
            let li = doc.create_element("li")?;
            li.set_class_name("sl-empty");
            li.set_text_content(Some(w.empty));
            self.diagram.append_child(&li)?;
        }
        let skip = arrows.len().saturating_sub(MAX_ROWS);
        for arrow in &arrows[skip..] {
            let li = row(&doc, arrow, c)?;
            if packets.contains(&arrow.packet) {
                li.class_list().add_1("sl-hl")?;
            }
            self.diagram.append_child(&li)?;
        }
        self.diagram.set_scroll_top(if follow {
            self.diagram.scroll_height()
        } else {
            top
        });
        self.render_layers(&doc, model, c)?;
        self.drawn = Some(key);
        Ok(())
    }

    fn render_kernel(&self, model: &Model) -> Result<(), JsValue> {
        let doc = self.root.owner_document().ok_or("detached")?;
        self.kernel.set_text_content(None);
        for (id, k) in model.wire().states() {
            let li = doc.create_element("li")?;
            let mut text = format!("TCP #{id}: {}", k.state);
            if let Some(i) = k.info {
                text += &format!(
                    " · rtt {} · cwnd {} · segs {}↑ {}↓ · retrans {}",
                    micros(i.rtt_us.into()),
                    i.cwnd,
                    i.segs_out,
                    i.segs_in,
                    i.total_retrans
                );
            }
            if let Some(ms) = k.timer_ms {
                text += &format!(" · {} s", ms / 1000);
            }
            li.set_attribute("data-state", &k.state)?;
            li.set_text_content(Some(&text));
            self.kernel.append_child(&li)?;
        }
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

/// Lights up the hex bytes `start..end` of the layer view (a hovered field), or none.
pub(crate) fn highlight_bytes(layers: &Element, range: Option<(usize, usize)>) {
    {
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
}

/// One arrow of the diagram.
fn row(doc: &Document, a: &Arrow, c: &Catalog) -> Result<Element, JsValue> {
    let w = c.w;
    let li = doc.create_element("li")?;
    li.set_class_name("sl-arrow");
    li.set_attribute("data-packet", &a.packet.to_string())?;
    li.set_attribute("data-dir", if a.to_server { "out" } else { "in" })?;
    li.set_attribute(
        "data-proto",
        if a.proto == Proto::Udp { "udp" } else { "tcp" },
    )?;
    li.set_attribute("data-flags", &a.label)?;
    let phase = match a.phase {
        Phase::Handshake(n) => format!("{} {n}/3", w.handshake),
        Phase::Teardown => w.teardown.to_string(),
        Phase::Datagram => w.datagram.to_string(),
        Phase::Reset => w.reset.to_string(),
        Phase::Data | Phase::Other => String::new(),
    };
    li.set_attribute(
        "data-phase",
        match a.phase {
            Phase::Handshake(_) => "handshake",
            Phase::Teardown => "teardown",
            Phase::Datagram => "datagram",
            Phase::Reset => "reset",
            Phase::Data => "data",
            Phase::Other => "other",
        },
    )?;
    let mut detail = match a.proto {
        Proto::Tcp => format!("seq={}", a.seq),
        Proto::Udp => String::new(),
    };
    if let Some(ack) = a.ack {
        detail += &format!(" ack={ack}");
    }
    if let Some(win) = a.window {
        detail += &format!(" win={win}");
    }
    detail += &format!(" len={}", a.len);
    let parts = [
        ("sl-at", millis(a.at_us)),
        ("sl-client", format!("{} {}", w.client, a.client)),
        ("sl-flags", a.label.clone()),
        ("sl-detail", detail.trim().to_string()),
        ("sl-server", format!("{} {}", w.server, a.server)),
        ("sl-phase", phase),
        (
            "sl-note",
            if a.note == Some(Note::AckIsSeqPlusOne) {
                w.ack_note.to_string()
            } else {
                String::new()
            },
        ),
    ];
    for (class, text) in parts {
        let span = doc.create_element("span")?;
        span.set_class_name(class);
        span.set_text_content(Some(&text));
        li.append_child(&span)?;
    }
    Ok(li)
}
