//! A JSON text parsed into a plain tree of [`Value`]s.
//!
//! This is the whole of JSON (RFC 8259) but one shortcut: a number is kept as an integer when it
//! is one, and only checked for its form otherwise, since the protocol carries no fractions
//! (reading a fraction is an error in [`super::read`], not here, so a future field with a
//! fraction does not make a whole frame unreadable).

use std::fmt;

/// One JSON value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    /// A number: `Some` when it is an integer that fits an `i64`.
    Number(Option<i64>),
    String(String),
    Array(Vec<Value>),
    /// An object's members, in the order they came.
    Object(Vec<(String, Value)>),
}

/// Why a text is not JSON, and where (a byte offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub(crate) at: usize,
    pub(crate) what: &'static str,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not JSON: {} at byte {}", self.what, self.at)
    }
}

/// Nesting deeper than this is refused rather than risking the stack (the protocol nests 3).
const MAX_DEPTH: usize = 32;

/// Parses one JSON text (surrounding whitespace allowed, nothing else after the value).
pub(crate) fn parse(text: &str) -> Result<Value, SyntaxError> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let value = p.value(0)?;
    p.skip_space();
    if p.i < p.s.len() {
        return Err(p.error("text after the value"));
    }
    Ok(value)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn error(&self, what: &'static str) -> SyntaxError {
        SyntaxError { at: self.i, what }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// Consumes `byte` (after whitespace) if it comes next.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_space();
        let found = self.peek() == Some(byte);
        if found {
            self.i += 1;
        }
        found
    }

    fn literal(&mut self, word: &'static str, value: Value) -> Result<Value, SyntaxError> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(value)
        } else {
            Err(self.error("unknown word"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.skip_space();
        match self.peek() {
            None => Err(self.error("unexpected end")),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.error("expected ',' or ']'"));
                        }
                    }
                }
                Ok(Value::Array(items))
            }
            Some(b'{') => {
                self.i += 1;
                let mut members = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.skip_space();
                        if self.peek() != Some(b'"') {
                            return Err(self.error("expected a member name"));
                        }
                        let name = self.string()?;
                        if !self.eat(b':') {
                            return Err(self.error("expected ':'"));
                        }
                        members.push((name, self.value(depth + 1)?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.error("expected ',' or '}'"));
                        }
                    }
                }
                Ok(Value::Object(members))
            }
            Some(_) => Err(self.error("unexpected character")),
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<Value, SyntaxError> {
        let start = self.i;
        self.eat(b'-');
        let int_start = self.i;
        let int_digits = self.digits();
        if int_digits == 0 || (int_digits > 1 && self.s[int_start] == b'0') {
            return Err(self.error("malformed number"));
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.i += 1;
            integer = false;
            if self.digits() == 0 {
                return Err(self.error("malformed number"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            integer = false;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("malformed number"));
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or_default();
        Ok(Value::Number(if integer {
            text.parse().ok()
        } else {
            None
        }))
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    /// A string, from its opening quote; escapes decoded.
    fn string(&mut self) -> Result<String, SyntaxError> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let Some(byte) = self.peek() else {
                return Err(self.error("unterminated string"));
            };
            self.i += 1;
            match byte {
                b'"' => break,
                b'\\' => {
                    let Some(escape) = self.peek() else {
                        return Err(self.error("unterminated string"));
                    };
                    self.i += 1;
                    let c = match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(self.error("unknown escape")),
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0..=0x1f => return Err(self.error("control character in a string")),
                _ => out.push(byte),
            }
        }
        // The input is a `&str` and escapes add whole characters, so this cannot fail.
        String::from_utf8(out).map_err(|_| self.error("invalid UTF-8"))
    }

    /// The character of `\uXXXX` (after the `u`), or of a surrogate pair `\uD83D\uDE00`.
    fn unicode_escape(&mut self) -> Result<char, SyntaxError> {
        let first = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&first) {
            if !self.s[self.i..].starts_with(b"\\u") {
                return Err(self.error("lone surrogate in \\u escape"));
            }
            self.i += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(self.error("lone surrogate in \\u escape"));
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        char::from_u32(code).ok_or_else(|| self.error("lone surrogate in \\u escape"))
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let digits = self
            .s
            .get(self.i..self.i + 4)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .ok_or_else(|| self.error("malformed \\u escape"))?;
        let code = digits
            .iter()
            .fold(0, |n, &d| n * 16 + char::from(d).to_digit(16).unwrap_or(0));
        self.i += 4;
        Ok(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value {
        Value::String(text.into())
    }

    #[test]
    fn reads_every_kind_of_value() {
        let v =
            parse(r#" {"a": [1, -2, 3.5, 1e3, true, false, null], "b": {}, "c": [], "d": ""} "#);
        assert_eq!(
            v.unwrap(),
            Value::Object(vec![
                (
                    "a".into(),
                    Value::Array(vec![
                        Value::Number(Some(1)),
                        Value::Number(Some(-2)),
                        Value::Number(None),
                        Value::Number(None),
                        Value::Bool(true),
                        Value::Bool(false),
                        Value::Null,
                    ])
                ),
                ("b".into(), Value::Object(vec![])),
                ("c".into(), Value::Array(vec![])),
                ("d".into(), s("")),
            ])
        );
        assert_eq!(parse("18446744073709551616").unwrap(), Value::Number(None));
        assert_eq!(
            parse("9007199254740993").unwrap(),
            Value::Number(Some(9007199254740993))
        );
    }

    #[test]
    fn decodes_escapes_and_keeps_raw_unicode() {
        assert_eq!(
            parse(r#""q\"b\\s\/\b\f\n\r\t""#).unwrap(),
            s("q\"b\\s/\u{8}\u{c}\n\r\t")
        );
        assert_eq!(parse(r#""\u00e9\u4E2D""#).unwrap(), s("é中"));
        assert_eq!(parse(r#""\ud83d\ude00""#).unwrap(), s("😀"));
        assert_eq!(parse(r#""套接字 😀""#).unwrap(), s("套接字 😀"));
    }

    #[test]
    fn says_what_is_wrong_and_where() {
        for (text, what) in [
            ("", "unexpected end"),
            ("{nope", "expected a member name"),
            (r#"{"a" 1}"#, "expected ':'"),
            (r#"{"a":1"#, "expected ',' or '}'"),
            ("[1 2]", "expected ',' or ']'"),
            ("tru", "unknown word"),
            ("01", "malformed number"),
            ("-", "malformed number"),
            ("1.", "malformed number"),
            ("1e", "malformed number"),
            (r#""abc"#, "unterminated string"),
            (r#""\x""#, "unknown escape"),
            (r#""\u12G4""#, "malformed \\u escape"),
            (r#""\ud83d""#, "lone surrogate in \\u escape"),
            (r#""\ude00""#, "lone surrogate in \\u escape"),
            ("\"a\nb\"", "control character in a string"),
            ("{} {}", "text after the value"),
            ("@", "unexpected character"),
        ] {
            let err = parse(text).expect_err(text);
            assert_eq!(err.what, what, "{text:?}");
        }
        assert_eq!(parse("[1, x]").unwrap_err().at, 4);
        assert_eq!(
            parse("[1, x]").unwrap_err().to_string(),
            "not JSON: unexpected character at byte 4"
        );
    }

    #[test]
    fn refuses_deep_nesting_instead_of_overflowing_the_stack() {
        let deep = "[".repeat(100_000);
        assert_eq!(parse(&deep).unwrap_err().what, "nested too deeply");
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
    }
}
