//! A captured frame, decoded: who sent what to whom, with TCP's flags, numbers and window — or,
//! for the packets that are not a TCP segment or a whole UDP datagram, what they are about: an
//! ICMP error quoting a packet of ours, or a fragment of a datagram too large for the link.
//!
//! The bridge sends raw Ethernet frames from the loopback interface; etherparse (which builds
//! for wasm32) reads them here, so the bridge stays simple and the learner's browser holds the
//! real bytes.

use etherparse::{NetSlice, SlicedPacket, TcpOptionElement, TransportSlice};
use std::net::{IpAddr, SocketAddr};

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
        /// "destination unreachable: port", as (type, code) numbers.
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

/// What a packet that [`decode`] does not read is, if the wire view can say.
pub(crate) fn decode_other(frame: &[u8]) -> Option<Other> {
    let packet = SlicedPacket::from_ethernet(frame).ok()?;
    let (from, to, fragment, payload) = match packet.net.as_ref()? {
        NetSlice::Ipv4(ip) => {
            let h = ip.header();
            let fragment = ip.is_payload_fragmented().then(|| {
                let offset = u32::from(h.fragments_offset().value()) * 8;
                (u32::from(h.identification()), offset, h.more_fragments())
            });
            let (s, d): (IpAddr, IpAddr) = (h.source_addr().into(), h.destination_addr().into());
            (s, d, fragment, ip.payload())
        }
        NetSlice::Ipv6(ip) => {
            let h = ip.header();
            let fragment = ip.is_payload_fragmented().then(|| {
                ip.extensions().clone().into_iter().find_map(|e| match e {
                    etherparse::Ipv6ExtensionSlice::Fragment(f) => Some((
                        f.identification(),
                        u32::from(f.fragment_offset().value()) * 8,
                        f.more_fragments(),
                    )),
                    _ => None,
                })
            });
            let (s, d): (IpAddr, IpAddr) = (h.source_addr().into(), h.destination_addr().into());
            (s, d, fragment.flatten(), ip.payload())
        }
        NetSlice::Arp(_) => return None,
    };
    if let Some((id, offset, more)) = fragment {
        let proto = match payload.ip_number.0 {
            6 => Some(Proto::Tcp),
            17 => Some(Proto::Udp),
            _ => None,
        };
        let ends = (offset == 0)
            .then(|| ports(proto?, from, to, payload.payload))
            .flatten();
        return Some(Other::Fragment {
            from,
            to,
            id,
            offset,
            more,
            len: payload.payload.len(),
            ends,
        });
    }
    match packet.transport? {
        TransportSlice::Icmpv4(icmp) => {
            let [kind, code] = [icmp.type_u8(), icmp.code_u8()];
            let quoted = quoted_v4(icmp.payload());
            Some(Other::Icmp {
                from,
                to,
                v6: false,
                kind: (kind, code),
                quoted,
            })
        }
        TransportSlice::Icmpv6(icmp) => {
            let [kind, code] = [icmp.type_u8(), icmp.code_u8()];
            let quoted = quoted_v6(icmp.payload());
            Some(Other::Icmp {
                from,
                to,
                v6: true,
                kind: (kind, code),
                quoted,
            })
        }
        _ => None,
    }
}

/// The ends from a TCP or UDP header at the start of `bytes` (ports first in both).
fn ports(
    proto: Proto,
    src: IpAddr,
    dst: IpAddr,
    bytes: &[u8],
) -> Option<(Proto, SocketAddr, SocketAddr)> {
    let p = bytes.get(..4)?;
    Some((
        proto,
        SocketAddr::new(src, u16::from_be_bytes([p[0], p[1]])),
        SocketAddr::new(dst, u16::from_be_bytes([p[2], p[3]])),
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

pub(crate) fn decode(frame: &[u8]) -> Option<Segment> {
    let packet = SlicedPacket::from_ethernet(frame).ok()?;
    let (src_ip, dst_ip): (IpAddr, IpAddr) = match packet.net? {
        NetSlice::Ipv4(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        NetSlice::Ipv6(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        NetSlice::Arp(_) => return None,
    };
    match packet.transport? {
        TransportSlice::Tcp(tcp) => {
            let wscale = tcp.options_iterator().find_map(|o| match o {
                Ok(TcpOptionElement::WindowScale(shift)) => Some(shift),
                _ => None,
            });
            Some(Segment {
                proto: Proto::Tcp,
                src: SocketAddr::new(src_ip, tcp.source_port()),
                dst: SocketAddr::new(dst_ip, tcp.destination_port()),
                flags: Flags {
                    syn: tcp.syn(),
                    ack: tcp.ack(),
                    fin: tcp.fin(),
                    rst: tcp.rst(),
                    psh: tcp.psh(),
                },
                seq: tcp.sequence_number(),
                ack: tcp.acknowledgment_number(),
                window: tcp.window_size(),
                wscale,
                payload: tcp.payload().to_vec(),
            })
        }
        TransportSlice::Udp(udp) => Some(Segment {
            proto: Proto::Udp,
            src: SocketAddr::new(src_ip, udp.source_port()),
            dst: SocketAddr::new(dst_ip, udp.destination_port()),
            flags: Flags::default(),
            seq: 0,
            ack: 0,
            window: 0,
            wscale: None,
            payload: udp.payload().to_vec(),
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
