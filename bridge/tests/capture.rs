//! Live packets: the real handshake and teardown of a session's connection, captured on `lo`,
//! delivered once each, to that session only; and the clear message when capture is not allowed.
//!
//! Capturing needs root or CAP_NET_RAW. CI runs as root, so the packet assertions run there; on
//! a machine without the privilege the same tests assert the "no permission" path instead.

mod common;

use common::{Client, PATIENCE, connect, lab};
use etherparse::{SlicedPacket, TransportSlice};
use protocol::{CaptureState, Command, EventBody};
use std::time::Duration;

fn privileged() -> bool {
    // SAFETY: a plain getter.
    unsafe { libc::geteuid() == 0 }
}

fn capture_state(c: &Client) -> CaptureState {
    match &c.seen[0].body {
        EventBody::Hello { capture, .. } => capture.clone(),
        other => panic!("{other:?}"),
    }
}

/// (flags, seq, ack, payload length, from the client?) of each TCP packet of socket `id`.
fn segments(c: &Client, id: u32, client_port: u16) -> Vec<(String, u32, u32, usize, bool)> {
    c.seen
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Packet {
                id: Some(i), data, ..
            } if *i == id => Some(data.0.clone()),
            _ => None,
        })
        .filter_map(|frame| {
            let p = SlicedPacket::from_ethernet(&frame).ok()?;
            let Some(TransportSlice::Tcp(t)) = p.transport else {
                return None;
            };
            let mut flags = String::new();
            for (on, f) in [
                (t.syn(), "S"),
                (t.fin(), "F"),
                (t.rst(), "R"),
                (t.ack(), "."),
            ] {
                if on {
                    flags += f;
                }
            }
            let from_client = t.source_port() == client_port;
            Some((
                flags,
                t.sequence_number(),
                t.acknowledgment_number(),
                t.payload().len(),
                from_client,
            ))
        })
        .collect()
}

#[tokio::test]
async fn a_connection_yields_its_real_handshake_and_teardown_once_each() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    if !privileged() {
        assert!(matches!(
            capture_state(&c),
            CaptureState::NoPermission { .. }
        ));
        return;
    }
    assert_eq!(capture_state(&c), CaptureState::On);
    c.send(Command::tcp_connect(1)).await;
    let connected = c
        .until("connected", |b| matches!(b, EventBody::TcpConnected { .. }))
        .await;
    let EventBody::TcpConnected { local, .. } = connected else {
        unreachable!()
    };
    c.send(Command::TcpSend {
        id: 1,
        data: "hi".into(),
    })
    .await;
    c.until("echo", |b| matches!(b, EventBody::TcpReceived { .. }))
        .await;
    c.send(Command::TcpClose { id: 1 }).await;
    c.until("closed", |b| matches!(b, EventBody::TcpClosed { .. }))
        .await;
    // Wait until the last ACK of the teardown arrived too.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let segs = segments(&c, 1, local.port());
        let fins = segs.iter().filter(|s| s.0.contains('F')).count();
        if fins == 2 && segs.last().is_some_and(|s| s.0 == "." && s.4) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no full teardown: {segs:?}"
        );
        let _ = tokio::time::timeout(Duration::from_millis(200), c.next()).await;
    }
    let segs = segments(&c, 1, local.port());
    // The three-way handshake, with the numbers the tutorial teaches.
    let (syn, synack, ack) = (&segs[0], &segs[1], &segs[2]);
    assert_eq!((syn.0.as_str(), syn.4), ("S", true), "{segs:?}");
    assert_eq!((synack.0.as_str(), synack.4), ("S.", false));
    assert_eq!(
        synack.2,
        syn.1.wrapping_add(1),
        "the server's ack is the client's seq + 1"
    );
    assert_eq!((ack.0.as_str(), ack.4), (".", true));
    assert_eq!(
        ack.2,
        synack.1.wrapping_add(1),
        "the client's ack is the server's seq + 1"
    );
    // The data both ways.
    assert!(segs.iter().any(|s| s.3 == 2 && s.4), "the client's 2 bytes");
    assert!(segs.iter().any(|s| s.3 == 2 && !s.4), "the server's echo");
    // The teardown: the client's FIN first, then the server's, each acknowledged.
    let fins: Vec<_> = segs.iter().filter(|s| s.0.contains('F')).collect();
    assert!(fins[0].4 && !fins[1].4, "client closes first: {segs:?}");
    // No duplicates: loopback shows each packet twice unless the capture removes one.
    assert_eq!(segs.iter().filter(|s| s.0 == "S").count(), 1, "{segs:?}");
    for pair in segs.windows(2) {
        assert_ne!(pair[0], pair[1], "a duplicate: {segs:?}");
    }
    // Kernel timestamps, moved onto the events' clock: taken when the packet passed, so no
    // later than the bridge reported it — one clock, no slack. (That they are the kernel's and
    // not the time the bridge read them is pinned in timeline.rs: each segment lies between
    // the send() that made it and the recv() that read it.) They need not be in arrival order:
    // on two CPUs the two ends' packets are stamped on different cores.
    for e in &c.seen {
        if let EventBody::Packet { at_us, .. } = e.body {
            assert!(
                at_us > 0 && at_us <= e.t_us,
                "at {at_us} µs, reported at {} µs",
                e.t_us
            );
        }
    }
}

#[tokio::test]
async fn another_sessions_packets_are_never_delivered() {
    if !privileged() {
        return; // nothing is captured for anyone: covered by the no-permission test
    }
    let lab = lab().await;
    let mut a = connect(&lab).await;
    let mut b = connect(&lab).await;
    a.send(Command::tcp_connect(1)).await;
    a.send(Command::TcpSend {
        id: 1,
        data: "secret".into(),
    })
    .await;
    a.send(Command::udp_send(2, "secret")).await;
    a.until("udp echo", |e| matches!(e, EventBody::UdpReceived { .. }))
        .await;
    if !a
        .seen
        .iter()
        .any(|e| matches!(e.body, EventBody::Packet { .. }))
    {
        a.until("a packet", |e| matches!(e, EventBody::Packet { .. }))
            .await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
    while let Ok(event) = tokio::time::timeout_at(deadline, b.next()).await {
        assert!(
            !matches!(event.body, EventBody::Packet { .. }),
            "b got a's packet"
        );
    }
}

#[tokio::test]
async fn without_the_privilege_the_bridge_says_how_to_allow_it_and_works() {
    use std::process::Command as Process;
    let bin = env!("CARGO_BIN_EXE_bridge");
    let args = [
        "--http",
        "127.0.0.1:0",
        "--tcp",
        "127.0.0.1:0",
        "--udp",
        "127.0.0.1:0",
        "--tcp6",
        "[::1]:0",
        "--udp6",
        "[::1]:0",
    ];
    // As root, become "nobody" with no capabilities; otherwise we are unprivileged already.
    let mut cmd = if privileged() {
        let mut c = Process::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--",
        ]);
        c.arg(bin);
        c
    } else {
        Process::new(bin)
    };
    let (mut child, banner) = common::spawn_with_banner(cmd.args(args));
    let said: Vec<&str> = banner
        .lines()
        .filter(|l| l.contains("Live packets") && l.contains("CAP_NET_RAW"))
        .collect();
    assert_eq!(said.len(), 1, "said once: {banner}");
    assert!(
        said[0].contains(&format!("setcap cap_net_raw+ep {bin}")),
        "{banner}"
    );
    // And the lab works: the TCP echo server answers.
    let tcp = banner
        .lines()
        .find_map(|l| l.trim().strip_prefix("TCP echo server: "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_string();
    let mut s = std::net::TcpStream::connect(&tcp).unwrap();
    use std::io::{Read, Write};
    s.write_all(b"still works").unwrap();
    let mut echo = [0u8; 11];
    s.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"STILL WORKS");
    let _ = child.kill();
    let _ = child.wait();
}
