//! `bytes.upper()`, exactly as Python does it.
//!
//! Python's `bytes.upper()` changes only the ASCII letters a–z and leaves every other byte as it
//! is. That is why the echo of "héllo" is "HéLLO": the two bytes of "é" (C3 A9) are not ASCII, so
//! they come back untouched. Working byte by byte also means a UTF-8 character split across two
//! `recv()` calls comes back intact: no byte is ever decoded, so none can be mangled.

/// Returns `data` with the ASCII letters a–z uppercased and every other byte unchanged.
pub(crate) fn upper(data: &[u8]) -> Vec<u8> {
    data.to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uppercases_ascii_letters_only() {
        assert_eq!(upper(b"hello socket 123!"), b"HELLO SOCKET 123!");
        assert_eq!(upper("héllo".as_bytes()), "HéLLO".as_bytes());
        assert_eq!(upper("你好 abc".as_bytes()), "你好 ABC".as_bytes());
        assert_eq!(upper(b""), b"");
    }

    #[test]
    fn leaves_every_non_ascii_byte_alone() {
        let all: Vec<u8> = (0..=255).collect();
        let up = upper(&all);
        for (b, u) in all.iter().zip(&up) {
            let expected = if b.is_ascii_lowercase() { b - 32 } else { *b };
            assert_eq!(*u, expected, "byte {b:#04x}");
        }
    }

    #[test]
    fn a_character_split_across_two_reads_survives() {
        let text = "é".as_bytes(); // C3 A9
        let mut echoed = upper(&text[..1]);
        echoed.extend(upper(&text[1..]));
        assert_eq!(echoed, text);
    }
}
