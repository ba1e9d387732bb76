//! The model, driven by the same events a real bridge sends (captured shapes, see
//! `bridge/tests/relay.rs` for the bridge producing them from real sockets).

use super::*;
use protocol::{CloseBy, ErrorCode, OsError};
use wasm_bindgen_test::wasm_bindgen_test;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const LOCAL: &str = "127.0.0.1:50000";
const TCP: &str = "127.0.0.1:8080";
const UDP: &str = "127.0.0.1:8081";

fn ev(t_us: u64, body: EventBody) -> Event {
    Event::new(t_us, body)
}

/// A model whose bridge is open and has said hello.
fn open_model() -> Model {
    let mut m = Model::new("ws://127.0.0.1:8000/ws");
    m.bridge_opened();
    m.apply(ev(
        0,
        EventBody::Hello {
            tcp_server: addr(TCP),
            udp_server: addr(UDP),
            tcp_server6: None,
            udp_server6: None,
            limits: Limits {
                max_message: 100,
                max_sockets: 4,
            },
            show_other_clients: false,
            capture: Default::default(),
            impair: Default::default(),
            started_unix_us: 0,
            bridge_version: String::new(),
            kernel: String::new(),
        },
    ));
    m.clear_log();
    m
}

fn whats(m: &Model) -> Vec<&What> {
    m.log().iter().map(|e| &e.what).collect()
}

#[wasm_bindgen_test(unsupported = test)]
fn send_via_tcp_connects_first_then_sends_and_shows_only_confirmed_facts() {
    let mut m = open_model();
    let cmds = m.send(Proto::Tcp, b"hello socket".to_vec());
    assert_eq!(
        cmds,
        [
            Command::TcpConnect {
                id: 1,
                to: Target::Echo
            },
            Command::TcpSend {
                id: 1,
                data: "hello socket".into()
            }
        ]
    );
    assert_eq!(m.tcp(), TcpConn::Connecting { id: 1 });
    assert!(
        m.log().iter().next().is_none(),
        "nothing is shown before the bridge reports it"
    );

    m.apply(ev(
        100,
        EventBody::TcpConnected {
            id: 1,
            local: addr(LOCAL),
            peer: addr(TCP),
            connect_us: 80,
        },
    ));
    assert_eq!(
        m.tcp(),
        TcpConn::Open {
            id: 1,
            local: addr(LOCAL),
            peer: addr(TCP)
        }
    );
    m.apply(ev(150, EventBody::TcpSent { id: 1, len: 12 }));
    m.apply(ev(
        210,
        EventBody::TcpReceived {
            id: 1,
            data: "HELLO SOCKET".into(),
        },
    ));
    assert_eq!(
        whats(&m),
        [
            &What::Connected {
                local: addr(LOCAL),
                peer: addr(TCP),
                connect_us: 80
            },
            &What::Sent {
                len: 12,
                data: Some(b"hello socket".to_vec()),
                from: addr(LOCAL),
                to: addr(TCP),
                connected: false
            },
            &What::Echo {
                data: b"HELLO SOCKET".to_vec(),
                from: addr(TCP),
                to: addr(LOCAL),
                rtt_us: Some(60)
            },
        ]
    );
    // The next send reuses the open connection.
    assert_eq!(
        m.send(Proto::Tcp, b"x".to_vec()),
        [Command::TcpSend {
            id: 1,
            data: "x".into()
        }]
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn only_the_first_read_after_a_send_gets_a_round_trip_time() {
    let mut m = open_model();
    m.send(Proto::Tcp, b"ab".to_vec());
    m.apply(ev(
        1,
        EventBody::TcpConnected {
            id: 1,
            local: addr(LOCAL),
            peer: addr(TCP),
            connect_us: 1,
        },
    ));
    m.apply(ev(10, EventBody::TcpSent { id: 1, len: 2 }));
    m.apply(ev(
        15,
        EventBody::TcpReceived {
            id: 1,
            data: "A".into(),
        },
    ));
    m.apply(ev(
        17,
        EventBody::TcpReceived {
            id: 1,
            data: "B".into(),
        },
    ));
    let rtts: Vec<_> = m
        .log()
        .iter()
        .filter_map(|e| match e.what {
            What::Echo { rtt_us, .. } => Some(rtt_us),
            _ => None,
        })
        .collect();
    assert_eq!(rtts, [Some(5), None]);
}

#[wasm_bindgen_test(unsupported = test)]
fn the_round_trip_the_calls_saw_starts_when_send_was_entered() {
    let mut m = open_model();
    m.send(Proto::Udp, b"ab".to_vec());
    let mut sent = ev(
        40,
        EventBody::UdpSent {
            id: 1,
            local: addr(LOCAL),
            peer: addr(UDP),
            len: 2,
            connected: false,
        },
    );
    // sendto() was entered at 30 µs and returned at 40 µs; the echo came back at 95 µs.
    sent.called_us = Some(30);
    m.apply(sent);
    m.apply(ev(
        95,
        EventBody::UdpReceived {
            id: 1,
            from: addr(UDP),
            data: "AB".into(),
        },
    ));
    let rtt = m.log().iter().find_map(|e| match e.what {
        What::Echo { rtt_us, .. } => Some(rtt_us),
        _ => None,
    });
    assert_eq!(rtt, Some(Some(65)));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_server_call_entered_before_the_session_is_marked_so() {
    let mut m = open_model();
    let mut recv = ev(
        500,
        EventBody::Server {
            id: 1,
            op: protocol::ServerSide::RecvFrom {
                peer: addr(LOCAL),
                data: "ab".into(),
                size: 2,
            },
        },
    );
    // Entered before the session began: the bridge clamps it to the session's start.
    recv.called_us = Some(0);
    m.apply(recv);
    let e = m.log().iter().last().unwrap();
    assert!(e.began_before);
    assert_eq!(e.called_us, Some(0));
}

#[wasm_bindgen_test(unsupported = test)]
fn close_and_the_teardown_return_the_connection_to_idle() {
    let mut m = open_model();
    assert!(m.close_tcp().is_empty(), "nothing to close");
    m.connect_tcp();
    m.apply(ev(
        1,
        EventBody::TcpConnected {
            id: 1,
            local: addr(LOCAL),
            peer: addr(TCP),
            connect_us: 1,
        },
    ));
    assert!(m.can_close() && !m.can_connect());
    assert_eq!(m.close_tcp(), [Command::TcpClose { id: 1 }]);
    assert_eq!(m.tcp(), TcpConn::Idle);
    m.apply(ev(2, EventBody::TcpClosing { id: 1 }));
    m.apply(ev(
        3,
        EventBody::Server {
            id: 1,
            op: ServerSide::Close {
                error: None,
                idle_s: None,
                active: false,
                waited_ms: None,
            },
        },
    ));
    m.apply(ev(
        4,
        EventBody::TcpClosed {
            id: 1,
            by: CloseBy::Client,
        },
    ));
    assert_eq!(
        whats(&m)[1..],
        [
            &What::Closing,
            &What::ServerClose {
                error: None,
                idle_s: None,
                active: false,
                waited_ms: None,
            },
            &What::Closed {
                by: CloseBy::Client
            }
        ]
    );
    // A new connection gets a new id.
    assert_eq!(
        m.connect_tcp(),
        [Command::TcpConnect {
            id: 2,
            to: Target::Echo
        }]
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_refused_connect_is_an_error_and_the_connection_is_idle_again() {
    let mut m = open_model();
    m.send(Proto::Tcp, b"hi".to_vec());
    m.apply(ev(
        5,
        EventBody::Error {
            id: Some(1),
            server: None,
            code: ErrorCode::Os,
            message: "connect() to 127.0.0.1:8080 failed: Connection refused (os error 111)".into(),
            os: Some(OsError {
                errno: 111,
                name: "ECONNREFUSED".into(),
                message: "x".into(),
            }),
        },
    ));
    assert_eq!(m.tcp(), TcpConn::Idle);
    let Some(Entry {
        proto,
        what: What::Error { failure },
        ..
    }) = m.log().iter().last()
    else {
        panic!()
    };
    assert_eq!(
        (*proto, failure.errno.as_deref()),
        (Some(Proto::Tcp), Some("ECONNREFUSED"))
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn udp_has_no_connect_and_keeps_one_socket() {
    let mut m = open_model();
    assert_eq!(
        m.send(Proto::Udp, b"hi".to_vec()),
        [Command::UdpSend {
            id: 1,
            data: "hi".into(),
            to: Target::Echo,
            connected: false,
        }]
    );
    assert_eq!(
        m.send(Proto::Udp, vec![]),
        [Command::UdpSend {
            id: 1,
            data: "".into(),
            to: Target::Echo,
            connected: false,
        }]
    );
    assert_eq!(
        m.tcp(),
        TcpConn::Idle,
        "UDP never touches the TCP connection"
    );
    m.apply(ev(
        1,
        EventBody::UdpSent {
            id: 1,
            local: addr(LOCAL),
            peer: addr(UDP),
            len: 2,
            connected: false,
        },
    ));
    m.apply(ev(
        2,
        EventBody::Server {
            id: 1,
            op: ServerSide::RecvFrom {
                peer: addr(LOCAL),
                data: "hi".into(),
                size: 2,
            },
        },
    ));
    m.apply(ev(
        3,
        EventBody::UdpReceived {
            id: 1,
            from: addr(UDP),
            data: "HI".into(),
        },
    ));
    assert_eq!(
        whats(&m)[2],
        &What::Echo {
            data: b"HI".to_vec(),
            from: addr(UDP),
            to: addr(LOCAL),
            rtt_us: Some(2)
        }
    );
    assert!(m.log().iter().all(|e| e.proto == Some(Proto::Udp)));
}

#[wasm_bindgen_test(unsupported = test)]
fn without_a_bridge_nothing_is_sent_and_the_log_says_why() {
    let mut m = Model::new("ws://x/ws");
    assert!(m.send(Proto::Tcp, b"hi".to_vec()).is_empty());
    assert!(m.connect_tcp().is_empty());
    assert_eq!(whats(&m), [&What::NoBridge, &What::NoBridge]);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_message_over_the_limit_is_not_sent() {
    let mut m = open_model();
    assert!(m.send(Proto::Udp, vec![b'a'; 101]).is_empty());
    assert_eq!(whats(&m), [&What::TooLarge { len: 101, max: 100 }]);
}

#[wasm_bindgen_test(unsupported = test)]
fn losing_the_bridge_forgets_every_socket_and_says_so() {
    let mut m = open_model();
    m.send(Proto::Tcp, b"hi".to_vec());
    m.send(Proto::Udp, b"hi".to_vec());
    m.bridge_lost(1000);
    assert_eq!(m.bridge(), &BridgeState::Retrying { in_ms: 1000 });
    assert_eq!(m.tcp(), TcpConn::Idle);
    assert!(matches!(whats(&m)[..], [What::BridgeDown { .. }]));
    // Losing it again while retrying does not repeat the message.
    m.bridge_lost(2000);
    assert_eq!(m.log().iter().count(), 1);
    m.bridge_opened();
    assert_eq!(
        m.send(Proto::Udp, b"x".to_vec()),
        [Command::UdpSend {
            id: 3,
            data: "x".into(),
            to: Target::Echo,
            connected: false,
        }]
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn the_teardown_demo_closes_only_after_the_echo() {
    let mut m = open_model();
    let cmds = m.teardown_demo();
    let Command::LabStart { spec, .. } = &cmds[0] else {
        panic!("{cmds:?}")
    };
    assert_eq!(spec.close_delay_ms, 200, "the server waits before close()");
    assert!(!cmds.iter().any(|c| matches!(c, Command::TcpClose { .. })));
    let Command::TcpSend { id, .. } = cmds[2] else {
        panic!("{cmds:?}")
    };
    assert!(m.take_outgoing().is_empty());
    m.apply(ev(
        9,
        EventBody::TcpReceived {
            id,
            data: "BYE".into(),
        },
    ));
    assert_eq!(m.take_outgoing(), [Command::TcpClose { id }]);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_packet_and_the_log_messages_with_its_bytes_select_each_other() {
    let mut m = open_model();
    m.send(Proto::Tcp, b"hi".to_vec());
    m.apply(ev(
        1,
        EventBody::TcpConnected {
            id: 1,
            local: addr(LOCAL),
            peer: addr(TCP),
            connect_us: 1,
        },
    ));
    m.apply(ev(2, EventBody::TcpSent { id: 1, len: 2 }));
    let frame = crate::wire::decode::build::tcp(50000, 8080, 1, Some(1), "P", None, b"hi");
    m.apply(ev(
        3,
        EventBody::Packet {
            id: Some(1),
            at_us: 3,
            data: frame.into(),
            lost: false,
        },
    ));
    let sent_seq = m
        .log()
        .since(0)
        .find(|(_, e)| matches!(e.what, What::Sent { .. }))
        .unwrap()
        .0;
    m.select_packet(0);
    assert_eq!(m.highlighted(), (vec![0], vec![sent_seq]));
    m.select_entry(sent_seq);
    assert_eq!(m.highlighted(), (vec![0], vec![sent_seq]));
    m.select_entry(sent_seq);
    assert_eq!(
        m.highlighted(),
        (vec![], vec![]),
        "a second click unselects"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn an_idle_close_waits_for_the_learner_other_closes_reconnect_and_say_why() {
    let mut m = open_model();
    m.send(Proto::Tcp, b"hi".to_vec());
    // The bridge's idle close: stay closed, say after how long, forget the sockets.
    assert!(!m.bridge_closed(4000, "idle for 900 s: no command from this console"));
    assert_eq!(m.bridge(), &BridgeState::Idle { seconds: 900 });
    assert_eq!(m.tcp(), TcpConn::Idle);
    assert_eq!(whats(&m), [&What::SessionIdle { seconds: 900 }]);
    // A frame too large (1009) and other codes reconnect, with a word; plain endings say
    // nothing of their own ("lost the bridge" does).
    let mut m = open_model();
    assert!(m.bridge_closed(1009, "a frame over 200000 bytes"));
    assert!(m.bridge_closed(1011, ""));
    assert!(m.bridge_closed(1006, ""));
    assert!(m.bridge_closed(1001, "the bridge is shutting down"));
    assert_eq!(
        whats(&m),
        [
            &What::BridgeClosed { code: 1009 },
            &What::BridgeClosed { code: 1011 }
        ]
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn in_the_pcapng_a_call_goes_with_its_own_sockets_packet_and_a_refusal_with_the_reset() {
    use crate::wire::decode::build;
    let mut m = open_model();
    let packet = |at_us, id, frame: Vec<u8>| {
        ev(
            at_us,
            EventBody::Packet {
                id: Some(id),
                at_us,
                data: frame.into(),
                lost: false,
            },
        )
    };
    // Socket 1 (TCP) sends at 100 µs; socket 2 (UDP) sends a datagram at 101 µs, between the
    // TCP segment and its echo: by time alone the UDP send would take the TCP packet.
    m.apply(ev(
        90,
        EventBody::TcpConnected {
            id: 1,
            local: addr(LOCAL),
            peer: addr(TCP),
            connect_us: 80,
        },
    ));
    m.apply(packet(
        102,
        1,
        build::tcp(50000, 8080, 1, Some(1), "P", None, b"hi"),
    ));
    m.apply(packet(103, 2, build::udp(50001, 8081, b"yo")));
    m.apply(Event::call(
        101,
        104,
        EventBody::UdpSent {
            id: 2,
            local: addr("127.0.0.1:50001"),
            peer: addr(UDP),
            len: 2,
            connected: false,
        },
    ));
    // Socket 3's connect() is answered with a RST: the error goes with the RST.
    m.apply(packet(
        200,
        3,
        build::tcp(50002, 9, 7, None, "S", None, b""),
    ));
    m.apply(packet(
        201,
        3,
        build::tcp(9, 50002, 0, Some(8), "RA", None, b""),
    ));
    m.apply(ev(
        202,
        EventBody::Error {
            id: Some(3),
            server: None,
            code: ErrorCode::Os,
            message: "connect() to 127.0.0.1:9 failed: Connection refused".into(),
            os: Some(OsError {
                errno: 111,
                name: "ECONNREFUSED".into(),
                message: "Connection refused".into(),
            }),
        },
    ));
    let (packets, comments) = m.pcapng_comments(&crate::i18n::EN);
    let at: Vec<u64> = packets.iter().map(|p| p.at_us).collect();
    assert_eq!(at, [102, 103, 200, 201]);
    let on = |needle: &str| {
        comments
            .iter()
            .filter(|(_, text)| text.contains(needle))
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
    };
    assert_eq!(on("sendto() 2 B"), [1], "the datagram, not the TCP segment");
    assert_eq!(on("ECONNREFUSED"), [3], "the reset that refused it");
}

/// A refused WebSocket's reason (as the bridge answered a plain GET) is shown only while the
/// console waits to retry, and forgotten once a session opens.
#[wasm_bindgen_test(unsupported = test)]
fn a_refusal_is_shown_while_retrying_and_forgotten_once_open() {
    let mut m = Model::new("ws://127.0.0.1:8000/ws");
    assert_eq!(Refusal::from_status(429), Some(Refusal::PerAddress));
    assert_eq!(Refusal::from_status(404), None);
    m.bridge_lost(500);
    m.bridge_refused(Refusal::from_status(429));
    assert_eq!(m.refusal(), Some(Refusal::PerAddress));
    m.bridge_connecting();
    assert_eq!(m.refusal(), None, "not while connecting again");
    m.bridge_lost(1000);
    assert_eq!(
        m.refusal(),
        Some(Refusal::PerAddress),
        "until the bridge says otherwise"
    );
    m.bridge_opened();
    m.bridge_lost(500);
    assert_eq!(m.refusal(), None, "a session opened since");
}
