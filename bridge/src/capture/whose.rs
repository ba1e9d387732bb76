//! Whose is a captured packet? The two socket addresses that decide which session it goes to.
//!
//! - **TCP and UDP**: the packet's own two ends.
//! - **ICMP and ICMPv6 errors** (port unreachable, …) carry no ports of their own: they quote
//!   the header of the packet that caused them, and the quoted ends are what matter — a datagram
//!   from a session's socket to a closed port comes back as an ICMP error quoting that socket.
//! - **IP fragments**: a datagram larger than the link's MTU (over IPv6, anything above 65,527
//!   bytes on loopback… and more) leaves in pieces; only the first carries the UDP header. The
//!   first fragment's ends are remembered by the datagram's identification ([`Fragments`]), and
//!   the later pieces go where the first went.

use protocol::Transport;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The ends a packet is routed by.
pub(crate) type Ends = (Transport, SocketAddr, SocketAddr);

/// A fragmented datagram: (source, destination, identification).
type FragmentKey = (IpAddr, IpAddr, u32);

/// Fragmented datagrams remembered at once: a later fragment follows its first within
/// microseconds on loopback, so a short list suffices; the oldest is forgotten first.
pub(crate) const FRAGMENTED_DATAGRAMS: usize = 64;

/// The first fragments seen lately, by identification.
#[derive(Default)]
pub(crate) struct Fragments(VecDeque<(FragmentKey, Ends)>);

impl Fragments {
    fn remember(&mut self, key: FragmentKey, ends: Ends) {
        if self.0.len() == FRAGMENTED_DATAGRAMS {
            self.0.pop_front();
        }
        self.0.push_back((key, ends));
    }

    fn find(&self, key: &FragmentKey) -> Option<Ends> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, e)| *e)
    }
}

/// The ends that decide where `frame` goes, if it is one of the kinds above.
pub(crate) fn whose(frame: &[u8], fragments: &mut Fragments) -> Option<Ends> {
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};
    let packet = SlicedPacket::from_ethernet(frame).ok()?;
    let (src, dst, fragment, payload) = match packet.net.as_ref()? {
        NetSlice::Ipv4(ip) => {
            let h = ip.header();
            let fragment = ip.is_payload_fragmented().then(|| {
                let key = (
                    IpAddr::from(h.source_addr()),
                    IpAddr::from(h.destination_addr()),
                    u32::from(h.identification()),
                );
                (key, h.fragments_offset().value())
            });
            (
                IpAddr::from(h.source_addr()),
                IpAddr::from(h.destination_addr()),
                fragment,
                ip.payload(),
            )
        }
        NetSlice::Ipv6(ip) => {
            let h = ip.header();
            let (s, d) = (
                IpAddr::from(h.source_addr()),
                IpAddr::from(h.destination_addr()),
            );
            let fragment = ip.is_payload_fragmented().then(|| {
                ip.extensions()
                    .clone()
                    .into_iter()
                    .find_map(|ext| match ext {
                        etherparse::Ipv6ExtensionSlice::Fragment(f) => {
                            Some(((s, d, f.identification()), f.fragment_offset().value()))
                        }
                        _ => None,
                    })
            });
            (s, d, fragment.flatten(), ip.payload())
        }
        NetSlice::Arp(_) => return None,
    };
    if let Some((key, offset)) = fragment {
        if offset != 0 {
            return fragments.find(&key);
        }
        // The first fragment: its payload starts with the TCP or UDP header.
        let transport = transport_of(payload.ip_number.0)?;
        let ends = ports(transport, src, dst, payload.payload)?;
        fragments.remember(key, ends);
        return Some(ends);
    }
    match packet.transport? {
        TransportSlice::Tcp(tcp) => Some((
            Transport::Tcp,
            SocketAddr::new(src, tcp.source_port()),
            SocketAddr::new(dst, tcp.destination_port()),
        )),
        TransportSlice::Udp(udp) => Some((
            Transport::Udp,
            SocketAddr::new(src, udp.source_port()),
            SocketAddr::new(dst, udp.destination_port()),
        )),
        TransportSlice::Icmpv4(icmp) => quoted_v4(icmp.payload()),
        TransportSlice::Icmpv6(icmp) => quoted_v6(icmp.payload()),
        _ => None,
    }
}

fn transport_of(ip_number: u8) -> Option<Transport> {
    match ip_number {
        6 => Some(Transport::Tcp),
        17 => Some(Transport::Udp),
        _ => None,
    }
}

/// The two ends from a TCP or UDP header at the start of `bytes` (ports first in both).
fn ports(transport: Transport, src: IpAddr, dst: IpAddr, bytes: &[u8]) -> Option<Ends> {
    let p = bytes.get(..4)?;
    Some((
        transport,
        SocketAddr::new(src, u16::from_be_bytes([p[0], p[1]])),
        SocketAddr::new(dst, u16::from_be_bytes([p[2], p[3]])),
    ))
}

/// The ends of the IPv4 packet an ICMP error quotes (its header and first 8 bytes).
fn quoted_v4(quoted: &[u8]) -> Option<Ends> {
    let ihl = usize::from(quoted.first()? & 0x0f) * 4;
    let transport = transport_of(*quoted.get(9)?)?;
    let src: [u8; 4] = quoted.get(12..16)?.try_into().ok()?;
    let dst: [u8; 4] = quoted.get(16..20)?.try_into().ok()?;
    let (src, dst) = (Ipv4Addr::from(src).into(), Ipv4Addr::from(dst).into());
    ports(transport, src, dst, quoted.get(ihl..)?)
}

/// The ends of the IPv6 packet an ICMPv6 error quotes (no extension headers on loopback).
fn quoted_v6(quoted: &[u8]) -> Option<Ends> {
    let transport = transport_of(*quoted.get(6)?)?;
    let src: [u8; 16] = quoted.get(8..24)?.try_into().ok()?;
    let dst: [u8; 16] = quoted.get(24..40)?.try_into().ok()?;
    let (src, dst) = (Ipv6Addr::from(src).into(), Ipv6Addr::from(dst).into());
    ports(transport, src, dst, quoted.get(40..)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_segment_is_routed_by_its_own_ends() {
        let mut frame = vec![];
        PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .tcp(50000, 8080, 1, 65535)
            .syn()
            .write(&mut frame, &[])
            .unwrap();
        let ends = whose(&frame, &mut Fragments::default());
        assert_eq!(
            ends,
            Some((
                Transport::Tcp,
                addr("127.0.0.1:50000"),
                addr("127.0.0.1:8080")
            ))
        );
        assert_eq!(whose(&frame[..10], &mut Fragments::default()), None);
    }

    #[test]
    fn an_icmp_error_is_routed_by_the_datagram_it_quotes() {
        // The datagram 127.0.0.1:40000 → 127.0.0.1:9 that met a closed port…
        let mut quoted = vec![];
        PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .udp(40000, 9)
            .write(&mut quoted, b"hello")
            .unwrap();
        // …comes back inside an ICMP "port unreachable" from the kernel.
        let mut frame = vec![];
        PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
                etherparse::icmpv4::DestUnreachableHeader::Port,
            ))
            .write(&mut frame, &quoted[..28])
            .unwrap();
        assert_eq!(
            whose(&frame, &mut Fragments::default()),
            Some((Transport::Udp, addr("127.0.0.1:40000"), addr("127.0.0.1:9")))
        );
    }

    #[test]
    fn ipv6_fragments_follow_their_first() {
        let (src, dst) = (
            [0u8; 15].iter().chain(&[1]).copied().collect::<Vec<u8>>(),
            [0u8; 16],
        );
        let src: [u8; 16] = src.try_into().unwrap();
        // IPv6 header + fragment header (+ UDP header in the first piece), by hand.
        let piece = |offset: u16, more: bool, body: &[u8]| {
            let mut f = vec![0u8; 14];
            f[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
            let mut ip = vec![0x60, 0, 0, 0];
            ip.extend(((8 + body.len()) as u16).to_be_bytes());
            ip.push(44); // next header: fragment
            ip.push(64);
            ip.extend(src);
            ip.extend(dst);
            ip.extend([17, 0]); // fragment header: next = UDP
            ip.extend((offset << 3 | u16::from(more)).to_be_bytes());
            ip.extend(0xabcd_u32.to_be_bytes());
            ip.extend(body);
            f.extend(ip);
            f
        };
        let mut udp = vec![];
        udp.extend(40000u16.to_be_bytes());
        udp.extend(8081u16.to_be_bytes());
        udp.extend([0u8; 4]);
        udp.extend([b'a'; 64]);
        let mut fragments = Fragments::default();
        let first = whose(&piece(0, true, &udp), &mut fragments).expect("the first piece");
        assert_eq!(first.1.port(), 40000);
        assert_eq!(first.2.port(), 8081);
        let later = whose(&piece(9, false, &[b'b'; 40]), &mut fragments);
        assert_eq!(
            later,
            Some(first),
            "a later piece goes where the first went"
        );
        // A later piece of a datagram whose first was never seen belongs to nobody.
        let stray = whose(&piece(9, false, &[b'b'; 40]), &mut Fragments::default());
        assert_eq!(stray, None);
    }
}
