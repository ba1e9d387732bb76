//! A lossy link on the real kernel path: a lab server's packets are dropped, delayed, reordered
//! and duplicated between the two kernels, and the kernel's own TCP reacts.
//!
//! Each test checks the effect with a reference nobody here wrote: every byte of the echoes
//! (TCP's reliability), `TCP_INFO` and `ss` for retransmissions, the capture for a segment seen
//! twice and for times, the echo server's own reads for what the kernel delivered, and `nft` for
//! the rules. The impairments need CAP_NET_ADMIN (CI runs as root); the last test runs the real
//! binary without it.

mod common;

use common::{Client, FREE_PORTS, PATIENCE, connect, lab};
use etherparse::{SlicedPacket, TransportSlice};
use protocol::{
    Command, ErrorCode, EventBody, Impair, ImpairState, LabSpec, LinkStats, ServerSide, SocketId,
    Target, Transport,
};
use std::time::Duration;
use tokio::time::Instant;

/// Long enough for TCP's timeouts (a lost SYN waits 1 s, then 2 s) on a loaded machine.
const SLOW: Duration = Duration::from_secs(60);

fn impair_on(c: &Client) -> bool {
    match &c.seen[0].body {
        EventBody::Hello { impair, .. } => {
            if !matches!(impair, ImpairState::On { .. }) {
                // SAFETY: a plain getter.
                let root = unsafe { libc::geteuid() == 0 };
                assert!(!root, "as root the bridge impairs links: {impair:?}");
                eprintln!("skipped: impairments need CAP_NET_ADMIN ({impair:?})");
            }
            matches!(impair, ImpairState::On { .. })
        }
        other => panic!("{other:?}"),
    }
}

fn spec(transport: Transport, impair: Impair) -> LabSpec {
    LabSpec {
        impair: Some(impair),
        ..LabSpec::tutorial(transport)
    }
}

/// Starts lab server `server`; returns its port.
async fn start(c: &mut Client, server: u32, spec: LabSpec) -> u16 {
    c.send(Command::LabStart { server, spec }).await;
    match c
        .until("lab_started", |b| {
            matches!(b, EventBody::LabStarted { server: s, .. } if *s == server)
                || matches!(b, EventBody::Error { server: Some(s), .. } if *s == server)
        })
        .await
    {
        EventBody::LabStarted { addr, .. } => addr.port(),
        other => panic!("{other:?}"),
    }
}

/// Reads events until `done` says so, for up to [`SLOW`].
async fn read_until(c: &mut Client, what: &str, done: impl Fn(&Client) -> bool) {
    let deadline = Instant::now() + SLOW;
    while !done(c) {
        if Instant::now() >= deadline {
            let summary: Vec<String> = c
                .seen
                .iter()
                .filter(|e| !matches!(e.body, EventBody::Packet { .. }))
                .map(|e| {
                    format!("{} {:?}", e.t_us, e.body)
                        .chars()
                        .take(160)
                        .collect()
                })
                .collect();
            panic!("no {what} within {SLOW:?}; saw {summary:#?}");
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), c.next()).await;
    }
}

fn tcp_received(c: &Client, id: SocketId) -> Vec<u8> {
    c.seen
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::TcpReceived { id: i, data } if *i == id => Some(data.0.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn last_link_stats(c: &Client, server: u32) -> Option<LinkStats> {
    c.seen.iter().rev().find_map(|e| match &e.body {
        EventBody::LinkStats { server: s, stats } if *s == server => Some(*stats),
        _ => None,
    })
}

/// The TCP data segments to or from `port`, in order: (seq, payload length, lost) — the captured
/// ones and the ones the link dropped (which the bridge reports with the kernel's bytes).
fn data_segments(c: &Client, port: u16) -> Vec<(u32, usize, bool)> {
    c.seen
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Packet { data, lost, .. } => {
                let p = SlicedPacket::from_ethernet(&data.0).ok()?;
                match p.transport? {
                    TransportSlice::Tcp(t)
                        if (t.source_port() == port || t.destination_port() == port)
                            && !t.payload().is_empty() =>
                    {
                        Some((t.sequence_number(), t.payload().len(), *lost))
                    }
                    _ => None,
                }
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn tcp_through_a_20_percent_lossy_link_delivers_every_byte_because_the_kernel_retransmits() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    if !impair_on(&c) {
        return;
    }
    let impair = Impair {
        loss_pct: 20,
        seed: 11,
        ..Impair::default()
    };
    let port = start(&mut c, 1, spec(Transport::Tcp, impair)).await;
    c.send(Command::TcpConnect {
        id: 1,
        to: Target::Lab(1),
    })
    .await;
    // (A lost SYN is retried after a second: the handshake may take a while.)
    read_until(&mut c, "the connection", |c| {
        c.seen
            .iter()
            .any(|e| matches!(e.body, EventBody::TcpConnected { .. }))
    })
    .await;
    // 40 messages of 1000 bytes, each different, so a byte in the wrong place would show; one
    // at a time, as a learner clicks (the bridge queues at most 16 commands per socket).
    let mut sent = vec![];
    for i in 0..40u8 {
        let message: Vec<u8> = (0..1000)
            .map(|j| b'a' + ((i as usize + j) % 26) as u8)
            .collect();
        sent.extend_from_slice(&message);
        c.send(Command::TcpSend {
            id: 1,
            data: message.into(),
        })
        .await;
        let n = usize::from(i) + 1;
        read_until(&mut c, "tcp_sent", |c| {
            c.seen
                .iter()
                .filter(|e| matches!(e.body, EventBody::TcpSent { .. }))
                .count()
                == n
        })
        .await;
    }
    read_until(&mut c, "all 40,000 bytes back", |c| {
        tcp_received(c, 1).len() >= 40_000
    })
    .await;
    assert_eq!(
        tcp_received(&c, 1),
        sent.to_ascii_uppercase(),
        "every byte, in order"
    );
    // The kernel says it retransmitted: TCP_INFO (as the session reports it) …
    read_until(&mut c, "total_retrans > 0 in TCP_INFO", |c| {
        c.seen.iter().any(|e| {
            matches!(&e.body, EventBody::TcpState { id: 1, info: Some(i), .. } if i.total_retrans > 0)
        })
    })
    .await;
    // … and `ss`, reading the kernel's socket table on its own.
    let ss = std::process::Command::new("ss")
        .args([
            "-tin",
            "state",
            "established",
            &format!("( sport = :{port} )"),
        ])
        .output()
        .expect("ss (iproute2) runs");
    let ss = String::from_utf8_lossy(&ss.stdout);
    assert!(ss.contains("retrans:"), "ss shows retransmissions:\n{ss}");
    // The link dropped packets, and every data segment it dropped was sent again: its first
    // byte is in a later segment that arrived.
    let stats = last_link_stats(&c, 1).expect("link_stats");
    assert!(stats.dropped > 0, "{stats:?}");
    // Captured packets come by their own path (the capture ring) and may trail the calls'
    // reports: let the last of them arrive before looking for each retransmission.
    let _ = c.events_for(Duration::from_millis(800)).await;
    let segments = data_segments(&c, port);
    let captured_any = segments.iter().any(|&(_, _, lost)| !lost);
    // A capture that had to drop packets (the session's packet budget) is not complete.
    let complete = !c.seen.iter().any(|e| {
        matches!(
            e.body,
            EventBody::Error {
                code: protocol::ErrorCode::PacketsDropped,
                ..
            }
        )
    });
    if captured_any && complete {
        let lost: Vec<usize> = (0..segments.len()).filter(|&i| segments[i].2).collect();
        assert!(!lost.is_empty(), "a data segment was lost: {segments:?}");
        for i in lost {
            let seq = segments[i].0;
            assert!(
                segments[i + 1..]
                    .iter()
                    .any(|&(from, len, lost)| { !lost && seq.wrapping_sub(from) < len as u32 }),
                "segment {seq} was lost and never sent again: {segments:?}"
            );
        }
    }
}

/// UDP echoes of `count` numbered datagrams through `impair` (lab server 2), read until the link
/// is quiet; returns the lab (keep it while reading) and the client.
async fn udp_echoes(impair: Impair, count: u32) -> Option<(bridge::Lab, Client)> {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    if !impair_on(&c) {
        return None;
    }
    start(&mut c, 2, spec(Transport::Udp, impair)).await;
    // One at a time, as a learner's burst goes (the bridge queues at most 16 commands per
    // socket); every datagram leaves, and what comes back is whatever the link let through.
    for n in 0..count {
        c.send(Command::UdpSend {
            id: 1,
            data: format!("{n:04}").into_bytes().into(),
            to: Target::Lab(2),
            connected: false,
        })
        .await;
        read_until(&mut c, "udp_sent", |c| {
            c.seen
                .iter()
                .filter(|e| matches!(e.body, EventBody::UdpSent { .. }))
                .count() as u32
                == n + 1
        })
        .await;
    }
    // Then until the link has been quiet (its counts stopped changing).
    let mut last = None;
    loop {
        let events = c.events_for(Duration::from_millis(1500)).await;
        let now = last_link_stats(&c, 2);
        if events.is_empty() || now == last {
            break;
        }
        last = now;
    }
    Some((lab, c))
}

fn server_reads_udp(c: &Client) -> Vec<Vec<u8>> {
    c.seen
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Server {
                op: ServerSide::RecvFrom { data, .. },
                ..
            } => Some(data.0.clone()),
            _ => None,
        })
        .collect()
}

fn udp_echoed(c: &Client) -> Vec<Vec<u8>> {
    c.seen
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::UdpReceived { data, .. } => Some(data.0.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn udp_through_a_30_percent_lossy_link_loses_what_the_link_dropped_and_nothing_else() {
    let impair = Impair {
        loss_pct: 30,
        seed: 5,
        ..Impair::default()
    };
    let Some((_lab, c)) = udp_echoes(impair, 200).await else {
        return;
    };
    let reached_server = server_reads_udp(&c).len() as u64;
    let came_back = udp_echoed(&c).len() as u64;
    // Both ways at 30 %: about 0.7 × 0.7 = 49 % of round trips survive (200 draws: ± 3.5 σ).
    assert!(
        (60..=140).contains(&came_back),
        "{came_back} of 200 came back"
    );
    assert!(came_back <= reached_server && reached_server < 200);
    // The link's own count agrees with what the kernel delivered to each end.
    let stats = last_link_stats(&c, 2).expect("link_stats");
    assert_eq!(stats.packets, 200 + reached_server, "{stats:?}");
    assert_eq!(
        stats.dropped,
        (200 - reached_server) + (reached_server - came_back),
        "{stats:?}"
    );
}

#[tokio::test]
async fn a_delayed_link_shows_its_delay_in_the_captured_times() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    if !impair_on(&c) {
        return;
    }
    let impair = Impair {
        delay_ms: 60,
        ..Impair::default()
    };
    let port = start(&mut c, 3, spec(Transport::Udp, impair)).await;
    c.send(Command::UdpSend {
        id: 1,
        data: b"late".to_vec().into(),
        to: Target::Lab(3),
        connected: false,
    })
    .await;
    let EventBody::UdpReceived { .. } = c
        .until("the echo", |b| matches!(b, EventBody::UdpReceived { .. }))
        .await
    else {
        unreachable!()
    };
    let called = c
        .seen
        .iter()
        .find_map(|e| matches!(e.body, EventBody::UdpSent { .. }).then_some(e.called_us))
        .flatten()
        .expect("sendto's entry time");
    let returned = c
        .seen
        .iter()
        .find_map(|e| matches!(e.body, EventBody::UdpReceived { .. }).then_some(e.t_us))
        .expect("recvfrom's return");
    // Two trips of 60 ms each: the echo cannot be back sooner.
    assert!(returned - called >= 120_000, "{} µs", returned - called);
    // The capture sees each datagram when it really went on the wire: after its delay.
    let _ = c.events_for(Duration::from_millis(300)).await;
    let times: Vec<(u64, u16)> = c
        .seen
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Packet { at_us, data, .. } => {
                let p = SlicedPacket::from_ethernet(&data.0).ok()?;
                match p.transport? {
                    TransportSlice::Udp(u) => Some((*at_us, u.destination_port())),
                    _ => None,
                }
            }
            _ => None,
        })
        .collect();
    if let [(request, to_server), (echo, _)] = times[..] {
        assert_eq!(to_server, port);
        assert!(
            request >= called + 60_000,
            "request on the wire at {request}, sent {called}"
        );
        assert!(
            echo >= request + 60_000,
            "echo on the wire at {echo}, request {request}"
        );
    } else {
        assert!(times.is_empty(), "two datagrams or none: {times:?}");
    }
}

#[tokio::test]
async fn a_reordering_link_delivers_datagrams_out_of_order_and_a_duplicating_one_twice() {
    let impair = Impair {
        reorder_pct: 40,
        seed: 3,
        ..Impair::default()
    };
    let Some((_lab, c)) = udp_echoes(impair, 40).await else {
        return;
    };
    let reads = server_reads_udp(&c);
    assert_eq!(reads.len(), 40, "reordering loses nothing");
    let mut sorted = reads.clone();
    sorted.sort();
    assert_ne!(reads, sorted, "the server read them out of order");
    assert!(last_link_stats(&c, 2).unwrap().reordered > 0);

    let impair = Impair {
        duplicate_pct: 100,
        seed: 3,
        ..Impair::default()
    };
    let Some((_lab, c)) = udp_echoes(impair, 10).await else {
        return;
    };
    let available = match &c.seen[0].body {
        EventBody::Hello {
            impair: ImpairState::On { available },
            ..
        } => available.clone(),
        _ => unreachable!(),
    };
    if available.iter().any(|a| a == "duplicate_pct") {
        // Each datagram reaches the server twice, and each echo comes back twice.
        assert_eq!(server_reads_udp(&c).len(), 20);
        assert_eq!(udp_echoed(&c).len(), 40);
        assert_eq!(last_link_stats(&c, 2).unwrap().duplicated, 30);
    }
}

/// The chains in the bridge's table of `family`, as `nft` lists them.
fn nft_chains(family: &str, table: &str) -> Option<String> {
    let out = std::process::Command::new("nft")
        .args(["list", "table", family, table])
        .output()
        .expect("nft (Debian's nftables) runs");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn rules_exist_only_while_the_lab_server_runs_and_touch_only_its_port() {
    let lab = lab().await;
    let table = format!("socket_lab_{}", lab.http_addr().port());
    let mut c = connect(&lab).await;
    if !impair_on(&c) {
        return;
    }
    let port = start(&mut c, 4, spec(Transport::Tcp, Impair::default())).await;
    let listed = nft_chains("ip", &table).expect("the bridge's table");
    assert!(listed.contains(&format!("chain tcp_{port}")), "{listed}");
    assert!(listed.contains(&format!("tcp dport {port}")), "{listed}");
    assert!(listed.contains(&format!("tcp sport {port}")), "{listed}");
    assert!(listed.contains("queue"), "{listed}");
    assert_eq!(
        listed.matches("dport").count(),
        1,
        "only this port: {listed}"
    );
    // Stopping the server removes its chain.
    c.send(Command::LabStop { server: 4 }).await;
    c.until("lab_stopped", |b| matches!(b, EventBody::LabStopped { .. }))
        .await;
    let deadline = Instant::now() + PATIENCE;
    while nft_chains("ip", &table).unwrap().contains("chain") {
        assert!(Instant::now() < deadline, "the chain outlived its server");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A session's servers go with the session.
    let port = start(&mut c, 5, spec(Transport::Udp, Impair::default())).await;
    assert!(
        nft_chains("ip", &table)
            .unwrap()
            .contains(&format!("udp_{port}"))
    );
    c.close().await;
    let deadline = Instant::now() + PATIENCE;
    while nft_chains("ip", &table).unwrap().contains("chain") {
        assert!(Instant::now() < deadline, "the chain outlived its session");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And the tables go with the bridge.
    drop(lab);
    assert!(nft_chains("ip", &table).is_none());
    assert!(nft_chains("ip6", &table).is_none());
}

#[tokio::test]
async fn another_learners_traffic_is_not_impaired() {
    let lab = lab().await;
    let mut lossy = connect(&lab).await;
    if !impair_on(&lossy) {
        return;
    }
    // Everything on learner A's lab server is lost …
    let all_lost = Impair {
        loss_pct: 100,
        ..Impair::default()
    };
    start(&mut lossy, 1, spec(Transport::Udp, all_lost)).await;
    lossy
        .send(Command::UdpSend {
            id: 1,
            data: b"gone".to_vec().into(),
            to: Target::Lab(1),
            connected: false,
        })
        .await;
    lossy
        .until("the datagram sent", |b| {
            matches!(b, EventBody::UdpSent { .. })
        })
        .await;
    // … while learner B's echoes — through the shared servers and a lab server of B's own —
    // and A's own through the shared server all come back.
    let mut other = connect(&lab).await;
    start(&mut other, 1, LabSpec::tutorial(Transport::Udp)).await;
    for (mine, id, to) in [
        (false, 1, Target::Echo),
        (false, 2, Target::Lab(1)),
        (true, 3, Target::Echo),
    ] {
        let c = if mine { &mut lossy } else { &mut other };
        c.send(Command::UdpSend {
            id,
            data: b"fine".to_vec().into(),
            to,
            connected: false,
        })
        .await;
        c.until("the echo", |b| {
            matches!(b, EventBody::UdpReceived { id: i, data, .. } if *i == id && data.0 == b"FINE")
        })
        .await;
    }
    assert!(!lossy.seen.iter().any(|e| matches!(
        &e.body,
        EventBody::UdpReceived { data, .. } if data.0 == b"GONE"
    )));
}

#[tokio::test]
async fn without_the_privilege_the_bridge_says_what_to_run_and_everything_else_works() {
    // SAFETY: a plain getter.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: dropping a capability needs root to have it");
        return;
    }
    // The real binary, with CAP_NET_ADMIN and CAP_NET_RAW taken out of its bounding set.
    let mut child = tokio::process::Command::new("setpriv")
        .args([
            "--bounding-set",
            "-net_admin,-net_raw",
            env!("CARGO_BIN_EXE_bridge"),
        ])
        .args(FREE_PORTS)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("setpriv (util-linux) runs the bridge");
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = vec![];
    let url = tokio::time::timeout(PATIENCE, async {
        loop {
            let line = lines.next_line().await.unwrap().expect("the banner");
            banner.push(line.clone());
            if let Some(url) = line.trim().strip_prefix("Open ") {
                break url.split_whitespace().next().unwrap().to_string();
            }
        }
    })
    .await
    .expect("the banner within PATIENCE");
    let rest = tokio::time::timeout(PATIENCE, async {
        let mut rest = vec![];
        while let Ok(Some(line)) = lines.next_line().await {
            let done = line.starts_with("Press Ctrl-C");
            rest.push(line);
            if done {
                break;
            }
        }
        rest
    })
    .await
    .expect("the rest of the banner");
    let said: Vec<&String> = rest.iter().filter(|l| l.contains("Lossy links")).collect();
    assert_eq!(said.len(), 1, "said once: {rest:#?}");
    // The exact command for this very binary.
    let command = format!(
        "setcap cap_net_raw,cap_net_admin+ep {}",
        env!("CARGO_BIN_EXE_bridge")
    );
    assert!(said[0].contains(&command), "{}", said[0]);

    let http: std::net::SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let origin = format!("http://{http}");
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{http}/ws"
        ))
        .unwrap();
    request
        .headers_mut()
        .insert("Origin", origin.parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut c = common::Client::from_ws(ws).await;
    match &c.seen[0].body {
        EventBody::Hello { impair, .. } => {
            assert!(
                matches!(impair, ImpairState::NoPermission { hint } if hint.contains("setcap")),
                "{impair:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    c.send(Command::LabStart {
        server: 1,
        spec: spec(Transport::Tcp, Impair::default()),
    })
    .await;
    match c
        .until("an error", |b| matches!(b, EventBody::Error { .. }))
        .await
    {
        EventBody::Error { code, message, .. } => {
            assert_eq!(code, ErrorCode::ImpairUnavailable);
            assert!(message.contains("setcap"), "{message}");
        }
        _ => unreachable!(),
    }
    // Everything else works: an echo through the shared server.
    c.send(Command::UdpSend {
        id: 1,
        data: b"still here".to_vec().into(),
        to: Target::Echo,
        connected: false,
    })
    .await;
    c.until("the echo", |b| matches!(b, EventBody::UdpReceived { .. }))
        .await;
    let _ = child.kill().await;
}

/// A known file: numbered lines of letters (so the uppercased echo differs from it).
fn known_file(size: usize) -> Vec<u8> {
    let mut file = vec![];
    let mut n = 0;
    while file.len() < size {
        file.extend_from_slice(format!("line {n:05} abcdefghijklmnopqrstuvwxyz\n").as_bytes());
        n += 1;
    }
    file.truncate(size);
    file
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Uploads `file` through lab server `server` as transfer `id`; returns its result.
async fn send_file(
    c: &mut Client,
    id: SocketId,
    server: u32,
    transport: Transport,
    file: &[u8],
    datagram: usize,
) -> protocol::FileResult {
    c.send(Command::FileStart {
        id,
        transport,
        to: Target::Lab(server),
        source: protocol::FileSource::Upload {
            name: "known.txt".into(),
            size: file.len() as u64,
        },
        datagram,
    })
    .await;
    for chunk in file.chunks(32 * 1024) {
        c.send(Command::FileChunk {
            id,
            data: chunk.to_vec().into(),
        })
        .await;
    }
    read_until(c, "file_done", |c| {
        c.seen
            .iter()
            .any(|e| matches!(e.body, EventBody::FileDone { id: i, .. } if i == id))
    })
    .await;
    c.seen
        .iter()
        .find_map(|e| match &e.body {
            EventBody::FileDone { id: i, result } if *i == id => Some(result.clone()),
            _ => None,
        })
        .unwrap()
}

#[tokio::test]
async fn a_file_through_the_lossy_link_tcp_intact_and_udp_names_what_never_came_back() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    if !impair_on(&c) {
        return;
    }
    let file = known_file(100_000);
    // The hash of what should come back, computed here, not by the bridge.
    let expected = sha256_hex(&file.to_ascii_uppercase());

    // TCP through 10 % loss: the same bytes come back; the kernel retransmitted.
    let lossy = Impair {
        loss_pct: 10,
        seed: 4,
        ..Impair::default()
    };
    start(&mut c, 1, spec(Transport::Tcp, lossy)).await;
    let tcp = send_file(&mut c, 1, 1, Transport::Tcp, &file, 1024).await;
    assert_eq!(tcp.sha256_expected, expected);
    assert_eq!(tcp.sha256_echoed, expected, "every byte, in order");
    assert!(tcp.retransmitted.is_some_and(|n| n > 0), "{tcp:?}");

    // UDP through 20 % loss and some reordering: what never came back is named, and it is
    // exactly what the link dropped — read from the lost packets' own bytes, either way.
    let udp_link = Impair {
        loss_pct: 20,
        reorder_pct: 10,
        seed: 4,
        ..Impair::default()
    };
    let port = start(&mut c, 2, spec(Transport::Udp, udp_link)).await;
    let udp = send_file(&mut c, 2, 2, Transport::Udp, &file, 1024).await;
    let p = &udp.progress;
    assert_eq!(udp.sha256_expected, expected);
    assert_eq!(p.sends, 100_000u64.div_ceil(1024 - 11));
    let mut dropped: Vec<u64> = c
        .seen
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Packet {
                data, lost: true, ..
            } => {
                let packet = SlicedPacket::from_ethernet(&data.0).ok()?;
                match packet.transport? {
                    TransportSlice::Udp(u)
                        if u.source_port() == port || u.destination_port() == port =>
                    {
                        // Each datagram starts with its number: "0000000012:".
                        std::str::from_utf8(u.payload().get(..10)?)
                            .ok()?
                            .parse()
                            .ok()
                    }
                    _ => None,
                }
            }
            _ => None,
        })
        .collect();
    dropped.sort();
    dropped.dedup();
    assert!(!dropped.is_empty(), "the link dropped some");
    assert_eq!(
        udp.lost,
        dropped.len() as u64,
        "lost = what the link dropped"
    );
    assert_eq!(p.recvs, p.sends - udp.lost);
    assert_eq!(udp.missing, dropped[..dropped.len().min(20)], "named");
    assert_ne!(udp.sha256_echoed, expected, "the echo is not the file");

    // A server that reads 512 bytes of 1024-byte datagrams: every echo is cut to what the
    // server read (its header and 501 bytes of file), and each is counted truncated.
    let small = LabSpec {
        recv_buffer: 512,
        ..LabSpec::tutorial(Transport::Udp)
    };
    start(&mut c, 3, small).await;
    let cut = send_file(&mut c, 3, 3, Transport::Udp, &file[..20_000], 1024).await;
    let p = &cut.progress;
    assert_eq!(p.recvs, p.sends, "nothing lost on a perfect link");
    assert_eq!(p.bytes_echoed, p.recvs * (512 - 11));
    assert_eq!(p.truncated, p.recvs);
}
