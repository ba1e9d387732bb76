//! Small pieces of HTML built as text, every text and attribute value escaped.
//!
//! The timeline redraws its visible rows on every scroll and the log appends entries in bursts;
//! building each row from a dozen DOM calls (create, set class, set text, append) costs a dozen
//! calls into the browser per row and, above all, WebAssembly glue for each call site — the
//! console's download grew by kilobytes. One `innerHTML` per redraw does the same with one call.
//! Nothing here ever inserts text unescaped, so bytes from the wire (a payload) stay text.

/// An HTML fragment being written.
#[derive(Default)]
pub(crate) struct Html(String);

impl Html {
    /// `<tag a="v" …>`.
    pub(crate) fn open(&mut self, tag: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.0.push('<');
        self.0.push_str(tag);
        for (name, value) in attrs {
            self.0.push(' ');
            self.0.push_str(name);
            self.0.push_str("=\"");
            escape(value, &mut self.0);
            self.0.push('"');
        }
        self.0.push('>');
        self
    }

    /// Escaped text.
    pub(crate) fn text(&mut self, text: &str) -> &mut Self {
        escape(text, &mut self.0);
        self
    }

    /// `</tag>`.
    pub(crate) fn close(&mut self, tag: &str) -> &mut Self {
        self.0.push_str("</");
        self.0.push_str(tag);
        self.0.push('>');
        self
    }

    /// `<span class="…">text</span>`.
    pub(crate) fn span(&mut self, class: &str, text: &str) -> &mut Self {
        self.open("span", &[("class", class)])
            .text(text)
            .close("span")
    }

    pub(crate) fn finish(self) -> String {
        self.0
    }
}

fn escape(text: &str, out: &mut String) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn text_and_attributes_are_escaped() {
        let mut h = Html::default();
        h.open("li", &[("title", "a \"quote\" & <tag>")])
            .span("sl-payload", "<script>alert('x')</script>")
            .close("li");
        assert_eq!(
            h.finish(),
            "<li title=\"a &quot;quote&quot; &amp; &lt;tag&gt;\"><span class=\"sl-payload\">\
             &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</span></li>"
        );
    }
}
