//! Reading typed fields out of a parsed JSON object, with errors that name the field.

use super::value::Value;
use crate::Bytes;
use std::fmt;
use std::net::SocketAddr;

/// Why a frame could not be read as a message: not JSON, or JSON of the wrong shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub(crate) String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

impl From<super::SyntaxError> for DecodeError {
    fn from(e: super::SyntaxError) -> Self {
        DecodeError(e.to_string())
    }
}

/// A type that one JSON value can be read as. The error says what was expected.
pub(crate) trait FromJson: Sized {
    fn from_json(value: &Value) -> Result<Self, String>;
}

/// The members of one JSON object. A member that is `null` counts as absent, as with serde's
/// `Option` fields.
#[derive(Clone, Copy)]
pub(crate) struct Obj<'a>(&'a [(String, Value)]);

impl<'a> Obj<'a> {
    pub(crate) fn of(value: &'a Value) -> Result<Obj<'a>, String> {
        match value {
            Value::Object(members) => Ok(Obj(members)),
            _ => Err("expected an object".into()),
        }
    }

    fn find(self, key: &str) -> Option<&'a Value> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .filter(|v| **v != Value::Null)
    }

    /// A required field.
    pub(crate) fn get<T: FromJson>(self, key: &str) -> Result<T, DecodeError> {
        match self.find(key) {
            Some(v) => T::from_json(v).map_err(|e| bad_field(key, e)),
            None => Err(missing(key)),
        }
    }

    /// An optional field: `None` when absent or `null`.
    pub(crate) fn opt<T: FromJson>(self, key: &str) -> Result<Option<T>, DecodeError> {
        match self.find(key) {
            Some(v) => T::from_json(v).map(Some).map_err(|e| bad_field(key, e)),
            None => Ok(None),
        }
    }

    /// A field with a default for when it is absent.
    pub(crate) fn or<T: FromJson>(self, key: &str, default: T) -> Result<T, DecodeError> {
        Ok(self.opt(key)?.unwrap_or(default))
    }

    /// A string field that names a variant (`"type"`, `"op"`, `"state"`).
    pub(crate) fn tag(self, key: &str) -> Result<&'a str, DecodeError> {
        match self.find(key) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(bad_field(key, "expected a string".into())),
            None => Err(missing(key)),
        }
    }
}

// The two errors are built out of line: `get` and `opt` are compiled once per field type, and
// the console's WebAssembly should carry the formatting only once.
#[inline(never)]
fn missing(key: &str) -> DecodeError {
    DecodeError(format!("missing field `{key}`"))
}

#[inline(never)]
fn bad_field(key: &str, e: String) -> DecodeError {
    DecodeError(format!("field `{key}`: {e}"))
}

fn integer<T: TryFrom<i64>>(value: &Value) -> Result<T, String> {
    match value {
        Value::Number(Some(n)) => T::try_from(*n).map_err(|_| format!("{n} is out of range")),
        // A fraction, or an integer beyond what the parser keeps (the protocol's numbers are
        // counters and microseconds, far below 2^63).
        Value::Number(None) => Err("expected a whole number below 2^63".into()),
        _ => Err("expected an integer".into()),
    }
}

impl FromJson for u64 {
    fn from_json(value: &Value) -> Result<Self, String> {
        integer(value)
    }
}

impl FromJson for u8 {
    fn from_json(value: &Value) -> Result<Self, String> {
        integer(value)
    }
}

impl FromJson for u32 {
    fn from_json(value: &Value) -> Result<Self, String> {
        integer(value)
    }
}

impl FromJson for i32 {
    fn from_json(value: &Value) -> Result<Self, String> {
        integer(value)
    }
}

impl FromJson for usize {
    fn from_json(value: &Value) -> Result<Self, String> {
        integer(value)
    }
}

impl FromJson for bool {
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::Bool(b) => Ok(*b),
            _ => Err("expected true or false".into()),
        }
    }
}

impl FromJson for String {
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(s) => Ok(s.clone()),
            _ => Err("expected a string".into()),
        }
    }
}

impl FromJson for SocketAddr {
    fn from_json(value: &Value) -> Result<Self, String> {
        let text = String::from_json(value)?;
        super::addr::parse(&text)
            .ok_or_else(|| format!("\"{text}\" is not an address like \"127.0.0.1:8080\""))
    }
}

impl FromJson for Bytes {
    fn from_json(value: &Value) -> Result<Self, String> {
        let text = String::from_json(value)?;
        super::base64::decode(&text)
            .map(Bytes)
            .map_err(|e| format!("payload is not valid base64: {e}"))
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::Array(items) => items.iter().map(T::from_json).collect(),
            _ => Err("expected an array".into()),
        }
    }
}

/// Reads a string naming one of `names`' variants (a unit enum in snake_case).
pub(crate) fn variant<T: Copy>(value: &Value, names: &[(&str, T)]) -> Result<T, String> {
    let text = String::from_json(value)?;
    names
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, v)| *v)
        .ok_or_else(|| format!("unknown value \"{text}\""))
}

#[cfg(test)]
mod tests {
    use super::super::value::parse;
    use super::*;

    #[test]
    fn fields_are_typed_defaulted_and_named_in_errors() {
        let v =
            parse(r#"{"n":7,"neg":-1,"s":"x","b":true,"nil":null,"a":"127.0.0.1:80"}"#).unwrap();
        let o = Obj::of(&v).unwrap();
        assert_eq!(o.get::<u32>("n"), Ok(7));
        assert_eq!(o.get::<i32>("neg"), Ok(-1));
        assert_eq!(o.get::<String>("s"), Ok("x".into()));
        assert_eq!(o.get::<bool>("b"), Ok(true));
        assert_eq!(o.opt::<u32>("nil"), Ok(None));
        assert_eq!(o.opt::<u32>("absent"), Ok(None));
        assert_eq!(o.or::<u32>("absent", 5), Ok(5));
        assert_eq!(
            o.get::<SocketAddr>("a"),
            Ok("127.0.0.1:80".parse().unwrap())
        );

        let err = |e: Result<_, DecodeError>| e.map(|_: ()| ()).unwrap_err().to_string();
        assert_eq!(
            err(o.get::<u32>("neg").map(drop)),
            "field `neg`: -1 is out of range"
        );
        assert_eq!(
            err(o.get::<u32>("s").map(drop)),
            "field `s`: expected an integer"
        );
        assert_eq!(err(o.get::<u32>("nil").map(drop)), "missing field `nil`");
        assert_eq!(
            err(o.get::<SocketAddr>("s").map(drop)),
            "field `s`: \"x\" is not an address like \"127.0.0.1:8080\""
        );
        assert_eq!(
            err(o.get::<Bytes>("s").map(drop)),
            "field `s`: payload is not valid base64: its length (1) is not a multiple of 4"
        );
        assert_eq!(err(o.tag("n").map(drop)), "field `n`: expected a string");
        let v = parse(r#"{"f":1.5,"big":9223372036854775808}"#).unwrap();
        let o = Obj::of(&v).unwrap();
        for key in ["f", "big"] {
            assert_eq!(
                err(o.get::<u64>(key).map(drop)),
                format!("field `{key}`: expected a whole number below 2^63")
            );
        }
    }
}
