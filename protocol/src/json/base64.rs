//! Standard base64 (RFC 4648 §4, with `=` padding) for the console's codec: payloads travel in
//! JSON as base64 text.
//!
//! Written out here rather than taken from the `base64` crate (which the bridge's serde side
//! uses, and which the tests below check this against): its general engine was 6.8 KB of the
//! console's WebAssembly, and the console only ever needs this one alphabet. Decoding is as
//! strict as the crate's `STANDARD` engine — padding required, no whitespace, and the unused low
//! bits of the last symbol must be zero — so both sides accept exactly the same texts.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `data` as base64 text.
pub(crate) fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The bytes of base64 `text`, or why it is not base64 (with the offset of the first bad symbol).
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return Err(format!(
            "its length ({}) is not a multiple of 4",
            bytes.len()
        ));
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (q, quad) in bytes.chunks(4).enumerate() {
        let last = (q + 1) * 4 == bytes.len();
        // Padding may only end the text: "xx==" or "xxx=".
        let pad = if last {
            quad.iter().rev().take_while(|&&b| b == b'=').count()
        } else {
            0
        };
        if pad > 2 {
            return Err(format!("bad padding at offset {}", q * 4 + 4 - pad));
        }
        let mut n = 0u32;
        for (i, &b) in quad[..4 - pad].iter().enumerate() {
            let Some(v) = value(b) else {
                return Err(format!("invalid symbol {b} at offset {}", q * 4 + i));
            };
            n |= u32::from(v) << (18 - 6 * i);
        }
        let keep = 3 - pad;
        // The bits below the last byte kept must be zero (one text per byte string).
        if n & ((1 << (8 * (3 - keep))) - 1) != 0 {
            return Err(format!("invalid last symbol at offset {}", q * 4 + 3 - pad));
        }
        out.extend_from_slice(&n.to_be_bytes()[1..1 + keep]);
    }
    Ok(out)
}

fn value(b: u8) -> Option<u8> {
    Some(match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    /// Every length 0..=64 of varied bytes encodes as the crate does and decodes back.
    #[test]
    fn agrees_with_the_base64_crate() {
        for len in 0..=64usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 97 + len * 31) as u8).collect();
            let text = encode(&data);
            assert_eq!(text, STANDARD.encode(&data), "length {len}");
            assert_eq!(decode(&text).unwrap(), data, "length {len}");
        }
        assert_eq!(encode(&[0xfb, 0xff]), "+/8=");
    }

    /// What the crate's STANDARD engine rejects, this rejects too.
    #[test]
    fn rejects_what_the_crate_rejects() {
        for bad in [
            "a", "abc", "ab=c", "a===", "====", "ab==cd==", "ab c", "ab\n=", "*bcd", "QQ=", "QR==",
            "QUJ=", "QUI", "Zg", "Zm9v\n",
        ] {
            assert!(STANDARD.decode(bad).is_err(), "the crate accepts {bad:?}");
            assert!(decode(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["", "QQ==", "QUI=", "QUJD", "aGVsbG8gc29ja2V0"] {
            assert_eq!(
                decode(good).unwrap(),
                STANDARD.decode(good).unwrap(),
                "{good:?}"
            );
        }
    }
}
