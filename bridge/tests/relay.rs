//! The relay, driven by a real WebSocket client in-process: every event must come from a real
//! socket call, in order, for this session only.

mod common;

use common::{PATIENCE, connect, lab, lab_with};
use protocol::{CloseBy, Command, ErrorCode, EventBody, ServerSide};
use std::time::Duration;

fn data_of(body: &EventBody) -> Vec<u8> {
    match body {
        EventBody::TcpReceived { data, .. } | EventBody::UdpReceived { data, .. } => data.0.clone(),
        other => panic!("no data in {other:?}"),
    }
}

#[tokio::test]
async fn hello_names_the_labs_servers_and_limits() {
    let lab = lab_with(&["--max-message", "1000", "--max-sockets", "3"]).await;
    let c = connect(&lab).await;
    let EventBody::Hello {
        tcp_server,
        udp_server,
        limits,
        show_other_clients: false,
        ..
    } = &c.seen[0].body
    else {
        panic!("{:?}", c.seen)
    };
    assert_eq!(*tcp_server, lab.tcp_addr());
    assert_eq!(*udp_server, lab.udp_addr());
    assert_eq!((limits.max_message, limits.max_sockets), (1000, 3));
    c.close().await;
}

#[tokio::test]
async fn tcp_connect_send_echo_close_reports_both_ends_in_order() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    c.send(Command::tcp_connect(1)).await;
    let connected = c
        .until("tcp_connected", |b| {
            matches!(b, EventBody::TcpConnected { .. })
        })
        .await;
    let EventBody::TcpConnected {
        id: 1, local, peer, ..
    } = connected
    else {
        panic!()
    };
    assert_eq!(peer, lab.tcp_addr());
    assert!(local.ip().is_loopback() && local.port() != 0);

    c.send(Command::TcpSend {
        id: 1,
        data: "hello socket".into(),
    })
    .await;
    let echo = c
        .until("the echo", |b| matches!(b, EventBody::TcpReceived { .. }))
        .await;
    assert_eq!(data_of(&echo), b"HELLO SOCKET");

    c.send(Command::TcpClose { id: 1 }).await;
    let closed = c
        .until("tcp_closed", |b| matches!(b, EventBody::TcpClosed { .. }))
        .await;
    assert_eq!(
        closed,
        EventBody::TcpClosed {
            id: 1,
            by: CloseBy::Client
        }
    );

    // The server's side of the same connection, seen through the observer registry.
    let server: Vec<&ServerSide> = c
        .seen
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Server { id: 1, op } => Some(op),
            _ => None,
        })
        .collect();
    assert_eq!(
        server,
        [
            &ServerSide::Accept { peer: local },
            &ServerSide::Recv {
                data: "hello socket".into()
            },
            &ServerSide::Send { len: 12 },
            &ServerSide::Close {
                error: None,
                idle_s: None,
                active: false,
                waited_ms: None
            },
        ]
    );
    // Timestamps never go backwards, and the teardown comes in its real order:
    // our FIN (closing) → the server's recv() returns 0 and it closes → we read EOF.
    assert!(c.seen.windows(2).all(|w| w[0].t_us <= w[1].t_us));
    let pos =
        |pred: &dyn Fn(&EventBody) -> bool| c.seen.iter().position(|e| pred(&e.body)).unwrap();
    let sent = pos(&|b| matches!(b, EventBody::TcpSent { id: 1, len: 12 }));
    let server_recv = pos(&|b| {
        matches!(
            b,
            EventBody::Server {
                op: ServerSide::Recv { .. },
                ..
            }
        )
    });
    let received = pos(&|b| matches!(b, EventBody::TcpReceived { .. }));
    let server_close = pos(&|b| {
        matches!(
            b,
            EventBody::Server {
                op: ServerSide::Close { .. },
                ..
            }
        )
    });
    let closed = pos(&|b| matches!(b, EventBody::TcpClosed { .. }));
    assert!(server_recv < received && sent < received, "{:#?}", c.seen);
    assert!(server_close < closed, "{:#?}", c.seen);
}

#[tokio::test]
async fn udp_send_echo_and_the_empty_datagram() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    c.send(Command::udp_send(5, "héllo")).await;
    let sent = c
        .until("udp_sent", |b| matches!(b, EventBody::UdpSent { .. }))
        .await;
    let EventBody::UdpSent {
        id: 5,
        peer,
        len: 6,
        ..
    } = sent
    else {
        panic!("{sent:?}")
    };
    assert_eq!(peer, lab.udp_addr());
    let echo = c
        .until("udp_received", |b| {
            matches!(b, EventBody::UdpReceived { .. })
        })
        .await;
    assert_eq!(data_of(&echo), "HéLLO".as_bytes());

    c.send(Command::udp_send(5, "")).await;
    let echo = c
        .until("the empty echo", |b| {
            matches!(b, EventBody::UdpReceived { .. })
        })
        .await;
    assert_eq!(data_of(&echo), b"");
    assert!(c.seen.iter().any(|e| matches!(
        &e.body,
        EventBody::Server { id: 5, op: ServerSide::RecvFrom { data, .. } } if data.is_empty()
    )));

    c.send(Command::UdpClose { id: 5 }).await;
    c.until("udp_closed", |b| *b == EventBody::UdpClosed { id: 5 })
        .await;
}

#[tokio::test]
async fn a_dead_echo_server_gives_connection_refused_and_the_session_goes_on() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    lab.kill_tcp_echo();
    // The abort takes effect when the runtime next polls the server; wait until the port refuses.
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    while tokio::net::TcpStream::connect(lab.tcp_addr()).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the echo server never stopped"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    c.send(Command::tcp_connect(1)).await;
    let err = c
        .until("an error", |b| matches!(b, EventBody::Error { .. }))
        .await;
    let EventBody::Error {
        id: Some(1),
        code: ErrorCode::Os,
        os: Some(os),
        message,
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(os.name, "ECONNREFUSED");
    assert!(message.contains("connect()"), "{message}");
    // UDP still works in the same session.
    c.send(Command::udp_send(2, "ok")).await;
    let echo = c
        .until("udp echo", |b| matches!(b, EventBody::UdpReceived { .. }))
        .await;
    assert_eq!(data_of(&echo), b"OK");
}

/// Sends a bad frame, expects an error with `code`, then proves the session still works.
async fn bad_frame_then_still_working(frame: &str, code: ErrorCode, mention: &str) {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    c.send_text(frame).await;
    let err = c
        .until("an error", |b| matches!(b, EventBody::Error { .. }))
        .await;
    let EventBody::Error {
        code: got, message, ..
    } = err
    else {
        unreachable!()
    };
    assert_eq!(got, code, "{message}");
    assert!(
        message.contains(mention),
        "{message:?} should mention {mention:?}"
    );
    c.send(Command::udp_send(9, "alive")).await;
    let echo = c
        .until("udp echo", |b| matches!(b, EventBody::UdpReceived { .. }))
        .await;
    assert_eq!(data_of(&echo), b"ALIVE");
}

#[tokio::test]
async fn malformed_json_is_reported_and_the_session_stays_open() {
    bad_frame_then_still_working("{\"v\":1,", ErrorCode::BadJson, "JSON").await;
}

#[tokio::test]
async fn an_unknown_command_is_reported_and_the_session_stays_open() {
    let frame = r#"{"v":1,"type":"tcp_connect_to","host":"example.com","port":80}"#;
    bad_frame_then_still_working(frame, ErrorCode::UnknownCommand, "tcp_connect_to").await;
}

#[tokio::test]
async fn a_wrong_version_and_bad_fields_are_reported() {
    bad_frame_then_still_working(
        r#"{"v":2,"type":"tcp_connect","id":1}"#,
        ErrorCode::BadVersion,
        "v1",
    )
    .await;
    bad_frame_then_still_working(
        r#"{"v":1,"type":"udp_send","id":1,"data":"!!"}"#,
        ErrorCode::BadCommand,
        "base64",
    )
    .await;
}

#[tokio::test]
async fn a_binary_frame_is_reported() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    c.send_raw(tokio_tungstenite::tungstenite::Message::binary(vec![
        1, 2, 3,
    ]))
    .await;
    let err = c
        .until("an error", |b| matches!(b, EventBody::Error { .. }))
        .await;
    assert!(matches!(
        err,
        EventBody::Error {
            code: ErrorCode::BinaryFrame,
            ..
        }
    ));
}

#[tokio::test]
async fn an_oversize_message_is_refused_and_nothing_is_sent() {
    let lab = lab_with(&["--max-message", "1000"]).await;
    let mut c = connect(&lab).await;
    c.send(Command::udp_send(1, vec![b'a'; 1001])).await;
    let err = c
        .until("an error", |b| matches!(b, EventBody::Error { .. }))
        .await;
    let EventBody::Error {
        code: ErrorCode::TooLarge,
        message,
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert!(
        message.contains("1001") && message.contains("1000"),
        "{message}"
    );
    // Exactly the limit is fine.
    c.send(Command::udp_send(1, vec![b'a'; 1000])).await;
    let sent = c
        .until("udp_sent", |b| matches!(b, EventBody::UdpSent { .. }))
        .await;
    assert!(matches!(sent, EventBody::UdpSent { len: 1000, .. }));
    assert!(
        !c.seen
            .iter()
            .any(|e| matches!(e.body, EventBody::UdpSent { len: 1001, .. }))
    );
}

#[tokio::test]
async fn too_many_sockets_duplicate_and_unknown_ids_are_reported() {
    let lab = lab_with(&["--max-sockets", "2"]).await;
    let mut c = connect(&lab).await;
    for id in [1, 2] {
        c.send(Command::tcp_connect(id)).await;
        c.until(
            "connected",
            |b| matches!(b, EventBody::TcpConnected { id: i, .. } if *i == id),
        )
        .await;
    }
    c.send(Command::tcp_connect(1)).await;
    let err = c
        .until("an error", |b| matches!(b, EventBody::Error { .. }))
        .await;
    assert!(matches!(
        err,
        EventBody::Error {
            code: ErrorCode::DuplicateId,
            id: Some(1),
            ..
        }
    ));
    c.send(Command::udp_send(3, "x")).await;
    let err = c
        .until("an error", |b| matches!(b, EventBody::Error { .. }))
        .await;
    assert!(matches!(
        err,
        EventBody::Error {
            code: ErrorCode::TooManySockets,
            id: Some(3),
            ..
        }
    ));
    c.send(Command::TcpSend {
        id: 7,
        data: "x".into(),
    })
    .await;
    let err = c
        .until("an error", |b| matches!(b, EventBody::Error { .. }))
        .await;
    assert!(matches!(
        err,
        EventBody::Error {
            code: ErrorCode::UnknownId,
            id: Some(7),
            ..
        }
    ));
    // Closing one frees a place.
    c.send(Command::TcpClose { id: 2 }).await;
    c.until("closed", |b| {
        matches!(b, EventBody::TcpClosed { id: 2, .. })
    })
    .await;
    // The session notices the socket is gone, then a new one may open.
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    loop {
        c.send(Command::udp_send(3, "x")).await;
        let got = c
            .until("sent or refused", |b| {
                matches!(b, EventBody::UdpSent { .. } | EventBody::Error { .. })
            })
            .await;
        if matches!(got, EventBody::UdpSent { .. }) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the closed socket's place never freed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sessions_never_see_each_others_connections() {
    let lab = lab().await;
    let mut a = connect(&lab).await;
    let mut b = connect(&lab).await;
    a.send(Command::tcp_connect(1)).await;
    a.send(Command::TcpSend {
        id: 1,
        data: "secret".into(),
    })
    .await;
    a.until("a's echo", |e| matches!(e, EventBody::TcpReceived { .. }))
        .await;
    a.send(Command::udp_send(2, "secret")).await;
    a.until("a's udp echo", |e| {
        matches!(e, EventBody::UdpReceived { .. })
    })
    .await;
    b.quiet_for(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_closed_tab_closes_its_connections_and_the_lab_keeps_serving() {
    let lab = lab().await;
    let mut a = connect(&lab).await;
    a.send(Command::tcp_connect(1)).await;
    let EventBody::TcpConnected { local, .. } = a
        .until("connected", |e| matches!(e, EventBody::TcpConnected { .. }))
        .await
    else {
        unreachable!()
    };
    // The kernel has the connection, ESTABLISHED (`ss` reads its table on its own) …
    assert!(established(local.port()), "ss lists the open connection");
    drop(a); // no close frame: the tab just vanished
    // … and the bridge closes it: the kernel no longer lists it as established, from either end.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while established(local.port()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the vanished tab's connection is still open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut b = connect(&lab).await;
    b.send(Command::tcp_connect(1)).await;
    b.send(Command::TcpSend {
        id: 1,
        data: "next".into(),
    })
    .await;
    let echo = b
        .until("echo", |e| matches!(e, EventBody::TcpReceived { .. }))
        .await;
    assert_eq!(data_of(&echo), b"NEXT");
}

/// Whether `ss` lists an ESTABLISHED TCP connection with `port` at either end.
fn established(port: u16) -> bool {
    let filter = format!("( sport = :{port} or dport = :{port} )");
    let out = std::process::Command::new("ss")
        .args(["-tnH", "state", "established", &filter])
        .output()
        .expect("ss (iproute2) runs");
    !String::from_utf8_lossy(&out.stdout).trim().is_empty()
}

/// The errors for socket `id` among the events seen so far, in order.
fn errors_for(c: &common::Client, id: u32) -> Vec<(ErrorCode, String)> {
    c.seen
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Error {
                id: Some(i),
                code,
                message,
                ..
            } if *i == id => Some((*code, message.clone())),
            _ => None,
        })
        .collect()
}

/// Datagrams queued behind a `udp_close` are each answered too.
#[tokio::test]
async fn commands_behind_a_udp_close_are_each_answered() {
    let lab = lab().await;
    let mut c = connect(&lab).await;
    c.send(Command::udp_send(1, "x")).await;
    c.send(Command::UdpClose { id: 1 }).await;
    c.send(Command::udp_send(1, "y")).await;
    c.send(Command::udp_send(1, "z")).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while errors_for(&c, 1).len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "two errors for socket 1, got {:#?}",
            c.seen
        );
        c.next().await;
    }
    for (code, message) in errors_for(&c, 1) {
        assert_eq!(code, ErrorCode::UnknownId);
        assert!(message.contains("UDP socket 1"), "{message}");
    }
    assert!(
        c.seen
            .iter()
            .any(|e| matches!(e.body, EventBody::UdpClosed { id: 1 }))
    );
}
