//! One experiment's panel: its explanation, its controls (built from their descriptions), and
//! its results (drawn from [`Block`]s). Generic: no experiment is special-cased here.

use super::Intent;
use super::html::Html;
use crate::experiments::{Action, Block, Control, Params, Tab};
use crate::i18n::Catalog;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, HtmlInputElement, HtmlSelectElement};

pub(crate) struct Panel {
    pub(crate) tab: Tab,
    pub(crate) root: Element,
    /// The value-holding controls, by key.
    inputs: Vec<(&'static str, Element)>,
    /// The buttons, with their actions and whether each is enabled now.
    actions: Vec<(Action, Element, bool)>,
    results: Element,
    /// What is drawn now, to skip redrawing the same.
    drawn: Vec<Block>,
}

impl Panel {
    /// Builds the panel; its buttons are returned with their intents, for the caller to bind.
    pub(crate) fn build(
        doc: &Document,
        tab: Tab,
        c: &Catalog,
    ) -> Result<(Panel, Vec<(Element, Intent)>), JsValue> {
        let root = doc.create_element("section")?;
        root.set_class_name("sl-panel");
        root.set_attribute("role", "tabpanel")?;
        root.set_attribute("aria-label", tab.title(c))?;
        root.set_attribute("data-tab", tab.key())?;
        root.set_attribute("id", &format!("sl-panel-{}", tab.key()))?;
        let intro = doc.create_element("p")?;
        intro.set_class_name("sl-intro");
        intro.set_text_content(Some(tab.intro(c)));
        root.append_child(&intro)?;

        let controls = doc.create_element("div")?;
        controls.set_class_name("sl-controls");
        let mut inputs = vec![];
        let mut actions = vec![];
        let mut buttons = vec![];
        for control in tab.controls(c) {
            match control {
                Control::Button { label, action } => {
                    let b = doc.create_element("button")?;
                    b.set_attribute("type", "button")?;
                    b.set_class_name("sl-action");
                    b.set_text_content(Some(label));
                    controls.append_child(&b)?;
                    actions.push((action, b.clone(), true));
                    buttons.push((b, Intent::Experiment(action)));
                }
                other => {
                    let (key, label, field) = field(doc, &other)?;
                    let wrap = doc.create_element("label")?;
                    wrap.set_class_name("sl-field");
                    let text = doc.create_element("span")?;
                    text.set_text_content(Some(label));
                    wrap.append_with_node_2(&text, &field)?;
                    controls.append_child(&wrap)?;
                    inputs.push((key, field));
                }
            }
        }
        root.append_child(&controls)?;
        let results = doc.create_element("div")?;
        results.set_class_name("sl-results");
        results.set_attribute("aria-live", "polite")?;
        root.append_child(&results)?;
        let panel = Panel {
            tab,
            root,
            inputs,
            actions,
            results,
            drawn: vec![],
        };
        Ok((panel, buttons))
    }

    /// The controls' current values.
    pub(crate) fn params(&self) -> Params {
        let mut params = Params::default();
        for (key, field) in &self.inputs {
            let value = if let Some(select) = field.dyn_ref::<HtmlSelectElement>() {
                select.value()
            } else if let Some(input) = field.dyn_ref::<HtmlInputElement>() {
                // A number box holding what is not a number reads as empty: say so instead
                // (the experiment refuses it with the allowed range).
                match input.value() {
                    v if v.is_empty() && !input.check_validity() => "?".to_string(),
                    v => v,
                }
            } else {
                String::new()
            };
            params = params.with(key, &value);
        }
        params
    }

    /// The file picked in this panel's file control, if any.
    pub(crate) fn picked_file(&self) -> Option<web_sys::File> {
        self.inputs.iter().find_map(|(_, field)| {
            let input = field.dyn_ref::<HtmlInputElement>()?;
            (input.type_() == "file")
                .then(|| input.files()?.get(0))
                .flatten()
        })
    }

    pub(crate) fn show(&self, visible: bool) -> Result<(), JsValue> {
        self.root
            .toggle_attribute_with_force("hidden", !visible)
            .map(drop)
    }

    /// Disables the buttons whose action cannot do anything now (`available` says which).
    pub(crate) fn enable(&mut self, available: impl Fn(Action) -> bool) -> Result<(), JsValue> {
        for (action, button, enabled) in &mut self.actions {
            let now = available(*action);
            if now != *enabled {
                button.toggle_attribute_with_force("disabled", !now)?;
                *enabled = now;
            }
        }
        Ok(())
    }

    /// Redraws the results if they changed.
    pub(crate) fn draw(&mut self, blocks: Vec<Block>) -> Result<(), JsValue> {
        if blocks == self.drawn {
            return Ok(());
        }
        let mut h = Html::default();
        for block in &blocks {
            h.open("div", &[("class", "sl-block")])
                .open("h3", &[])
                .text(&block.title)
                .close("h3")
                .open("ul", &[]);
            for line in &block.lines {
                h.open("li", &[("class", "sl-line"), ("data-kind", line.kind)])
                    .span("sl-line-text", &line.text);
                for chip in &line.chips {
                    h.span("sl-chip", chip);
                }
                if !line.points.is_empty() {
                    chart(&mut h, &line.points, &line.text);
                }
                h.close("li");
            }
            h.close("ul").close("div");
        }
        // One call into the browser for all the results (see `html.rs`).
        self.results.set_inner_html(&h.finish());
        self.drawn = blocks;
        Ok(())
    }
}

/// Size of a chart, in its own units (the stylesheet scales it to the panel's width).
const CHART_W: u64 = 300;
const CHART_H: u64 = 48;
/// Room above the largest value and below 0, so that neither is drawn on the chart's border.
const CHART_PAD: u64 = 4;

/// Values over time as a line (an inline SVG): oldest on the left, 0 at the bottom, the
/// largest value at the top. Its accessible name is the line's text (the current value and the
/// largest, which the top stands for).
fn chart(h: &mut Html, points: &[u64], label: &str) {
    let path = chart_points(points);
    let view = format!("0 0 {CHART_W} {CHART_H}");
    h.open(
        "svg",
        &[
            ("class", "sl-chart"),
            ("viewBox", &view),
            ("preserveAspectRatio", "none"),
            ("role", "img"),
            ("aria-label", label),
        ],
    )
    .open("polyline", &[("points", &path)])
    .close("polyline")
    .close("svg");
}

/// The polyline's points: x across the width, y from `CHART_H - CHART_PAD` (0) up to
/// `CHART_PAD` (the largest value).
fn chart_points(points: &[u64]) -> String {
    let max = points.iter().copied().max().unwrap_or(0).max(1);
    let step = CHART_W / (points.len() as u64).max(2).saturating_sub(1).max(1);
    let span = CHART_H - 2 * CHART_PAD;
    let mut path = String::new();
    for (i, &v) in points.iter().enumerate() {
        let x = (i as u64 * step).min(CHART_W);
        let y = CHART_H - CHART_PAD - v * span / max;
        path += &format!("{}{x},{y}", if i == 0 { "" } else { " " });
    }
    path
}

/// The input element of a value-holding control: (key, label, element).
fn field(
    doc: &Document,
    control: &Control,
) -> Result<(&'static str, &'static str, Element), JsValue> {
    Ok(match control {
        Control::Text { key, label, value } => {
            let input: HtmlInputElement = doc.create_element("input")?.dyn_into()?;
            input.set_type("text");
            input.set_value(value);
            input.set_attribute("spellcheck", "false")?;
            (key, label, input.into())
        }
        Control::Number {
            key,
            label,
            value,
            min,
            max,
        } => {
            let input: HtmlInputElement = doc.create_element("input")?.dyn_into()?;
            input.set_type("number");
            input.set_min(&min.to_string());
            input.set_max(&max.to_string());
            input.set_value(&value.to_string());
            (key, label, input.into())
        }
        Control::Select {
            key,
            label,
            options,
        } => {
            let select: HtmlSelectElement = doc.create_element("select")?.dyn_into()?;
            for (value, text) in options {
                let option = doc.create_element("option")?;
                option.set_attribute("value", value)?;
                option.set_text_content(Some(text));
                select.append_child(&option)?;
            }
            (key, label, select.into())
        }
        Control::File { key, label } => {
            let input: HtmlInputElement = doc.create_element("input")?.dyn_into()?;
            input.set_type("file");
            (key, label, input.into())
        }
        Control::Button { .. } => return Err("a button is not a field".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn a_charts_top_and_bottom_stay_off_its_border() {
        assert_eq!(chart_points(&[5, 10, 10]), "0,24 150,4 300,4");
        assert_eq!(chart_points(&[0, 0]), "0,44 300,44");
    }
}
