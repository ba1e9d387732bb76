//! Each hand-written direction against serde: events written by serde read back by hand,
//! commands written by hand read back by serde, for every variant.

use crate::*;

fn addr(s: &str) -> std::net::SocketAddr {
    s.parse().unwrap()
}

fn os() -> OsError {
    OsError {
        errno: 111,
        name: "ECONNREFUSED".into(),
        message: "Connection refused \"quoted\" 连接被拒绝".into(),
    }
}

fn progress() -> FileProgress {
    FileProgress {
        bytes_sent: 1 << 40,
        bytes_echoed: 5,
        sends: 6,
        recvs: 7,
        reordered: 8,
        truncated: 9,
    }
}

/// A lab spec with every field away from the tutorial's default.
fn unusual_spec(transport: Transport, framing: Framing) -> LabSpec {
    LabSpec {
        transport,
        read_delay_ms: 100,
        recv_buffer: 16,
        one_at_a_time: true,
        backlog: 1,
        reuseaddr: false,
        framing,
        close_delay_ms: 250,
        family: crate::Family::Ipv6,
        impair: Some(crate::Impair {
            loss_pct: 20,
            delay_ms: 50,
            jitter_ms: 5,
            reorder_pct: 3,
            duplicate_pct: 1,
            seed: u32::MAX,
        }),
    }
}

/// At least one of each event variant, with optional fields both set and left out.
fn sample_events() -> Vec<EventBody> {
    let spec = unusual_spec(Transport::Udp, Framing::Delimiter);
    vec![
        EventBody::Hello {
            tcp_server: addr("127.0.0.1:8080"),
            udp_server: addr("[::1]:8081"),
            tcp_server6: Some(addr("[::1]:8080")),
            udp_server6: Some(addr("[::1]:8081")),
            limits: Limits {
                max_message: 65536,
                max_sockets: 16,
            },
            show_other_clients: true,
            capture: CaptureState::NoPermission {
                hint: "sudo setcap cap_net_raw+ep …".into(),
            },
            impair: crate::ImpairState::NoPermission {
                hint: "sudo setcap cap_net_admin+ep …".into(),
            },
            started_unix_us: 1_795_000_000_000_000,
            bridge_version: String::new(),
            kernel: String::new(),
        },
        EventBody::Hello {
            tcp_server: addr("127.0.0.1:1"),
            udp_server: addr("127.0.0.1:2"),
            tcp_server6: None,
            udp_server6: None,
            limits: Limits {
                max_message: 1,
                max_sockets: 1,
            },
            show_other_clients: false,
            capture: CaptureState::Failed {
                message: "no lo".into(),
            },
            impair: crate::ImpairState::Failed {
                message: "no NFQUEUE".into(),
            },
            started_unix_us: 0,
            bridge_version: String::new(),
            kernel: String::new(),
        },
        EventBody::Packet {
            id: Some(3),
            at_us: 12,
            data: Bytes(vec![0, 1, 2, 255]),
            lost: false,
        },
        EventBody::Packet {
            id: None,
            at_us: 0,
            data: Bytes::default(),
            lost: true,
        },
        EventBody::TcpState {
            id: 1,
            state: "ESTABLISHED".into(),
            info: Some(TcpInfo {
                rtt_us: 1,
                rttvar_us: 2,
                cwnd: 10,
                segs_out: 4,
                segs_in: 5,
                total_retrans: 0,
            }),
            timer_ms: None,
        },
        EventBody::TcpState {
            id: 1,
            state: "TIME_WAIT".into(),
            info: None,
            timer_ms: Some(59_000),
        },
        EventBody::TcpConnected {
            id: 1,
            local: addr("127.0.0.1:40000"),
            peer: addr("127.0.0.1:8080"),
            connect_us: 80,
        },
        EventBody::TcpSent { id: 1, len: 5 },
        EventBody::TcpReceived {
            id: 1,
            data: Bytes(vec![b'H', 0xC3]),
        },
        EventBody::TcpClosing { id: 1 },
        EventBody::TcpClosed {
            id: 1,
            by: CloseBy::Client,
        },
        EventBody::TcpClosed {
            id: 2,
            by: CloseBy::Server,
        },
        EventBody::UdpSent {
            id: 2,
            local: addr("127.0.0.1:40001"),
            peer: addr("127.0.0.1:8081"),
            len: 0,
            connected: false,
        },
        EventBody::UdpSent {
            id: 3,
            local: addr("[::1]:40002"),
            peer: addr("[::1]:9"),
            len: 6,
            connected: true,
        },
        EventBody::UdpReceived {
            id: 2,
            from: addr("127.0.0.1:8081"),
            data: "HI".into(),
        },
        EventBody::UdpClosed { id: 2 },
        EventBody::Server {
            id: 1,
            op: ServerSide::Accept {
                peer: addr("127.0.0.1:40000"),
            },
        },
        EventBody::Server {
            id: 1,
            op: ServerSide::Recv { data: "hi".into() },
        },
        EventBody::Server {
            id: 1,
            op: ServerSide::Send { len: 2 },
        },
        EventBody::Server {
            id: 1,
            op: ServerSide::Close {
                error: Some(os()),
                idle_s: None,
                active: false,
                waited_ms: None,
            },
        },
        EventBody::Server {
            id: 1,
            op: ServerSide::Close {
                error: None,
                idle_s: Some(600),
                active: true,
                waited_ms: None,
            },
        },
        EventBody::Server {
            id: 2,
            op: ServerSide::RecvFrom {
                peer: addr("127.0.0.1:40001"),
                data: "x".into(),
                size: 2000,
            },
        },
        EventBody::Server {
            id: 1,
            op: ServerSide::Message { data: "m".into() },
        },
        EventBody::OtherClient {
            transport: Transport::Udp,
            client: addr("127.0.0.1:5555"),
            op: ServerSide::SendTo {
                peer: addr("127.0.0.1:5555"),
                len: 3,
            },
        },
        EventBody::UdpNoReply {
            id: 2,
            waited_ms: 1000,
        },
        EventBody::LabStarted {
            server: 1,
            addr: addr("127.0.0.1:45000"),
            spec,
        },
        EventBody::LabStarted {
            server: 2,
            addr: addr("127.0.0.1:45001"),
            spec: LabSpec::tutorial(Transport::Tcp),
        },
        EventBody::LabStopped { server: 1 },
        EventBody::ListenQueue {
            server: 1,
            queued: 2,
            backlog: 1,
            overflows: Some(3),
        },
        EventBody::ListenQueue {
            server: 1,
            queued: 0,
            backlog: 5,
            overflows: None,
        },
        EventBody::KernelSockets {
            server: 1,
            sockets: vec![
                KernelSocket {
                    local: addr("127.0.0.1:45000"),
                    remote: addr("127.0.0.1:40000"),
                    state: "TIME_WAIT".into(),
                    timer_ms: Some(30_000),
                },
                KernelSocket {
                    local: addr("127.0.0.1:45000"),
                    remote: addr("127.0.0.1:40002"),
                    state: "ESTABLISHED".into(),
                    timer_ms: None,
                },
            ],
        },
        EventBody::KernelSockets {
            server: 2,
            sockets: vec![],
        },
        EventBody::LinkStats {
            server: 9,
            stats: crate::LinkStats {
                packets: 100,
                dropped: 20,
                delayed: 80,
                reordered: 3,
                duplicated: 1,
                overflow: 0,
            },
        },
        EventBody::FileProgress {
            id: 5,
            progress: progress(),
        },
        EventBody::FileDone {
            id: 5,
            result: FileResult {
                progress: progress(),
                sha256_expected: "AB".into(),
                sha256_echoed: "CD".into(),
                lost: 3,
                missing: vec![0, 7, 65_535],
                retransmitted: Some(4),
                elapsed_us: 1_000_000,
                cancelled: true,
            },
        },
        EventBody::Error {
            id: Some(1),
            server: Some(2),
            code: ErrorCode::Os,
            message: "connect() failed\nsecond line\t\u{1}".into(),
            os: Some(os()),
        },
        EventBody::Error {
            id: None,
            server: None,
            code: ErrorCode::PacketsDropped,
            message: String::new(),
            os: None,
        },
        EventBody::UdpDropped {
            addr: "[::1]:8081".parse().unwrap(),
            dropped: 37,
            rcvbuf: 425_984,
        },
    ]
}

/// Adding an event variant breaks this match until it has a sample above.
fn event_variant(body: &EventBody) -> usize {
    match body {
        EventBody::Hello { .. } => 0,
        EventBody::Packet { .. } => 1,
        EventBody::TcpState { .. } => 2,
        EventBody::TcpConnected { .. } => 3,
        EventBody::TcpSent { .. } => 4,
        EventBody::TcpReceived { .. } => 5,
        EventBody::TcpClosing { .. } => 6,
        EventBody::TcpClosed { .. } => 7,
        EventBody::UdpSent { .. } => 8,
        EventBody::UdpReceived { .. } => 9,
        EventBody::UdpClosed { .. } => 10,
        EventBody::Server { .. } => 11,
        EventBody::OtherClient { .. } => 12,
        EventBody::UdpNoReply { .. } => 13,
        EventBody::LabStarted { .. } => 14,
        EventBody::LabStopped { .. } => 15,
        EventBody::ListenQueue { .. } => 16,
        EventBody::KernelSockets { .. } => 17,
        EventBody::FileProgress { .. } => 18,
        EventBody::FileDone { .. } => 19,
        EventBody::Error { .. } => 20,
        EventBody::UdpDropped { .. } => 21,
        EventBody::LinkStats { .. } => 22,
    }
}

#[test]
fn every_event_written_by_serde_reads_back_the_same() {
    let samples = sample_events();
    let mut seen: Vec<usize> = samples.iter().map(event_variant).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen,
        (0..=22).collect::<Vec<_>>(),
        "a sample of every variant"
    );
    for (t_us, body) in samples.into_iter().enumerate() {
        let event = Event::new(t_us as u64 * 1000, body);
        let json = event.to_json();
        assert_eq!(Event::from_json(&json), Ok(event), "{json}");
    }
    // The rest of the capture states and server ops, each alone.
    let on = crate::ImpairState::On {
        available: vec!["loss_pct".into(), "delay_ms".into()],
    };
    let impairs = [on, crate::ImpairState::Off];
    for (capture, impair) in [CaptureState::On, CaptureState::Off]
        .into_iter()
        .zip(impairs)
    {
        let event = Event::new(
            0,
            EventBody::Hello {
                tcp_server: addr("127.0.0.1:8080"),
                udp_server: addr("127.0.0.1:8081"),
                tcp_server6: None,
                udp_server6: None,
                limits: Limits {
                    max_message: 1,
                    max_sockets: 1,
                },
                show_other_clients: false,
                capture,
                impair,
                started_unix_us: 7,
                bridge_version: String::new(),
                kernel: String::new(),
            },
        );
        assert_eq!(Event::from_json(&event.to_json()), Ok(event));
    }
}

#[test]
fn fields_serde_defaults_may_be_left_out_and_unknown_fields_are_ignored() {
    let hello = r#"{"v":1,"t_us":0,"type":"hello","tcp_server":"127.0.0.1:8080",
        "udp_server":"127.0.0.1:8081","limits":{"max_message":10,"max_sockets":2,"new":1},
        "from_a_newer_bridge":[1.5,{"x":null}]}"#;
    assert_eq!(
        Event::from_json(hello).unwrap().body,
        EventBody::Hello {
            tcp_server: addr("127.0.0.1:8080"),
            udp_server: addr("127.0.0.1:8081"),
            tcp_server6: None,
            udp_server6: None,
            limits: Limits {
                max_message: 10,
                max_sockets: 2
            },
            show_other_clients: false,
            capture: CaptureState::Off,
            impair: crate::ImpairState::Off,
            started_unix_us: 0,
            bridge_version: String::new(),
            kernel: String::new(),
        }
    );
    let lab = r#"{"v":1,"t_us":5,"type":"lab_started","server":1,"addr":"127.0.0.1:9",
        "spec":{"transport":"tcp","backlog":2}}"#;
    let EventBody::LabStarted { spec, .. } = Event::from_json(lab).unwrap().body else {
        panic!()
    };
    assert_eq!(
        spec,
        LabSpec {
            backlog: 2,
            ..LabSpec::tutorial(Transport::Tcp)
        }
    );
    let null_id = r#"{"v":1,"t_us":5,"type":"packet","id":null,"at_us":1,"data":""}"#;
    assert!(matches!(
        Event::from_json(null_id).unwrap().body,
        EventBody::Packet { id: None, .. }
    ));
}

#[test]
fn a_malformed_event_gets_an_error_that_says_what_is_wrong() {
    let error = |json: &str| Event::from_json(json).unwrap_err().to_string();
    assert_eq!(error("{nope"), "not JSON: expected a member name at byte 1");
    assert_eq!(error("[1]"), "an event: expected an object");
    assert_eq!(error(r#"{"v":1,"t_us":0}"#), "missing field `type`");
    assert_eq!(
        error(r#"{"v":1,"t_us":0,"type":"teleported"}"#),
        "a teleported event: unknown event type \"teleported\""
    );
    assert_eq!(
        error(r#"{"v":1,"t_us":0,"type":"tcp_sent","id":1}"#),
        "a tcp_sent event: missing field `len`"
    );
    assert_eq!(
        error(r#"{"v":1,"t_us":0,"type":"tcp_sent","id":1,"len":"5"}"#),
        "a tcp_sent event: field `len`: expected an integer"
    );
    assert_eq!(
        error(r#"{"v":1,"t_us":0,"type":"tcp_closed","id":1,"by":"nobody"}"#),
        "a tcp_closed event: field `by`: unknown value \"nobody\""
    );
    assert_eq!(
        error(r#"{"v":1,"t_us":0,"type":"server","id":1,"op":{"op":"dance"}}"#),
        "a server event: field `op`: unknown server op \"dance\""
    );
    assert_eq!(
        error(r#"{"v":1,"t_us":0,"type":"tcp_received","id":1,"data":"*"}"#),
        "a tcp_received event: field `data`: payload is not valid base64: its length (1) is not a multiple of 4"
    );
    assert_eq!(
        error(r#"{"v":1,"type":"tcp_closing","id":1}"#),
        "missing field `t_us`"
    );
}

/// At least one of each command, with every kind of target, framing and file source.
fn sample_commands() -> Vec<Command> {
    let spec = unusual_spec(Transport::Tcp, Framing::Length);
    vec![
        Command::tcp_connect(1),
        Command::TcpConnect {
            id: 2,
            to: Target::Lab(7),
        },
        Command::TcpConnect {
            id: 3,
            to: Target::Nobody,
        },
        Command::TcpSend {
            id: 1,
            data: Bytes(vec![0, 0xC3, 0xFF]),
        },
        Command::TcpSendBurst {
            id: 1,
            messages: vec!["a".into(), "".into(), "中".into()],
            framing: Framing::Delimiter,
        },
        Command::TcpSendBurst {
            id: 1,
            messages: vec![],
            framing: Framing::None,
        },
        Command::TcpClose { id: 1 },
        Command::udp_send(4, ""),
        Command::UdpSend {
            id: 5,
            data: "x".into(),
            to: Target::Nobody,
            connected: true,
        },
        Command::UdpClose { id: 4 },
        Command::LabStart { server: 1, spec },
        Command::LabStart {
            server: 2,
            spec: LabSpec::tutorial(Transport::Udp),
        },
        Command::LabStop { server: 1 },
        Command::LabRestart {
            server: 1,
            reuseaddr: false,
        },
        Command::LabCloseClients { server: 1 },
        Command::FileStart {
            id: 6,
            transport: Transport::Tcp,
            to: Target::Lab(1),
            source: FileSource::Generated { size: 1 << 20 },
            datagram: 1024,
        },
        Command::FileStart {
            id: 7,
            transport: Transport::Udp,
            to: Target::Echo,
            source: FileSource::Upload {
                name: "笔记 \"v2\".txt".into(),
                size: 3,
            },
            datagram: 512,
        },
        Command::FileChunk {
            id: 7,
            data: "abc".into(),
        },
        Command::FileCancel { id: 7 },
    ]
}

#[test]
fn every_command_written_here_reads_back_the_same_with_serde() {
    let samples = sample_commands();
    let mut seen: Vec<&str> = samples
        .iter()
        .map(|c| {
            // Adding a command breaks this match until it has a sample above.
            match c {
                Command::TcpConnect { .. } => "tcp_connect",
                Command::TcpSend { .. } => "tcp_send",
                Command::TcpSendBurst { .. } => "tcp_send_burst",
                Command::TcpClose { .. } => "tcp_close",
                Command::UdpSend { .. } => "udp_send",
                Command::UdpClose { .. } => "udp_close",
                Command::LabStart { .. } => "lab_start",
                Command::LabStop { .. } => "lab_stop",
                Command::LabRestart { .. } => "lab_restart",
                Command::LabCloseClients { .. } => "lab_close_clients",
                Command::FileStart { .. } => "file_start",
                Command::FileChunk { .. } => "file_chunk",
                Command::FileCancel { .. } => "file_cancel",
            }
        })
        .collect();
    seen.sort();
    seen.dedup();
    let mut names = Command::NAMES.to_vec();
    names.sort();
    assert_eq!(seen, names, "a sample of every command");
    for cmd in samples {
        let msg = ClientMsg::new(cmd);
        let json = msg.to_json();
        assert_eq!(ClientMsg::from_json(&json), Ok(msg), "{json}");
    }
}

/// Every JSON line of docs/protocol.md's examples, read through both codecs: a command by the
/// bridge's (serde) and written back by the console's, an event by the console's and written
/// back by the bridge's; what is written back has every member the document shows, with the
/// document's value. A document example that either side would reject fails here.
#[test]
fn every_json_example_in_the_protocol_document_reads_through_both_codecs() {
    let doc = include_str!("../../../docs/protocol.md");
    let mut lines = vec![];
    let mut in_json = false;
    for line in doc.lines() {
        match line.trim() {
            "```json" => in_json = true,
            "```" => in_json = false,
            l if in_json && l.starts_with('{') => lines.push(l),
            _ => {}
        }
    }
    assert!(lines.len() >= 25, "found {} examples", lines.len());
    let (mut commands, mut events) = (0, 0);
    for line in lines {
        let shown: serde_json::Value = serde_json::from_str(line).expect(line);
        let written = if shown.get("t_us").is_some() {
            events += 1;
            let event = Event::from_json(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            event.to_json()
        } else {
            commands += 1;
            let msg = ClientMsg::from_json(line).unwrap_or_else(|e| panic!("{line}: {e:?}"));
            let written = msg.to_json();
            assert_eq!(ClientMsg::from_json(&written).unwrap(), msg, "{written}");
            written
        };
        let written: serde_json::Value = serde_json::from_str(&written).unwrap();
        assert!(shows(&written, &shown), "{line} → {written}");
    }
    assert!(
        commands >= 10 && events >= 15,
        "{commands} commands, {events} events"
    );
}

/// Whether `written` has every member of `shown` with the same value (objects compared member by
/// member, so defaults written out beside them do not matter).
fn shows(written: &serde_json::Value, shown: &serde_json::Value) -> bool {
    match (written, shown) {
        (serde_json::Value::Object(w), serde_json::Value::Object(s)) => s
            .iter()
            .all(|(k, v)| w.get(k).is_some_and(|wv| shows(wv, v))),
        _ => written == shown,
    }
}

#[test]
fn commands_are_written_in_the_protocols_shape() {
    let json = |cmd| ClientMsg::new(cmd).to_json();
    assert_eq!(
        json(Command::tcp_connect(1)),
        r#"{"v":1,"type":"tcp_connect","id":1,"to":"echo"}"#
    );
    assert_eq!(
        json(Command::TcpConnect {
            id: 3,
            to: Target::Lab(1)
        }),
        r#"{"v":1,"type":"tcp_connect","id":3,"to":{"lab":1}}"#
    );
    assert_eq!(
        json(Command::FileStart {
            id: 5,
            transport: Transport::Tcp,
            to: Target::Echo,
            source: FileSource::Generated { size: 1048576 },
            datagram: 1024,
        }),
        r#"{"v":1,"type":"file_start","id":5,"transport":"tcp","to":"echo","source":{"generated":{"size":1048576}},"datagram":1024}"#
    );
}

#[test]
fn a_recordings_send_commands_give_back_their_bytes() {
    let send = ClientMsg::new(Command::TcpSend {
        id: 3,
        data: b"hello socket".to_vec().into(),
    });
    let (id, data) = crate::sent_data(&send.to_json()).unwrap();
    assert_eq!((id, data.0.as_slice()), (3, &b"hello socket"[..]));
    let close = ClientMsg::new(Command::TcpClose { id: 3 });
    assert_eq!(crate::sent_data(&close.to_json()), None);
    assert_eq!(crate::sent_data("not json"), None);
}
