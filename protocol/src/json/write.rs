//! Writing a JSON object, member by member.

use std::fmt::Write as _;

/// Builds one JSON object: `{"v":1,"type":"tcp_send",...}`.
pub(crate) struct ObjectWriter {
    out: String,
}

impl ObjectWriter {
    pub(crate) fn new() -> Self {
        ObjectWriter { out: "{".into() }
    }

    fn key(&mut self, key: &str) -> &mut String {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        push_string(&mut self.out, key);
        self.out.push(':');
        &mut self.out
    }

    pub(crate) fn num(&mut self, key: &str, n: u64) -> &mut Self {
        let _ = write!(self.key(key), "{n}");
        self
    }

    pub(crate) fn bool(&mut self, key: &str, b: bool) -> &mut Self {
        self.key(key).push_str(if b { "true" } else { "false" });
        self
    }

    pub(crate) fn str(&mut self, key: &str, s: &str) -> &mut Self {
        push_string(self.key(key), s);
        self
    }

    /// A member whose value is already JSON (a nested object or array).
    pub(crate) fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key).push_str(json);
        self
    }

    pub(crate) fn finish(&mut self) -> String {
        self.out.push('}');
        std::mem::take(&mut self.out)
    }
}

/// `s` as a JSON string: quoted, with `"`, `\` and control characters escaped.
pub(crate) fn push_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::super::value::{Value, parse};
    use super::*;

    #[test]
    fn writes_json_that_reads_back() {
        let nasty = "quote \" backslash \\ newline \n tab \t bell \u{7} 中文 😀";
        let json = ObjectWriter::new()
            .num("n", u64::MAX)
            .bool("yes", true)
            .bool("no", false)
            .str("s", nasty)
            .raw("list", "[1,2]")
            .finish();
        assert_eq!(
            parse(&json).unwrap(),
            Value::Object(vec![
                ("n".into(), Value::Number(None)),
                ("yes".into(), Value::Bool(true)),
                ("no".into(), Value::Bool(false)),
                ("s".into(), Value::String(nasty.into())),
                (
                    "list".into(),
                    Value::Array(vec![Value::Number(Some(1)), Value::Number(Some(2))])
                ),
            ])
        );
        assert!(json.contains(r#""n":18446744073709551615"#), "{json}");
        assert!(json.contains(r"\u0007"), "{json}");
        assert_eq!(ObjectWriter::new().finish(), "{}");
    }
}
