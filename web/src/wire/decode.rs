//! A captured frame, decoded: who sent what to whom, with TCP's flags, numbers and window — or,
//! for the packets that are not a TCP segment or a whole UDP datagram, what they are about: an
//! ICMP error quoting a packet of ours, or a fragment of a datagram too large for the link.
//!
//! The bridge sends raw Ethernet frames from the loopback interface; they are read here, field by
//! field, so the learner's browser holds the real bytes. (A parsing crate did this before; the
//! headers the lab meets are few and fixed, and reading them by hand keeps ~11 KB of WebAssembly
//! off every reader's download. The tests still build their frames with etherparse.)

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Proto {
    Tcp,
    Udp,
}

/// TCP's flags that the lesson names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Flags {
    pub(crate) syn: bool,
    pub(crate) ack: bool,
    pub(crate) fin: bool,
    pub(crate) rst: bool,
    pub(crate) psh: bool,
}

impl Flags {
    /// "SYN", "SYN-ACK", "ACK", "PSH-ACK", "FIN-ACK", "RST", …
    pub(crate) fn name(&self) -> String {
        let mut parts = vec![];
        for (on, name) in [
            (self.syn, "SYN"),
            (self.fin, "FIN"),
            (self.rst, "RST"),
            (self.psh, "PSH"),
            (self.ack, "ACK"),
        ] {
            if on {
                parts.push(name);
            }
        }
        parts.join("-")
    }
}

/// One decoded TCP segment or UDP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) proto: Proto,
    pub(crate) src: SocketAddr,
    pub(crate) dst: SocketAddr,
    pub(crate) flags: Flags,
    pub(crate) seq: u32,
    pub(crate) ack: u32,
    /// The window field as sent (to be scaled by the sender's window-scale option).
    pub(crate) window: u16,
    /// The window-scale option, present only on SYN segments.
    pub(crate) wscale: Option<u8>,
    pub(crate) payload: Vec<u8>,
}

/// A packet that is neither a TCP segment nor a whole UDP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Other {
    /// An ICMP (or ICMPv6) error from `from` to `to`, about the packet it quotes.
    Icmp {
        from: IpAddr,
        to: IpAddr,
        v6: bool,
        /// (type, code), e.g. (3, 3): destination unreachable, port.
        kind: (u8, u8),
        /// The quoted packet's protocol and ends, when it quotes enough of it.
        quoted: Option<(Proto, SocketAddr, SocketAddr)>,
    },
    /// One piece of a datagram the IP layer cut to fit the link (its MTU).
    Fragment {
        from: IpAddr,
        to: IpAddr,
        /// The datagram's identification: every piece of it has the same.
        id: u32,
        /// Where in the datagram this piece starts, in bytes.
        offset: u32,
        /// More pieces follow.
        more: bool,
        /// Bytes of the datagram in this piece.
        len: usize,
        /// The first piece carries the UDP (or TCP) header: the datagram's ends.
        ends: Option<(Proto, SocketAddr, SocketAddr)>,
    },
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The IP layer of a frame: its ends, the protocol it carries, the fragment it is (if one),
/// and the bytes after the IP headers (the whole of them, even if the frame was cut short).
struct Ip<'a> {
    src: IpAddr,
    dst: IpAddr,
    v6: bool,
    proto: u8,
    /// (identification, offset in bytes, more fragments) when the packet is a fragment.
    fragment: Option<(u32, u32, bool)>,
    payload: &'a [u8],
}

fn ip(frame: &[u8]) -> Option<Ip<'_>> {
    let ip = frame.get(14..)?;
    match be16(frame, 12)? {
        0x0800 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            let total = usize::from(be16(ip, 2)?);
            let frag = be16(ip, 6)?;
            let (offset, more) = (u32::from(frag & 0x1fff) * 8, frag & 0x2000 != 0);
            let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            Some(Ip {
                src: Ipv4Addr::from(src).into(),
                dst: Ipv4Addr::from(dst).into(),
                v6: false,
                proto: *ip.get(9)?,
                fragment: (offset != 0 || more)
                    .then(|| (u32::from(be16(ip, 4).unwrap_or(0)), offset, more)),
                payload: ip.get(ihl..total.max(ihl).min(ip.len()))?,
            })
        }
        0x86dd => {
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let end = (40 + usize::from(be16(ip, 4)?)).min(ip.len());
            let (mut next, mut at, mut fragment) = (*ip.get(6)?, 40, None);
            // Extension headers: hop-by-hop (0), routing (43), fragment (44), destination (60).
            while matches!(next, 0 | 43 | 44 | 60) {
                let h = ip.get(at..at + 8)?;
                if next == 44 {
                    let word = be16(h, 2)?;
                    let (offset, more) = (u32::from(word & !7), word & 1 != 0);
                    if offset != 0 || more {
                        fragment = Some((be32(h, 4)?, offset, more));
                    }
                    at += 8;
                } else {
                    at += (usize::from(h[1]) + 1) * 8;
                }
                next = h[0];
            }
            Some(Ip {
                src: Ipv6Addr::from(src).into(),
                dst: Ipv6Addr::from(dst).into(),
                v6: true,
                proto: next,
                fragment,
                payload: ip.get(at..end.max(at))?,
            })
        }
        _ => None,
    }
}

/// What a packet that [`decode`] does not read is, if the wire view can say.
pub(crate) fn decode_other(frame: &[u8]) -> Option<Other> {
    let ip = ip(frame)?;
    if let Some((id, offset, more)) = ip.fragment {
        let ends = (offset == 0)
            .then(|| ports(proto_of(ip.proto)?, ip.src, ip.dst, ip.payload))
            .flatten();
        return Some(Other::Fragment {
            from: ip.src,
            to: ip.dst,
            id,
            offset,
            more,
            len: ip.payload.len(),
            ends,
        });
    }
    let quoted = match (ip.v6, ip.proto) {
        (false, 1) => quoted_v4(ip.payload.get(8..)?),
        (true, 58) => quoted_v6(ip.payload.get(8..)?),
        _ => return None,
    };
    Some(Other::Icmp {
        from: ip.src,
        to: ip.dst,
        v6: ip.v6,
        kind: (*ip.payload.first()?, *ip.payload.get(1)?),
        quoted,
    })
}

/// The ends from a TCP or UDP header at the start of `bytes` (ports first in both).
fn ports(
    proto: Proto,
    src: IpAddr,
    dst: IpAddr,
    bytes: &[u8],
) -> Option<(Proto, SocketAddr, SocketAddr)> {
    Some((
        proto,
        SocketAddr::new(src, be16(bytes, 0)?),
        SocketAddr::new(dst, be16(bytes, 2)?),
    ))
}

fn proto_of(number: u8) -> Option<Proto> {
    match number {
        6 => Some(Proto::Tcp),
        17 => Some(Proto::Udp),
        _ => None,
    }
}

/// The ends of the IPv4 packet an ICMP error quotes (its header and first 8 bytes).
fn quoted_v4(q: &[u8]) -> Option<(Proto, SocketAddr, SocketAddr)> {
    let ihl = usize::from(q.first()? & 0x0f) * 4;
    let proto = proto_of(*q.get(9)?)?;
    let s: [u8; 4] = q.get(12..16)?.try_into().ok()?;
    let d: [u8; 4] = q.get(16..20)?.try_into().ok()?;
    ports(proto, s.into(), d.into(), q.get(ihl..)?)
}

/// The ends of the IPv6 packet an ICMPv6 error quotes.
fn quoted_v6(q: &[u8]) -> Option<(Proto, SocketAddr, SocketAddr)> {
    let proto = proto_of(*q.get(6)?)?;
    let s: [u8; 16] = q.get(8..24)?.try_into().ok()?;
    let d: [u8; 16] = q.get(24..40)?.try_into().ok()?;
    ports(proto, s.into(), d.into(), q.get(40..)?)
}

/// A TCP segment or a whole UDP datagram (not a fragment of one).
pub(crate) fn decode(frame: &[u8]) -> Option<Segment> {
    let ip = ip(frame)?;
    if ip.fragment.is_some() {
        return None;
    }
    let p = ip.payload;
    let src = SocketAddr::new(ip.src, be16(p, 0)?);
    let dst = SocketAddr::new(ip.dst, be16(p, 2)?);
    match ip.proto {
        6 => {
            let offset = usize::from(p.get(12)? >> 4) * 4;
            let bits = *p.get(13)?;
            // Options: kind 0 ends them, 1 pads; 3 is the window scale (length 3, the shift).
            let mut wscale = None;
            let mut o = p.get(20..offset)?;
            while let Some(&kind) = o.first() {
                match kind {
                    0 => break,
                    1 => o = &o[1..],
                    _ => {
                        let len = usize::from(*o.get(1)?).max(2);
                        if kind == 3 {
                            wscale = o.get(2).copied();
                        }
                        o = o.get(len..)?;
                    }
                }
            }
            Some(Segment {
                proto: Proto::Tcp,
                src,
                dst,
                flags: Flags {
                    fin: bits & 0x01 != 0,
                    syn: bits & 0x02 != 0,
                    rst: bits & 0x04 != 0,
                    psh: bits & 0x08 != 0,
                    ack: bits & 0x10 != 0,
                },
                seq: be32(p, 4)?,
                ack: be32(p, 8)?,
                window: be16(p, 14)?,
                wscale,
                payload: p.get(offset..)?.to_vec(),
            })
        }
        17 => Some(Segment {
            proto: Proto::Udp,
            src,
            dst,
            flags: Flags::default(),
            seq: 0,
            ack: 0,
            window: 0,
            wscale: None,
            payload: p
                .get(8..usize::from(be16(p, 4)?).max(8).min(p.len()))?
                .to_vec(),
        }),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod build {
    //! Real frames for tests, made by etherparse's builder (the same bytes a kernel would send).
    use etherparse::{PacketBuilder, TcpOptionElement};

    pub(crate) fn tcp(
        from: u16,
        to: u16,
        seq: u32,
        ack: Option<u32>,
        flags: &str,
        wscale: Option<u8>,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut b = PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .tcp(from, to, seq, 512);
        if flags.contains("S") {
            b = b.syn();
        }
        if flags.contains("F") {
            b = b.fin();
        }
        if flags.contains("P") {
            b = b.psh();
        }
        if flags.contains("R") {
            b = b.rst();
        }
        if let Some(ack) = ack {
            b = b.ack(ack);
        }
        if let Some(shift) = wscale {
            b = b.options(&[TcpOptionElement::WindowScale(shift)]).unwrap();
        }
        let mut frame = vec![];
        b.write(&mut frame, payload).unwrap();
        frame
    }

    pub(crate) fn udp(from: u16, to: u16, payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .udp(from, to);
        let mut frame = vec![];
        b.write(&mut frame, payload).unwrap();
        frame
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn decodes_a_syn_with_its_window_scale() {
        let s = decode(&build::tcp(50000, 8080, 1000, None, "S", Some(7), b"")).unwrap();
        assert_eq!(s.proto, Proto::Tcp);
        assert_eq!(s.flags.name(), "SYN");
        assert_eq!((s.seq, s.wscale, s.window), (1000, Some(7), 512));
        assert_eq!(s.src.port(), 50000);
        let s = decode(&build::tcp(8080, 50000, 5, Some(1001), "S", Some(7), b"")).unwrap();
        assert_eq!(s.flags.name(), "SYN-ACK");
        let s = decode(&build::tcp(50000, 8080, 1001, Some(6), "FP", None, b"hi")).unwrap();
        assert_eq!(
            (s.flags.name().as_str(), s.payload.as_slice()),
            ("FIN-PSH-ACK", &b"hi"[..])
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn an_icmp_error_says_what_it_quotes() {
        let mut quoted = vec![];
        etherparse::PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .udp(40000, 9)
            .write(&mut quoted, b"hello")
            .unwrap();
        let mut frame = vec![];
        etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
                etherparse::icmpv4::DestUnreachableHeader::Port,
            ))
            .write(&mut frame, &quoted[..28])
            .unwrap();
        assert!(decode(&frame).is_none(), "not a segment");
        let Some(Other::Icmp {
            kind, quoted, v6, ..
        }) = decode_other(&frame)
        else {
            panic!("an ICMP error")
        };
        assert_eq!((kind, v6), ((3, 3), false), "destination unreachable: port");
        let (proto, from, to) = quoted.unwrap();
        assert_eq!((proto, from.port(), to.port()), (Proto::Udp, 40000, 9));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn decodes_a_datagram_and_refuses_garbage() {
        let s = decode(&build::udp(40000, 8081, b"hello")).unwrap();
        assert_eq!((s.proto, s.payload.as_slice()), (Proto::Udp, &b"hello"[..]));
        assert!(decode(&[0u8; 10]).is_none());
    }
}
