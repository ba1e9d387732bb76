//! Message framing: how to cut a TCP byte stream back into the messages that were sent.
//!
//! TCP delivers bytes, not messages: five quick `send()`s of "a" … "e" may arrive as one
//! `recv()` of "abcde" (粘包, "sticky packets"). The two classic fixes mark the boundaries:
//! - **length prefix**: each message is preceded by its length (4 bytes, big-endian);
//! - **delimiter**: each message ends with `\n` (so messages must not contain one).
//!
//! [`encode`] marks a message; a [`Decoder`] is fed whatever each `recv()` returned and hands
//! back every whole message found so far, keeping any partial one for the next read.

use protocol::Framing;

/// The largest message a length prefix may announce; a bigger one means the stream is not
/// framed the way we think, and buffering it would let a peer make us allocate without bound.
pub(crate) const MAX_FRAME: usize = 1 << 20;

/// The bytes to send for `message` with `framing`.
pub(crate) fn encode(framing: Framing, message: &[u8]) -> Vec<u8> {
    match framing {
        Framing::None => message.to_vec(),
        Framing::Length => {
            let mut out = (message.len() as u32).to_be_bytes().to_vec();
            out.extend_from_slice(message);
            out
        }
        Framing::Delimiter => {
            let mut out = message.to_vec();
            out.push(b'\n');
            out
        }
    }
}

#[derive(Debug)]
pub(crate) struct Decoder {
    framing: Framing,
    pending: Vec<u8>,
}

/// The stream cannot be decoded (a length prefix over [`MAX_FRAME`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FrameTooLarge(pub(crate) usize);

impl Decoder {
    pub(crate) fn new(framing: Framing) -> Decoder {
        Decoder {
            framing,
            pending: Vec::new(),
        }
    }

    /// Feeds one read's bytes; returns the messages it completed.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, FrameTooLarge> {
        if self.framing == Framing::None {
            return Ok(vec![]);
        }
        self.pending.extend_from_slice(bytes);
        let mut messages = vec![];
        loop {
            let found = match self.framing {
                Framing::None => None,
                Framing::Length => match self.pending.get(..4) {
                    Some(head) => {
                        let len = u32::from_be_bytes(head.try_into().expect("4 bytes")) as usize;
                        if len > MAX_FRAME {
                            return Err(FrameTooLarge(len));
                        }
                        (self.pending.len() >= 4 + len).then_some((4, len, 4 + len))
                    }
                    None => None,
                },
                Framing::Delimiter => self
                    .pending
                    .iter()
                    .position(|&b| b == b'\n')
                    .map(|at| (0, at, at + 1)),
            };
            let Some((start, len, consumed)) = found else {
                break;
            };
            messages.push(self.pending[start..start + len].to_vec());
            self.pending.drain(..consumed);
        }
        if self.framing == Framing::Delimiter && self.pending.len() > MAX_FRAME {
            return Err(FrameTooLarge(self.pending.len()));
        }
        Ok(messages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(framing: Framing, messages: &[&str]) -> Vec<u8> {
        messages
            .iter()
            .flat_map(|m| encode(framing, m.as_bytes()))
            .collect()
    }

    #[test]
    fn rebuilds_messages_from_a_merged_stream_cut_anywhere() {
        for framing in [Framing::Length, Framing::Delimiter] {
            let bytes = stream(framing, &["a", "bb", "", "héllo", "e"]);
            // Every way of cutting the stream in two reads gives the same messages.
            for cut in 0..=bytes.len() {
                let mut d = Decoder::new(framing);
                let mut got = d.feed(&bytes[..cut]).unwrap();
                got.extend(d.feed(&bytes[cut..]).unwrap());
                let got: Vec<String> = got
                    .into_iter()
                    .map(|m| String::from_utf8(m).unwrap())
                    .collect();
                assert_eq!(
                    got,
                    ["a", "bb", "", "héllo", "e"],
                    "{framing:?} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn the_length_prefix_is_four_big_endian_bytes() {
        assert_eq!(encode(Framing::Length, b"abc"), b"\0\0\0\x03abc");
        assert_eq!(encode(Framing::Delimiter, b"abc"), b"abc\n");
        assert_eq!(encode(Framing::None, b"abc"), b"abc");
    }

    #[test]
    fn an_absurd_length_is_an_error_not_an_allocation() {
        let mut d = Decoder::new(Framing::Length);
        assert_eq!(
            d.feed(&[0xFF, 0xFF, 0xFF, 0xFF]),
            Err(FrameTooLarge(0xFFFF_FFFF))
        );
    }

    #[test]
    fn without_framing_there_are_no_messages_only_bytes() {
        assert!(Decoder::new(Framing::None).feed(b"abc").unwrap().is_empty());
    }
}
