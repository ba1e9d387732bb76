//! A captured frame, decoded: who sent what to whom, with TCP's flags, numbers and window.
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
    fn decodes_a_datagram_and_refuses_garbage() {
        let s = decode(&build::udp(40000, 8081, b"hello")).unwrap();
        assert_eq!((s.proto, s.payload.as_slice()), (Proto::Udp, &b"hello"[..]));
        assert!(decode(&[0u8; 10]).is_none());
    }
}
