//! One truthful timeline: every call and every packet of a session on one clock, in the order
//! physics imposes — checked on the numbers the bridge sends, over the real kernel.
//!
//! - a client `send()` is entered before its data segment is on the wire, and the segment is on
//!   the wire before the server's `recv()` of it returns; the same for the echo coming back;
//! - the ICMP error a datagram to a closed port causes reaches the session that sent it;
//! - an IPv6 datagram over the link's MTU is delivered as its fragments;
//! - the very first packets after the bridge starts are in time order;
//! - IPv4 and IPv6 side by side, each with its own largest datagram.
//!
//! Packets need root or CAP_NET_RAW (CI runs as root); without, the packet checks are replaced
//! by the "no permission" state the hello reports.

mod common;

use common::{Client, PATIENCE, connect, lab};
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use protocol::{CaptureState, Command, ErrorCode, Event, EventBody, ServerSide, Target};
use std::time::Duration;

fn capture_on(c: &Client) -> bool {
    match &c.seen[0].body {
        EventBody::Hello { capture, .. } => {
            if *capture != CaptureState::On {
                // SAFETY: a plain getter.
                let root = unsafe { libc::geteuid() == 0 };
                assert!(!root, "as root the bridge captures: {capture:?}");
                assert!(matches!(capture, CaptureState::NoPermission { .. }));
            }
            *capture == CaptureState::On
        }
        other => panic!("{other:?}"),
    }
}

/// The captured packets of the session: (time, frame).
fn packets(c: &Client) -> Vec<(u64, Vec<u8>)> {
    c.seen
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Packet { at_us, data, .. } => Some((*at_us, data.0.clone())),
            _ => None,
        })
        .collect()
}

/// The time of the first packet whose TCP or UDP payload is exactly `payload`.
fn packet_carrying(c: &Client, payload: &[u8]) -> u64 {
    packets(c)
        .into_iter()
        .find(|(_, frame)| {
            let Ok(p) = SlicedPacket::from_ethernet(frame) else {
                return false;
            };
            match p.transport {
                Some(TransportSlice::Tcp(t)) => t.payload() == payload,
                Some(TransportSlice::Udp(u)) => u.payload() == payload,
                _ => false,
            }
        })
        .map(|(at, _)| at)
        .unwrap_or_else(|| panic!("no packet carries {:?}", String::from_utf8_lossy(payload)))
}

/// The first event matching `pred`.
fn event<'a>(c: &'a Client, what: &str, pred: impl Fn(&EventBody) -> bool) -> &'a Event {
    c.seen
        .iter()
        .find(|e| pred(&e.body))
        .unwrap_or_else(|| panic!("no {what} in {:#?}", c.seen))
}

#[tokio::test]
async fn every_echo_keeps_the_physical_order_on_the_bridges_numbers() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    let on = capture_on(&c);
    c.send(Command::tcp_connect(1)).await;
    for n in 0..20 {
        let tcp = format!("tcp echo {n:02}");
        let udp = format!("udp echo {n:02}");
        c.send(Command::TcpSend {
            id: 1,
            data: tcp.as_str().into(),
        })
        .await;
        c.send(Command::udp_send(2, udp.as_str())).await;
        let (up_tcp, up_udp) = (tcp.to_ascii_uppercase(), udp.to_ascii_uppercase());
        c.until_all("both echoes", [1u32, 2], |b| match b {
            EventBody::TcpReceived { id: 1, data } if data.0 == up_tcp.as_bytes() => Some(1),
            EventBody::UdpReceived { id: 2, data, .. } if data.0 == up_udp.as_bytes() => Some(2),
            _ => None,
        })
        .await;
    }
    // Every packet the session will get has come (the last ones within the capture's 2 ms).
    let _ = c.events_for(Duration::from_millis(100)).await;
    assert!(
        c.seen.windows(2).all(|w| w[0].t_us <= w[1].t_us),
        "t_us never goes back"
    );
    for e in &c.seen {
        if let Some(called) = e.called_us {
            assert!(
                called <= e.t_us,
                "a call returns after it is entered: {e:?}"
            );
        }
    }
    for n in 0..20 {
        let tcp = format!("tcp echo {n:02}");
        let udp = format!("udp echo {n:02}");
        let (up_tcp, up_udp) = (tcp.to_ascii_uppercase(), udp.to_ascii_uppercase());
        // The client's send()/sendto() of the message, the server's read of it, the server's
        // send of the echo and the client's read of that: each call's (entered, returned).
        let sent = event(
            &c,
            "the send()",
            |b| matches!(b, EventBody::TcpSent { id: 1, len } if *len == tcp.len()),
        );
        let _ = sent;
        let server_recv = event(
            &c,
            "the server's recv()",
            |b| matches!(b, EventBody::Server { id: 1, op: ServerSide::Recv { data } } if data.0 == tcp.as_bytes()),
        );
        let client_recv = event(
            &c,
            "the client's recv()",
            |b| matches!(b, EventBody::TcpReceived { id: 1, data } if data.0 == up_tcp.as_bytes()),
        );
        let server_recvfrom = event(
            &c,
            "the server's recvfrom()",
            |b| matches!(b, EventBody::Server { id: 2, op: ServerSide::RecvFrom { data, .. } } if data.0 == udp.as_bytes()),
        );
        let client_recvfrom = event(
            &c,
            "the client's recvfrom()",
            |b| matches!(b, EventBody::UdpReceived { id: 2, data, .. } if data.0 == up_udp.as_bytes()),
        );
        // Which send() was this message's: the n-th of its socket.
        let nth = |pred: &dyn Fn(&EventBody) -> bool| {
            c.seen
                .iter()
                .filter(|e| pred(&e.body))
                .nth(n)
                .expect("the n-th call")
                .clone()
        };
        let tcp_send = nth(&|b| matches!(b, EventBody::TcpSent { id: 1, .. }));
        let udp_send = nth(&|b| matches!(b, EventBody::UdpSent { id: 2, .. }));
        let server_send = nth(&|b| {
            matches!(
                b,
                EventBody::Server {
                    id: 1,
                    op: ServerSide::Send { .. }
                }
            )
        });
        let server_sendto = nth(&|b| {
            matches!(
                b,
                EventBody::Server {
                    id: 2,
                    op: ServerSide::SendTo { .. }
                }
            )
        });
        if !on {
            continue;
        }
        let order = |what: &str, entered: &Event, packet: u64, returned: &Event| {
            let entered = entered
                .called_us
                .expect("a call's report says when it was entered");
            assert!(
                entered <= packet && packet <= returned.t_us,
                "{what} #{n}: entered {entered} ≤ packet {packet} ≤ returned {} fails",
                returned.t_us
            );
        };
        let to_server = packet_carrying(&c, tcp.as_bytes());
        let to_client = packet_carrying(&c, up_tcp.as_bytes());
        order("TCP message", &tcp_send, to_server, server_recv);
        order("TCP echo", &server_send, to_client, client_recv);
        let to_server = packet_carrying(&c, udp.as_bytes());
        let to_client = packet_carrying(&c, up_udp.as_bytes());
        order("UDP datagram", &udp_send, to_server, server_recvfrom);
        order("UDP echo", &server_sendto, to_client, client_recvfrom);
    }
}

#[tokio::test]
async fn the_first_packets_after_the_bridge_starts_are_in_time_order() {
    // A fresh bridge: its capture's first packets.
    let lab = lab().await;
    let mut c = connect(&lab).await;
    if !capture_on(&c) {
        return;
    }
    c.send(Command::tcp_connect(1)).await;
    let connected = c
        .until("tcp_connected", |b| {
            matches!(b, EventBody::TcpConnected { .. })
        })
        .await;
    let EventBody::TcpConnected { local, .. } = connected else {
        unreachable!()
    };
    let connect = c.seen.last().unwrap().clone();
    // The handshake's packets arrive within the capture's few milliseconds.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while packets(&c).len() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no handshake in {:#?}",
            c.seen
        );
        let _ = c.events_for(Duration::from_millis(50)).await;
    }
    let handshake: Vec<(u64, String)> = packets(&c)
        .into_iter()
        .take(3)
        .map(|(at, frame)| {
            let p = SlicedPacket::from_ethernet(&frame).unwrap();
            let Some(TransportSlice::Tcp(t)) = p.transport else {
                panic!("a TCP segment")
            };
            let flags = match (t.syn(), t.ack()) {
                (true, false) => "SYN",
                (true, true) => "SYN-ACK",
                _ => "ACK",
            };
            assert!([t.source_port(), t.destination_port()].contains(&local.port()));
            (at, flags.to_string())
        })
        .collect();
    let names: Vec<&str> = handshake.iter().map(|(_, f)| f.as_str()).collect();
    assert_eq!(names, ["SYN", "SYN-ACK", "ACK"]);
    let times: Vec<u64> = handshake.iter().map(|(at, _)| *at).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "in time order: {times:?}"
    );
    // connect() was entered before its SYN left and returned after the SYN-ACK came.
    let called = connect.called_us.expect("connect()'s entry");
    assert!(
        called <= times[0],
        "connect() entered {called} ≤ SYN {}",
        times[0]
    );
    assert!(
        times[1] <= connect.t_us,
        "SYN-ACK {} ≤ connect() returned {}",
        times[1],
        connect.t_us
    );
}

/// ICMP's "port unreachable" as the kernel sends it, quoting `from`'s datagram.
fn port_unreachable(frame: &[u8]) -> Option<u16> {
    let p = SlicedPacket::from_ethernet(frame).ok()?;
    let quoted = match p.transport? {
        TransportSlice::Icmpv4(i) => {
            let etherparse::Icmpv4Type::DestinationUnreachable(
                etherparse::icmpv4::DestUnreachableHeader::Port,
            ) = i.icmp_type()
            else {
                return None;
            };
            let q = i.payload();
            let ihl = usize::from(q[0] & 0x0f) * 4;
            q.get(ihl..ihl + 2)?.to_vec()
        }
        TransportSlice::Icmpv6(i) => {
            let etherparse::Icmpv6Type::DestinationUnreachable(
                etherparse::icmpv6::DestUnreachableCode::Port,
            ) = i.icmp_type()
            else {
                return None;
            };
            i.payload().get(40..42)?.to_vec()
        }
        _ => return None,
    };
    Some(u16::from_be_bytes([quoted[0], quoted[1]]))
}

#[tokio::test]
async fn a_datagram_to_nobody_brings_back_the_kernels_icmp_error_to_its_session() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    if !capture_on(&c) {
        return;
    }
    let mut other = connect(&lab).await;
    for (id, to) in [(1, Target::Nobody), (2, Target::Nobody6)] {
        c.send(Command::UdpSend {
            id,
            data: "anyone?".into(),
            to,
            connected: false,
        })
        .await;
        let EventBody::UdpSent { local, .. } = c
            .until(
                "udp_sent",
                |b| matches!(b, EventBody::UdpSent { id: i, .. } if *i == id),
            )
            .await
        else {
            unreachable!()
        };
        // The kernel answers the datagram with ICMP (v4) or ICMPv6 "port unreachable"; the
        // unconnected socket is not told, but the session sees the packet.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let found = c.seen.iter().any(|e| match &e.body {
                EventBody::Packet {
                    id: Some(i), data, ..
                } => *i == id && port_unreachable(&data.0) == Some(local.port()),
                _ => false,
            });
            if found {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no ICMP for {to:?}: {:#?}",
                c.seen
            );
            let _ = c.events_for(Duration::from_millis(50)).await;
        }
    }
    // Another session never gets them.
    let theirs = other.events_for(Duration::from_millis(200)).await;
    assert!(
        !theirs.iter().any(|b| matches!(b, EventBody::Packet { .. })),
        "{theirs:?}"
    );
}

#[tokio::test]
async fn ipv4_and_ipv6_side_by_side_each_with_its_largest_datagram() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    let EventBody::Hello {
        tcp_server6,
        udp_server6,
        ..
    } = &c.seen[0].body
    else {
        unreachable!()
    };
    assert_eq!(
        *tcp_server6,
        lab.tcp6_addr(),
        "the hello names the IPv6 servers"
    );
    assert_eq!(*udp_server6, lab.udp6_addr());
    let on = capture_on(&c);
    // An echo over each family, TCP and UDP.
    c.send(Command::TcpConnect {
        id: 1,
        to: Target::Echo6,
    })
    .await;
    c.send(Command::TcpSend {
        id: 1,
        data: "over ipv6".into(),
    })
    .await;
    let EventBody::TcpConnected { local, peer, .. } = c
        .until("tcp_connected", |b| {
            matches!(b, EventBody::TcpConnected { .. })
        })
        .await
    else {
        unreachable!()
    };
    assert!(
        local.is_ipv6() && Some(peer) == lab.tcp6_addr(),
        "{local} → {peer}"
    );
    c.until(
        "the echo",
        |b| matches!(b, EventBody::TcpReceived { data, .. } if data.0 == b"OVER IPV6"),
    )
    .await;
    let udp = |id, to, len: usize| Command::UdpSend {
        id,
        data: vec![b'x'; len].into(),
        to,
        connected: false,
    };
    // 65,507 bytes is IPv4's largest datagram; 65,508 fails with EMSGSIZE…
    c.send(udp(2, Target::Echo, 65_508)).await;
    let err = c
        .until("EMSGSIZE", |b| {
            matches!(b, EventBody::Error { id: Some(2), .. })
        })
        .await;
    assert!(
        matches!(&err, EventBody::Error { code: ErrorCode::Os, os: Some(os), .. } if os.name == "EMSGSIZE"),
        "{err:?}"
    );
    // …while IPv6 takes up to 65,527 (its header is not counted in its payload length): the
    // datagram leaves in fragments, and the server reads its first 1024 bytes.
    c.send(udp(3, Target::Echo6, 65_508)).await;
    let got = c
        .until("the server's recvfrom()", |b| {
            matches!(
                b,
                EventBody::Server {
                    id: 3,
                    op: ServerSide::RecvFrom { .. }
                }
            )
        })
        .await;
    let EventBody::Server {
        op: ServerSide::RecvFrom { size, data, peer },
        ..
    } = got
    else {
        unreachable!()
    };
    assert_eq!((size, data.len()), (65_508, 1024));
    assert!(peer.is_ipv6());
    c.send(udp(4, Target::Echo6, 65_528)).await;
    let err = c
        .until("EMSGSIZE over IPv6", |b| {
            matches!(b, EventBody::Error { id: Some(4), .. })
        })
        .await;
    assert!(
        matches!(&err, EventBody::Error { os: Some(os), .. } if os.name == "EMSGSIZE"),
        "{err:?}"
    );
    if !on {
        return;
    }
    // The fragments of datagram 3 are the session's, every one.
    let _ = c.events_for(Duration::from_millis(100)).await;
    let fragments: Vec<(bool, usize)> = c
        .seen
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Packet {
                id: Some(3), data, ..
            } => Some(data.0.clone()),
            _ => None,
        })
        .filter_map(|frame| {
            let p = SlicedPacket::from_ethernet(&frame).ok()?;
            let Some(NetSlice::Ipv6(ip)) = p.net else {
                return None;
            };
            let fragmented = ip.is_payload_fragmented();
            Some((fragmented, ip.payload().payload.len()))
        })
        .collect();
    let pieces: Vec<_> = fragments.iter().filter(|(f, _)| *f).collect();
    assert!(pieces.len() >= 2, "the datagram's fragments: {fragments:?}");
    let carried: usize = pieces.iter().map(|(_, len)| len).sum();
    assert_eq!(
        carried,
        65_508 + 8,
        "the fragments carry the whole UDP datagram"
    );
}
