//! [`Bytes`]: a payload that travels through JSON as base64.
//!
//! JSON strings are Unicode text, but sockets carry bytes. Encoding the bytes as base64 keeps
//! every byte exact, including a UTF-8 character cut in half by a TCP read.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Raw bytes, serialised as a standard base64 string.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    /// The payload's length in bytes (not in base64 characters).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for an empty payload (a 0-byte datagram is a real thing in UDP).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Bytes(v)
    }
}

impl From<&[u8]> for Bytes {
    fn from(v: &[u8]) -> Self {
        Bytes(v.to_vec())
    }
}

impl From<&str> for Bytes {
    fn from(s: &str) -> Self {
        Bytes(s.as_bytes().to_vec())
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b{:?}", String::from_utf8_lossy(&self.0))
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map(Bytes)
            .map_err(|e| serde::de::Error::custom(format!("payload is not valid base64: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_any_bytes_including_a_split_utf8_character() {
        // "é" is C3 A9; a TCP read may end after C3.
        let b = Bytes(vec![b'h', 0xC3, 0x00, 0xFF]);
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(json, "\"aMMA/w==\"");
        assert_eq!(serde_json::from_str::<Bytes>(&json).unwrap(), b);
    }

    #[test]
    fn rejects_text_that_is_not_base64() {
        let err = serde_json::from_str::<Bytes>("\"hello!\"").unwrap_err();
        assert!(err.to_string().contains("not valid base64"), "{err}");
    }
}
