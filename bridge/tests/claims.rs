//! Claims the README and docs/protocol.md make that had no test: each one driven through the
//! real binary or a real session, asserting what the documentation says.

mod common;

use common::{FREE_PORTS, PATIENCE, connect, lab_with};
use protocol::{
    CaptureState, Command, ErrorCode, EventBody, FileSource, LabSpec, Target, Transport,
};
use std::process::Command as Process;
use std::time::Duration;

fn bridge() -> Process {
    Process::new(env!("CARGO_BIN_EXE_bridge"))
}

/// The flags the README's "Flags" table documents.
fn documented_flags() -> Vec<String> {
    let readme = include_str!("../../README.md");
    let table = readme
        .split("## Flags")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    table
        .lines()
        .filter_map(|l| l.strip_prefix("| `--"))
        .map(|l| format!("--{}", l.split([' ', '`']).next().unwrap()))
        .collect()
}

#[test]
fn help_explains_every_flag_the_readme_documents() {
    let flags = documented_flags();
    assert!(flags.len() >= 15, "{flags:?}");
    let out = bridge().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in flags {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(&flag))
            .unwrap_or_else(|| panic!("{flag} is not in --help:\n{help}"));
        // An explanation follows the flag's name on its line (clap's long help).
        let after = line.trim_start()[flag.len()..].trim();
        let words = after
            .split_whitespace()
            .filter(|w| !w.starts_with('<'))
            .count();
        assert!(words >= 3, "{flag} is not explained: {line:?}");
    }
}

#[test]
fn a_port_in_use_names_its_flag_for_http_and_udp_too() {
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let (tcp_addr, udp_addr) = (tcp.local_addr().unwrap(), udp.local_addr().unwrap());
    for (flag, addr) in [("--http", tcp_addr), ("--udp", udp_addr)] {
        let mut args = FREE_PORTS.to_vec();
        let addr = addr.to_string();
        let at = args.iter().position(|a| *a == flag).unwrap();
        args[at + 1] = &addr;
        let out = bridge().args(&args).output().unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with(&format!("error: {flag} {addr}: ")),
            "{stderr}"
        );
        assert!(stderr.to_lowercase().contains("in use"), "{stderr}");
    }
}

#[tokio::test]
async fn no_capture_says_off_and_sends_no_packets() {
    let lab = lab_with(&["--no-capture"]).await;
    let mut c = connect(&lab).await;
    match &c.seen[0].body {
        EventBody::Hello { capture, .. } => assert_eq!(*capture, CaptureState::Off),
        other => panic!("{other:?}"),
    }
    c.send(Command::tcp_connect(1)).await;
    c.send(Command::TcpSend {
        id: 1,
        data: "quiet".into(),
    })
    .await;
    c.until("echo", |b| matches!(b, EventBody::TcpReceived { .. }))
        .await;
    let _ = c.events_for(Duration::from_millis(300)).await;
    assert!(
        !c.seen
            .iter()
            .any(|e| matches!(e.body, EventBody::Packet { .. })),
        "no packet events"
    );
}

#[tokio::test]
async fn max_message_bounds_every_way_in() {
    let lab = lab_with(&["--max-message", "100"]).await;
    let mut c = connect(&lab).await;
    let big = vec![b'x'; 101];
    let fits = vec![b'y'; 100];
    let too_large = |c: &common::Client| {
        c.seen
            .iter()
            .filter(|e| {
                matches!(
                    e.body,
                    EventBody::Error {
                        code: ErrorCode::TooLarge,
                        ..
                    }
                )
            })
            .count()
    };
    c.send(Command::tcp_connect(1)).await;
    let attempts = [
        Command::TcpSend {
            id: 1,
            data: big.clone().into(),
        },
        Command::TcpSendBurst {
            id: 1,
            messages: vec![fits.clone().into(), big.clone().into()],
            framing: protocol::Framing::None,
        },
        Command::UdpSend {
            id: 2,
            data: big.clone().into(),
            to: Target::Echo,
            connected: false,
        },
        Command::FileStart {
            id: 3,
            transport: Transport::Tcp,
            to: Target::Echo,
            source: FileSource::Upload {
                name: "f".into(),
                size: 1000,
            },
            datagram: 1024,
        },
        Command::FileChunk {
            id: 3,
            data: big.clone().into(),
        },
    ];
    let mut expected = 0;
    for cmd in attempts {
        let refused = !matches!(cmd, Command::FileStart { .. });
        c.send(cmd).await;
        if refused {
            expected += 1;
            let deadline = tokio::time::Instant::now() + PATIENCE;
            while too_large(&c) < expected {
                assert!(tokio::time::Instant::now() < deadline, "{:#?}", c.seen);
                let _ = tokio::time::timeout(Duration::from_millis(200), c.next()).await;
            }
        }
    }
    // 100 bytes still go.
    c.send(Command::TcpSend {
        id: 1,
        data: fits.clone().into(),
    })
    .await;
    c.until(
        "the 100-byte echo",
        |b| matches!(b, EventBody::TcpReceived { data, .. } if data.0.len() == 100),
    )
    .await;
}

#[tokio::test]
async fn lab_specs_out_of_range_are_refused_naming_the_server_and_the_limit() {
    let lab = lab_with(&[]).await;
    let mut c = connect(&lab).await;
    type Case = (u32, fn(&mut LabSpec), &'static str);
    let cases: [Case; 4] = [
        (4, |s| s.recv_buffer = 0, "recv_buffer is 1 to 65536"),
        (5, |s| s.recv_buffer = 65_537, "recv_buffer is 1 to 65536"),
        (6, |s| s.backlog = 129, "backlog is at most 128"),
        (
            7,
            |s| s.read_delay_ms = 10_001,
            "read_delay_ms is at most 10000",
        ),
    ];
    for (server, tweak, says) in cases {
        let mut spec = LabSpec::tutorial(Transport::Tcp);
        tweak(&mut spec);
        c.send(Command::LabStart { server, spec }).await;
        match c
            .until("an error", |b| matches!(b, EventBody::Error { .. }))
            .await
        {
            EventBody::Error {
                code,
                server: s,
                message,
                ..
            } => {
                assert_eq!(code, ErrorCode::BadSpec);
                assert_eq!(s, Some(server), "the error names the lab server");
                assert!(message.contains(says), "{message}");
            }
            _ => unreachable!(),
        }
    }
    // A good one starts, and stopping it says so and closes its port.
    c.send(Command::LabStart {
        server: 1,
        spec: LabSpec::tutorial(Transport::Tcp),
    })
    .await;
    let EventBody::LabStarted { addr, .. } = c
        .until("lab_started", |b| matches!(b, EventBody::LabStarted { .. }))
        .await
    else {
        unreachable!()
    };
    c.send(Command::LabStop { server: 1 }).await;
    c.until("lab_stopped", |b| *b == EventBody::LabStopped { server: 1 })
        .await;
    let refused = std::net::TcpStream::connect(addr).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn other_clients_over_udp_are_shown_with_their_datagrams() {
    let lab = lab_with(&["--show-other-clients"]).await;
    let mut c = connect(&lab).await;
    // `nc -u`, as a plain socket outside any session.
    let nc = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    nc.send_to(b"from nc", lab.udp_addr()).await.unwrap();
    let mut echo = [0u8; 16];
    let (n, _) = tokio::time::timeout(PATIENCE, nc.recv_from(&mut echo))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&echo[..n], b"FROM NC");
    let seen = c
        .until("the other client's datagram", |b| {
            matches!(
                b,
                EventBody::OtherClient {
                    op: protocol::ServerSide::RecvFrom { .. },
                    ..
                }
            )
        })
        .await;
    let EventBody::OtherClient {
        transport,
        client,
        op: protocol::ServerSide::RecvFrom { data, size, .. },
    } = seen
    else {
        unreachable!()
    };
    assert_eq!(transport, Transport::Udp);
    assert_eq!(client, nc.local_addr().unwrap());
    assert_eq!((data.0.as_slice(), size), (&b"from nc"[..], 7));
    c.until("its echo", |b| {
        matches!(
            b,
            EventBody::OtherClient {
                op: protocol::ServerSide::SendTo { len: 7, .. },
                ..
            }
        )
    })
    .await;
}
