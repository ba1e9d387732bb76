//! Every experiment of the lab, driven through the real relay as the console drives it, each
//! asserting the real kernel effect. Timing-sensitive ones assert the effect with margins (a
//! 100 ms server delay against back-to-back sends), never exact timings.

mod common;

use common::{Client, PATIENCE, connect, lab, lab_with};
use protocol::{
    CloseBy, Command, ErrorCode, EventBody, FileSource, Framing, LabSpec, ServerSide, SocketId,
    Target, Transport,
};
use std::time::Duration;

fn tcp_lab(tweak: impl FnOnce(&mut LabSpec)) -> LabSpec {
    let mut spec = LabSpec::tutorial(Transport::Tcp);
    tweak(&mut spec);
    spec
}

async fn start_lab(c: &mut Client, server: u32, spec: LabSpec) {
    c.send(Command::LabStart { server, spec }).await;
    c.until(
        "lab_started",
        |b| matches!(b, EventBody::LabStarted { server: s, .. } if *s == server),
    )
    .await;
}

/// The server's reads (TCP `recv`) of socket `id` seen so far.
fn server_reads(c: &Client, id: SocketId) -> Vec<Vec<u8>> {
    c.seen
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Server {
                id: i,
                op: ServerSide::Recv { data },
            } if *i == id => Some(data.0.clone()),
            _ => None,
        })
        .collect()
}

fn total(chunks: &[Vec<u8>]) -> usize {
    chunks.iter().map(Vec::len).sum()
}

async fn connected(c: &mut Client, id: SocketId) {
    c.until(
        "tcp_connected",
        |b| matches!(b, EventBody::TcpConnected { id: i, .. } if *i == id),
    )
    .await;
}

// ---- 1. Sticky packets vs datagram boundaries ----

#[tokio::test]
async fn sticky_five_tcp_sends_arrive_in_fewer_reads_five_datagrams_stay_five() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    start_lab(&mut c, 1, tcp_lab(|s| s.read_delay_ms = 100)).await;
    let udp = LabSpec {
        read_delay_ms: 100,
        ..LabSpec::tutorial(Transport::Udp)
    };
    start_lab(&mut c, 2, udp).await;

    c.send(Command::TcpConnect {
        id: 1,
        to: Target::Lab(1),
    })
    .await;
    connected(&mut c, 1).await;
    let messages = ["a", "b", "c", "d", "e"].map(Into::into).to_vec();
    c.send(Command::TcpSendBurst {
        id: 1,
        messages,
        framing: Framing::None,
    })
    .await;
    for (i, m) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        let to = Target::Lab(2);
        c.send(Command::UdpSend {
            id: 2,
            data: (*m).into(),
            to,
            connected: false,
        })
        .await;
        let _ = i;
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while total(&server_reads(&c, 1)) < 5 {
        assert!(tokio::time::Instant::now() < deadline, "{:#?}", c.seen);
        c.next().await;
    }
    let reads = server_reads(&c, 1);
    assert!(
        reads.len() < 5,
        "five sends, {} reads: {reads:?}",
        reads.len()
    );
    assert_eq!(
        reads.concat(),
        b"abcde",
        "the stream keeps every byte, in order"
    );

    let datagrams = |c: &Client| -> Vec<Vec<u8>> {
        c.seen
            .iter()
            .filter_map(|e| match &e.body {
                EventBody::Server {
                    id: 2,
                    op: ServerSide::RecvFrom { data, .. },
                } => Some(data.0.clone()),
                _ => None,
            })
            .collect()
    };
    while datagrams(&c).len() < 5 {
        assert!(tokio::time::Instant::now() < deadline, "{:#?}", c.seen);
        c.next().await;
    }
    assert_eq!(
        datagrams(&c),
        [b"a", b"b", b"c", b"d", b"e"],
        "each datagram stays whole"
    );
}

#[tokio::test]
async fn framing_rebuilds_the_original_messages_from_the_merged_stream() {
    for framing in [Framing::Length, Framing::Delimiter] {
        let lab = lab().await;
        let mut c = connect(&lab).await;
        start_lab(
            &mut c,
            1,
            tcp_lab(|s| {
                s.read_delay_ms = 100;
                s.framing = framing;
            }),
        )
        .await;
        c.send(Command::TcpConnect {
            id: 1,
            to: Target::Lab(1),
        })
        .await;
        connected(&mut c, 1).await;
        let messages = ["a", "bb", "héllo", "d", "e"].map(Into::into).to_vec();
        c.send(Command::TcpSendBurst {
            id: 1,
            messages,
            framing,
        })
        .await;
        let mut rebuilt = vec![];
        while rebuilt.len() < 5 {
            if let EventBody::Server {
                op: ServerSide::Message { data },
                ..
            } = c
                .until("a message", |b| {
                    matches!(
                        b,
                        EventBody::Server {
                            op: ServerSide::Message { .. },
                            ..
                        }
                    )
                })
                .await
            {
                rebuilt.push(String::from_utf8(data.0).unwrap());
            }
        }
        assert_eq!(rebuilt, ["a", "bb", "héllo", "d", "e"], "{framing:?}");
        assert!(
            server_reads(&c, 1).len() < 5,
            "{framing:?}: the raw reads were merged"
        );
    }
}

// ---- 2. Empty message ----

#[tokio::test]
async fn an_empty_tcp_send_puts_nothing_on_the_wire_an_empty_datagram_is_delivered() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    c.send(Command::tcp_connect(1)).await;
    connected(&mut c, 1).await;
    c.send(Command::TcpSend {
        id: 1,
        data: "".into(),
    })
    .await;
    c.until("tcp_sent 0", |b| *b == EventBody::TcpSent { id: 1, len: 0 })
        .await;
    // The server's recv() does not wake: nothing arrives, nothing is echoed. (Other events —
    // the kernel's TCP state, captured handshake packets — may still come meanwhile.)
    let later = c.events_for(Duration::from_millis(500)).await;
    assert!(server_reads(&c, 1).is_empty(), "{later:#?}");
    assert!(
        !later
            .iter()
            .any(|b| matches!(b, EventBody::TcpReceived { .. })),
        "{later:#?}"
    );

    c.send(Command::udp_send(2, "")).await;
    let got = c
        .until("recv_from", |b| {
            matches!(
                b,
                EventBody::Server {
                    op: ServerSide::RecvFrom { .. },
                    ..
                }
            )
        })
        .await;
    let EventBody::Server {
        op: ServerSide::RecvFrom { data, size, peer },
        ..
    } = got
    else {
        panic!()
    };
    assert_eq!((data.len(), size), (0, 0));
    assert!(
        peer.ip().is_loopback(),
        "recvfrom returns the sender's address"
    );
    let echo = c
        .until("udp echo", |b| matches!(b, EventBody::UdpReceived { .. }))
        .await;
    assert!(matches!(echo, EventBody::UdpReceived { data, .. } if data.is_empty()));
}

// ---- 3. Bigger than the buffer ----

#[tokio::test]
async fn three_thousand_bytes_tcp_reads_in_chunks_udp_keeps_the_first_1024() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    let big: Vec<u8> = (0..3000).map(|i| b'a' + (i % 26) as u8).collect();
    c.send(Command::tcp_connect(1)).await;
    c.send(Command::TcpSend {
        id: 1,
        data: big.clone().into(),
    })
    .await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let echoed = |c: &Client| -> usize {
        c.seen
            .iter()
            .map(|e| match &e.body {
                EventBody::TcpReceived { data, .. } => data.len(),
                _ => 0,
            })
            .sum()
    };
    while echoed(&c) < 3000 {
        assert!(tokio::time::Instant::now() < deadline, "{:#?}", c.seen);
        c.next().await;
    }
    let reads = server_reads(&c, 1);
    assert!(
        reads.len() >= 3,
        "3000 bytes need at least 3 recv(1024): {}",
        reads.len()
    );
    assert!(reads.iter().all(|r| r.len() <= 1024));
    assert_eq!(reads.concat(), big, "echoed whole");

    c.send(Command::udp_send(2, big.clone())).await;
    let got = c
        .until("recv_from", |b| {
            matches!(
                b,
                EventBody::Server {
                    op: ServerSide::RecvFrom { .. },
                    ..
                }
            )
        })
        .await;
    let EventBody::Server {
        op: ServerSide::RecvFrom { data, size, .. },
        ..
    } = got
    else {
        panic!()
    };
    assert_eq!(
        (data.len(), size),
        (1024, 3000),
        "the kernel discarded 1976 bytes"
    );
    let echo = c
        .until("udp echo", |b| matches!(b, EventBody::UdpReceived { .. }))
        .await;
    assert!(matches!(echo, EventBody::UdpReceived { data, .. } if data.len() == 1024));

    // Over 65,507 bytes a UDP datagram cannot exist: sendto() fails.
    c.send(Command::udp_send(2, vec![b'x'; 65_508])).await;
    let err = c
        .until("an error", |b| matches!(b, EventBody::Error { .. }))
        .await;
    let EventBody::Error { os: Some(os), .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(os.name, "EMSGSIZE");
    c.send(Command::udp_send(2, vec![b'x'; 65_507])).await;
    c.until("sent", |b| {
        matches!(b, EventBody::UdpSent { len: 65_507, .. })
    })
    .await;
}

#[tokio::test]
async fn a_smaller_lab_buffer_cuts_reads_smaller() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    start_lab(&mut c, 1, tcp_lab(|s| s.recv_buffer = 100)).await;
    c.send(Command::TcpConnect {
        id: 1,
        to: Target::Lab(1),
    })
    .await;
    c.send(Command::TcpSend {
        id: 1,
        data: vec![b'a'; 1000].into(),
    })
    .await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while total(&server_reads(&c, 1)) < 1000 {
        assert!(tokio::time::Instant::now() < deadline);
        c.next().await;
    }
    let reads = server_reads(&c, 1);
    assert!(
        reads.len() >= 10 && reads.iter().all(|r| r.len() <= 100),
        "{}",
        reads.len()
    );
}

// ---- 4. Nobody listening ----

#[tokio::test]
async fn nobody_listening_tcp_is_refused_udp_hears_nothing_unless_connected() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    c.send(Command::TcpConnect {
        id: 1,
        to: Target::Nobody,
    })
    .await;
    let err = c
        .until("an error", |b| matches!(b, EventBody::Error { .. }))
        .await;
    let EventBody::Error {
        id: Some(1),
        os: Some(os),
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        os.name, "ECONNREFUSED",
        "the kernel answered the SYN with RST"
    );

    let unconnected = Command::UdpSend {
        id: 2,
        data: "hello?".into(),
        to: Target::Nobody,
        connected: false,
    };
    c.send(unconnected).await;
    let sent = c
        .until("udp_sent", |b| {
            matches!(b, EventBody::UdpSent { id: 2, .. })
        })
        .await;
    assert!(
        matches!(
            sent,
            EventBody::UdpSent {
                connected: false,
                ..
            }
        ),
        "sendto() on an unconnected socket: {sent:?}"
    );
    let silence = c
        .until("no reply", |b| {
            matches!(b, EventBody::UdpNoReply { .. } | EventBody::Error { .. })
        })
        .await;
    assert_eq!(
        silence,
        EventBody::UdpNoReply {
            id: 2,
            waited_ms: 2000
        },
        "the send 'succeeded'"
    );

    let connected_udp = Command::UdpSend {
        id: 3,
        data: "hello?".into(),
        to: Target::Nobody,
        connected: true,
    };
    c.send(connected_udp).await;
    let sent = c
        .until("udp_sent", |b| {
            matches!(b, EventBody::UdpSent { id: 3, .. })
        })
        .await;
    assert!(
        matches!(
            sent,
            EventBody::UdpSent {
                connected: true,
                ..
            }
        ),
        "send() on the connected socket, and the event says so: {sent:?}"
    );
    let err = c
        .until("an error", |b| {
            matches!(b, EventBody::Error { id: Some(3), .. })
        })
        .await;
    let EventBody::Error { os: Some(os), .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        os.name, "ECONNREFUSED",
        "ICMP port unreachable, reported on the connected socket"
    );
}

// ---- 5. One at a time vs concurrent, and the listen(5) queue ----

#[tokio::test]
async fn one_at_a_time_later_clients_wait_and_a_full_accept_queue_leaves_connects_pending() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    start_lab(&mut c, 1, tcp_lab(|s| s.one_at_a_time = true)).await;
    let to = Target::Lab(1);
    c.send(Command::TcpConnect { id: 1, to }).await;
    c.send(Command::TcpSend {
        id: 1,
        data: "first".into(),
    })
    .await;
    c.until("echo 1", |b| {
        matches!(b, EventBody::TcpReceived { id: 1, .. })
    })
    .await;

    // Six more: the kernel completes their handshakes and queues them (backlog 5 → 6 fit).
    for id in 2..=7 {
        c.send(Command::TcpConnect { id, to }).await;
        connected(&mut c, id).await;
    }
    // The queue's report may have come while the connects were awaited: it is in `seen`.
    c.seen_or_until("queue of 6", |b| {
        matches!(
            b,
            EventBody::ListenQueue {
                queued: 6,
                backlog: 5,
                ..
            }
        )
    })
    .await;
    c.send(Command::TcpSend {
        id: 2,
        data: "second".into(),
    })
    .await;
    // The eighth: its SYNs are dropped while the queue is full; connect() hangs.
    c.send(Command::TcpConnect { id: 8, to }).await;
    let wait = tokio::time::Instant::now() + Duration::from_millis(1500);
    while let Ok(event) = tokio::time::timeout_at(wait, c.next()).await {
        assert!(
            !matches!(event.body, EventBody::TcpConnected { id: 8, .. }),
            "8 must not connect"
        );
        assert!(
            !matches!(event.body, EventBody::TcpReceived { id: 2, .. }),
            "2 waits for 1"
        );
    }
    // The kernel counted the dropped SYN (ListenOverflows), and the lab reports it.
    let over = c
        .seen_or_until(
            "an overflow count",
            |b| matches!(b, EventBody::ListenQueue { overflows: Some(n), .. } if *n > 0),
        )
        .await;
    assert!(
        matches!(over, EventBody::ListenQueue { queued: 6, .. }),
        "{over:?}"
    );
    // Client 1 leaves: the server accepts 2, which gets its echo, and 8 fits in the queue.
    c.send(Command::TcpClose { id: 1 }).await;
    c.until_all(
        "echo 2 and 8 connected",
        ["echo 2", "8 connected"],
        |b| match b {
            EventBody::TcpReceived { id: 2, .. } => Some("echo 2"),
            EventBody::TcpConnected { id: 8, .. } => Some("8 connected"),
            _ => None,
        },
    )
    .await;
}

/// Commands pipelined behind a `connect()` that then fails are each answered (`unknown_id`,
/// saying why), never dropped without a word. The connect is made to hang first (its SYNs are
/// dropped by a full accept queue), so the commands surely wait behind it; stopping the server
/// then makes the next SYN meet a closed port: ECONNREFUSED.
#[tokio::test]
async fn commands_waiting_behind_a_connect_that_fails_are_each_answered() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    start_lab(
        &mut c,
        1,
        tcp_lab(|s| {
            s.one_at_a_time = true;
            s.backlog = 1;
        }),
    )
    .await;
    let to = Target::Lab(1);
    // One served, two queued (backlog 1 → 2 fit): the queue is full.
    for id in 1..=3 {
        c.send(Command::TcpConnect { id, to }).await;
        connected(&mut c, id).await;
    }
    c.seen_or_until("a full queue", |b| {
        matches!(b, EventBody::ListenQueue { queued: 2, .. })
    })
    .await;
    c.send(Command::TcpConnect { id: 4, to }).await;
    c.send(Command::TcpSend {
        id: 4,
        data: "a".into(),
    })
    .await;
    c.send(Command::TcpSendBurst {
        id: 4,
        messages: vec!["b".into(), "c".into()],
        framing: Default::default(),
    })
    .await;
    c.send(Command::TcpClose { id: 4 }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.send(Command::LabStop { server: 1 }).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let errors = loop {
        let errors: Vec<_> = c
            .seen
            .iter()
            .filter_map(|e| match &e.body {
                EventBody::Error {
                    id: Some(4),
                    code,
                    message,
                    os,
                    ..
                } => Some((*code, message.clone(), os.as_ref().map(|o| o.name.clone()))),
                _ => None,
            })
            .collect();
        if errors.len() >= 4 {
            break errors;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "four errors for 4, got {errors:#?}"
        );
        c.next().await;
    };
    assert!(
        !c.seen
            .iter()
            .any(|e| matches!(e.body, EventBody::TcpConnected { id: 4, .. })),
        "4 never connected"
    );
    assert_eq!(errors[0].0, ErrorCode::Os, "{errors:#?}");
    assert_eq!(errors[0].2.as_deref(), Some("ECONNREFUSED"), "{errors:#?}");
    for (code, message, _) in &errors[1..] {
        assert_eq!(*code, ErrorCode::UnknownId, "{errors:#?}");
        assert!(
            message.contains("TCP connection 4 did not open"),
            "{errors:#?}"
        );
    }
}

/// `lab_stop` on a stopped server says so (it used to answer nothing); a TCP connect to a UDP
/// lab server names the transports as the wire does.
#[tokio::test]
async fn stopping_a_stopped_lab_server_or_using_the_wrong_transport_is_answered() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    start_lab(&mut c, 1, tcp_lab(|_| {})).await;
    c.send(Command::LabStop { server: 1 }).await;
    c.until("lab_stopped", |b| {
        matches!(b, EventBody::LabStopped { server: 1 })
    })
    .await;
    c.send(Command::LabStop { server: 1 }).await;
    let err = c
        .until("an error", |b| matches!(b, EventBody::Error { .. }))
        .await;
    let EventBody::Error {
        server: Some(1),
        code: ErrorCode::UnknownServer,
        message,
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(message, "lab server 1 is stopped already");

    start_lab(&mut c, 2, LabSpec::tutorial(Transport::Udp)).await;
    c.send(Command::TcpConnect {
        id: 1,
        to: Target::Lab(2),
    })
    .await;
    let err = c
        .until("an error", |b| matches!(b, EventBody::Error { .. }))
        .await;
    let EventBody::Error { message, .. } = err else {
        unreachable!()
    };
    assert_eq!(message, "lab server 2 does not serve tcp");
}

#[tokio::test]
async fn a_concurrent_server_serves_every_client_at_once() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    start_lab(&mut c, 1, tcp_lab(|_| {})).await;
    for id in 1..=8 {
        c.send(Command::TcpConnect {
            id,
            to: Target::Lab(1),
        })
        .await;
        c.send(Command::TcpSend {
            id,
            data: "hi".into(),
        })
        .await;
    }
    c.until_all("echo", 1..=8, |b| match b {
        EventBody::TcpReceived { id, .. } => Some(*id),
        _ => None,
    })
    .await;
}

// ---- 6. TIME_WAIT and SO_REUSEADDR ----

#[tokio::test]
async fn the_active_closer_keeps_time_wait_and_only_so_reuseaddr_restarts_on_the_port() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    start_lab(&mut c, 1, tcp_lab(|_| {})).await;
    c.send(Command::TcpConnect {
        id: 1,
        to: Target::Lab(1),
    })
    .await;
    connected(&mut c, 1).await;
    c.send(Command::LabCloseClients { server: 1 }).await;
    let closed = c
        .until("closed", |b| matches!(b, EventBody::TcpClosed { .. }))
        .await;
    assert_eq!(
        closed,
        EventBody::TcpClosed {
            id: 1,
            by: CloseBy::Server
        }
    );
    let tw = c
        .until("TIME_WAIT", |b| {
            matches!(b, EventBody::KernelSockets { sockets, .. } if sockets.iter().any(|s| s.state == "TIME_WAIT"))
        })
        .await;
    let EventBody::KernelSockets { sockets, .. } = tw else {
        unreachable!()
    };
    let left = sockets
        .iter()
        .find(|s| s.state == "TIME_WAIT")
        .and_then(|s| s.timer_ms)
        .unwrap();
    assert!(
        (1_000..=60_000).contains(&left),
        "about a minute to go: {left} ms"
    );

    c.send(Command::LabRestart {
        server: 1,
        reuseaddr: false,
    })
    .await;
    let err = c
        .until("bind error", |b| matches!(b, EventBody::Error { .. }))
        .await;
    let EventBody::Error {
        os: Some(os),
        message,
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(os.name, "EADDRINUSE", "{message}");
    c.send(Command::LabRestart {
        server: 1,
        reuseaddr: true,
    })
    .await;
    let started = c
        .until("restarted", |b| {
            matches!(b, EventBody::LabStarted { .. } | EventBody::Error { .. })
        })
        .await;
    assert!(
        matches!(started, EventBody::LabStarted { server: 1, spec, .. } if spec.reuseaddr),
        "{started:?}"
    );
}

#[tokio::test]
async fn time_wait_keeps_the_first_servers_setting_so_reuseaddr_alone_cannot_restart_it() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    // The first server without SO_REUSEADDR; the connection it accepted inherits that.
    start_lab(&mut c, 1, tcp_lab(|s| s.reuseaddr = false)).await;
    c.send(Command::TcpConnect {
        id: 1,
        to: Target::Lab(1),
    })
    .await;
    connected(&mut c, 1).await;
    c.send(Command::LabCloseClients { server: 1 }).await;
    c.seen_or_until("TIME_WAIT", |b| {
        matches!(b, EventBody::KernelSockets { sockets, .. } if sockets.iter().any(|s| s.state == "TIME_WAIT"))
    })
    .await;
    // Now even a restart *with* SO_REUSEADDR fails: the TIME_WAIT socket does not have it.
    c.send(Command::LabRestart {
        server: 1,
        reuseaddr: true,
    })
    .await;
    let err = c
        .until("bind error", |b| {
            matches!(b, EventBody::Error { .. } | EventBody::LabStarted { .. })
        })
        .await;
    let EventBody::Error { os: Some(os), .. } = &err else {
        panic!("the restart must fail: {err:?}")
    };
    assert_eq!(os.name, "EADDRINUSE");
}

// ---- 7. Sending a file ----

#[tokio::test]
async fn a_generated_mebibyte_streams_over_tcp_and_comes_back_with_a_matching_hash() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    let source = FileSource::Generated { size: 1 << 20 };
    c.send(Command::FileStart {
        id: 1,
        transport: Transport::Tcp,
        to: Target::Echo,
        source,
        datagram: 1024,
    })
    .await;
    let done = c
        .until("file_done", |b| matches!(b, EventBody::FileDone { .. }))
        .await;
    let EventBody::FileDone { result, .. } = done else {
        unreachable!()
    };
    assert_eq!(result.progress.bytes_sent, 1 << 20);
    assert_eq!(result.progress.bytes_echoed, 1 << 20);
    assert_eq!(
        result.sha256_expected, result.sha256_echoed,
        "the stream came back intact"
    );
    assert!(
        result.progress.sends > 10_000,
        "one send() per line: {}",
        result.progress.sends
    );
    assert!(!result.cancelled);
}

#[tokio::test]
async fn a_file_over_udp_is_counted_datagram_by_datagram() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    let source = FileSource::Generated { size: 50_000 };
    c.send(Command::FileStart {
        id: 1,
        transport: Transport::Udp,
        to: Target::Echo,
        source,
        datagram: 1024,
    })
    .await;
    let done = c
        .until("file_done", |b| matches!(b, EventBody::FileDone { .. }))
        .await;
    let EventBody::FileDone { result, .. } = done else {
        unreachable!()
    };
    let p = &result.progress;
    assert_eq!(
        p.sends,
        50_000u64.div_ceil(1024 - 11),
        "numbered datagrams of at most 1024 bytes"
    );
    // On loopback to the shared server (a big receive buffer) every datagram comes back
    // whole: counted as received, and every byte of the file echoed. (Loss, reordering and
    // truncation, and the datagrams named as missing, are checked against a real lossy link and
    // a small-buffer server in lossy.rs.)
    assert_eq!(p.recvs, p.sends, "{result:?}");
    assert_eq!(result.lost, 0);
    assert_eq!(p.bytes_echoed, 50_000);
    assert_eq!(result.sha256_echoed, result.sha256_expected);
}

/// Uploads a file of the declared `size` as `chunks` over TCP (transfer 1); its result.
async fn upload(c: &mut Client, size: u64, chunks: &[&str]) -> protocol::FileResult {
    let source = FileSource::Upload {
        name: "notes.txt".into(),
        size,
    };
    c.send(Command::FileStart {
        id: 1,
        transport: Transport::Tcp,
        to: Target::Echo,
        source,
        datagram: 1024,
    })
    .await;
    for chunk in chunks {
        let data = (*chunk).into();
        c.send(Command::FileChunk { id: 1, data }).await;
    }
    let done = c
        .until("file_done", |b| {
            matches!(b, EventBody::FileDone { id: 1, .. })
        })
        .await;
    let EventBody::FileDone { result, .. } = done else {
        unreachable!()
    };
    result
}

#[tokio::test]
async fn an_uploaded_file_and_a_cancelled_transfer() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    let result = upload(&mut c, 11, &["hello\nwor", "ld"]).await;
    assert_eq!(result.progress.sends, 2, "two lines, two send() calls");
    assert_eq!(result.sha256_expected, result.sha256_echoed);

    let source = FileSource::Generated { size: 60 << 20 };
    c.send(Command::FileStart {
        id: 2,
        transport: Transport::Tcp,
        to: Target::Echo,
        source,
        datagram: 1024,
    })
    .await;
    c.until("progress", |b| {
        matches!(b, EventBody::FileProgress { id: 2, .. })
    })
    .await;
    c.send(Command::FileCancel { id: 2 }).await;
    let done = c
        .until("file_done", |b| {
            matches!(b, EventBody::FileDone { id: 2, .. })
        })
        .await;
    let EventBody::FileDone { result, .. } = done else {
        unreachable!()
    };
    assert!(result.cancelled && result.progress.bytes_sent < 60 << 20);
}

/// An upload's chunks that go past its declared size are not sent, and the learner is told
/// how many bytes were left out (they used to vanish without a word).
#[tokio::test]
async fn an_upload_longer_than_declared_says_what_was_left_out() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    let result = upload(&mut c, 5, &["hello world"]).await;
    assert_eq!(result.progress.bytes_sent, 5);
    let told = c.seen.iter().find_map(|e| match &e.body {
        EventBody::Error {
            id: Some(1),
            code: ErrorCode::TooLarge,
            message,
            ..
        } => Some(message.clone()),
        _ => None,
    });
    let told = told.expect("an error about the extra bytes, before file_done");
    assert!(told.contains("6 bytes more"), "{told}");
}

/// A transfer to a port where nobody listens fails as a connect does: saying where to.
#[tokio::test]
async fn a_refused_transfer_says_where_it_tried_to_connect() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    c.send(Command::FileStart {
        id: 1,
        transport: Transport::Tcp,
        to: Target::Nobody,
        source: FileSource::Generated { size: 1000 },
        datagram: 1024,
    })
    .await;
    let err = c
        .until("an error", |b| {
            matches!(b, EventBody::Error { id: Some(1), .. })
        })
        .await;
    let EventBody::Error { message, os, .. } = err else {
        unreachable!()
    };
    assert!(message.starts_with("connect() to 127.0.0.1:"), "{message}");
    assert_eq!(os.map(|o| o.name).as_deref(), Some("ECONNREFUSED"));
}

// ---- 8. Other clients ----

#[tokio::test]
async fn other_clients_are_shown_only_with_the_flag() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for show in [false, true] {
        let flags: &[&str] = if show { &["--show-other-clients"] } else { &[] };
        let lab = lab_with(flags).await;
        let mut c = connect(&lab).await;
        // The tutorial's Python client, as a plain socket outside any session.
        let mut python = tokio::net::TcpStream::connect(lab.tcp_addr())
            .await
            .unwrap();
        python.write_all(b"from python").await.unwrap();
        let mut echo = [0u8; 11];
        python.read_exact(&mut echo).await.unwrap();
        if show {
            let seen = c
                .until("other client", |b| {
                    matches!(
                        b,
                        EventBody::OtherClient {
                            op: ServerSide::Recv { .. },
                            ..
                        }
                    )
                })
                .await;
            let EventBody::OtherClient {
                transport,
                client,
                op: ServerSide::Recv { data },
            } = seen
            else {
                unreachable!()
            };
            assert_eq!(transport, Transport::Tcp);
            assert_eq!(client, python.local_addr().unwrap());
            assert_eq!(data.0, b"from python");
        } else {
            c.quiet_for(Duration::from_millis(300)).await;
        }
    }
}

#[tokio::test]
async fn lab_server_commands_are_checked() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    let too_slow = tcp_lab(|s| s.read_delay_ms = 60_000);
    c.send(Command::LabStart {
        server: 1,
        spec: too_slow,
    })
    .await;
    let err = c
        .until("error", |b| matches!(b, EventBody::Error { .. }))
        .await;
    assert!(
        matches!(
            err,
            EventBody::Error {
                code: ErrorCode::BadSpec,
                ..
            }
        ),
        "{err:?}"
    );
    c.send(Command::TcpConnect {
        id: 1,
        to: Target::Lab(9),
    })
    .await;
    let err = c
        .until("error", |b| matches!(b, EventBody::Error { .. }))
        .await;
    assert!(
        matches!(
            err,
            EventBody::Error {
                code: ErrorCode::UnknownServer,
                id: Some(1),
                ..
            }
        ),
        "{err:?}"
    );
    for server in 1..=10 {
        start_lab(&mut c, server, tcp_lab(|_| {})).await;
    }
    // The same id again replaces that server: still ten, with the new settings.
    let spec = tcp_lab(|s| s.recv_buffer = 10);
    c.send(Command::LabStart { server: 1, spec }).await;
    let again = c
        .until("replaced", |b| {
            matches!(b, EventBody::LabStarted { server: 1, .. })
        })
        .await;
    assert!(matches!(again, EventBody::LabStarted { spec, .. } if spec.recv_buffer == 10));
    c.send(Command::LabStart {
        server: 11,
        spec: tcp_lab(|_| {}),
    })
    .await;
    let err = c
        .until("error", |b| matches!(b, EventBody::Error { .. }))
        .await;
    assert!(
        matches!(
            err,
            EventBody::Error {
                code: ErrorCode::TooManyServers,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_sessions_lab_servers_stop_when_the_session_ends() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    c.send(Command::LabStart {
        server: 1,
        spec: tcp_lab(|_| {}),
    })
    .await;
    let started = c
        .until("lab_started", |b| matches!(b, EventBody::LabStarted { .. }))
        .await;
    let EventBody::LabStarted { addr, .. } = started else {
        unreachable!()
    };
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_ok(),
        "it serves"
    );
    drop(c); // the tab is closed
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lab server outlived its session"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_file_transfer_is_never_shown_to_others_as_another_client() {
    let lab = lab_with(&["--show-other-clients"]).await;
    let mut a = connect(&lab).await;
    let mut b = connect(&lab).await;
    let source = FileSource::Generated { size: 64 * 1024 };
    a.send(Command::FileStart {
        id: 1,
        transport: Transport::Tcp,
        to: Target::Echo,
        source,
        datagram: 1024,
    })
    .await;
    a.until("file_done", |e| matches!(e, EventBody::FileDone { .. }))
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
    while let Ok(event) = tokio::time::timeout_at(deadline, b.next()).await {
        assert!(
            !matches!(
                event.body,
                EventBody::OtherClient { .. } | EventBody::Packet { .. }
            ),
            "b saw a's transfer: {event:?}"
        );
    }
}

/// Connection 1 to a lab server that waits `delay_ms` before its own close(), then our close
/// (our FIN).
async fn close_to_a_waiting_server(c: &mut Client, delay_ms: u32) {
    start_lab(c, 8, tcp_lab(|s| s.close_delay_ms = delay_ms)).await;
    c.send(Command::TcpConnect {
        id: 1,
        to: Target::Lab(8),
    })
    .await;
    connected(c, 1).await;
    c.send(Command::TcpClose { id: 1 }).await;
}

/// After our `shutdown(SHUT_WR)`, a `tcp_send` is still a real `send()`: the kernel answers
/// EPIPE, and the learner sees it. A second `tcp_close` is refused: our FIN is already out.
#[tokio::test]
async fn a_send_after_our_fin_gets_the_kernels_epipe() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    // The server waits before its own close, so the connection stays half-closed meanwhile.
    close_to_a_waiting_server(&mut c, 3000).await;
    c.send(Command::TcpSend {
        id: 1,
        data: "late".into(),
    })
    .await;
    c.send(Command::TcpClose { id: 1 }).await;
    let mut errors = vec![];
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while errors.len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "two errors for 1, got {errors:?}"
        );
        if let EventBody::Error {
            id: Some(1),
            code,
            os,
            ..
        } = c.next().await.body
        {
            errors.push((code, os.map(|o| o.name)));
        }
    }
    assert_eq!(errors[0], (ErrorCode::Os, Some("EPIPE".to_string())));
    assert_eq!(errors[1], (ErrorCode::BadCommand, None));
    // The connection still ends as it should, when the server closes its side.
    c.until("tcp_closed", |b| {
        matches!(b, EventBody::TcpClosed { id: 1, .. })
    })
    .await;
}

/// The four-way teardown's server waits before close(): it says how long, and its close()
/// really comes that long after the client's FIN reached it (so the log's "recv() returned 0"
/// is not stamped at the close).
#[tokio::test]
async fn a_server_that_waits_before_close_says_how_long_after_the_fin() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    close_to_a_waiting_server(&mut c, 200).await;
    let closing_at = loop {
        let event = c.next().await;
        if matches!(event.body, EventBody::TcpClosing { id: 1 }) {
            break event.t_us;
        }
    };
    let (close_at, waited) = loop {
        let event = c.next().await;
        if let EventBody::Server {
            id: 1,
            op: ServerSide::Close { waited_ms, .. },
        } = event.body
        {
            break (event.called_us.unwrap_or(event.t_us), waited_ms);
        }
    };
    assert_eq!(waited, Some(200));
    assert!(
        close_at >= closing_at + 200_000,
        "close() entered {close_at} µs, the client's close returned {closing_at} µs"
    );
}
