//! The experiments' logic, natively: which commands a click sends, and what the results say
//! when the bridge reports what the bridge really reports (see `bridge/tests/experiments.rs`,
//! which asserts those events from real sockets).

use super::*;
use crate::i18n::EN;
use protocol::{
    Event, EventBody, FileProgress, FileResult, Framing, KernelSocket, Limits, OsError, ServerSide,
    Target,
};
use wasm_bindgen_test::wasm_bindgen_test;

fn open_model() -> Model {
    let mut m = Model::new("ws://127.0.0.1:8000/ws");
    m.bridge_opened();
    m.apply(Event::new(
        0,
        EventBody::Hello {
            tcp_server: "127.0.0.1:8080".parse().unwrap(),
            udp_server: "127.0.0.1:8081".parse().unwrap(),
            tcp_server6: None,
            udp_server6: None,
            limits: Limits {
                max_message: 65536,
                max_sockets: 16,
            },
            show_other_clients: true,
            capture: Default::default(),
            impair: protocol::ImpairState::On {
                available: vec!["loss_pct".into(), "delay_ms".into()],
            },
            started_unix_us: 0,
            bridge_version: String::new(),
            kernel: String::new(),
        },
    ));
    m
}

fn apply(m: &mut Model, body: EventBody) {
    m.apply(Event::new(1, body));
}

fn server(id: protocol::SocketId, op: ServerSide) -> EventBody {
    EventBody::Server { id, op }
}

fn texts(blocks: &[Block]) -> String {
    blocks
        .iter()
        .flat_map(|b| {
            b.lines
                .iter()
                .map(|l| format!("{} {}", l.text, l.chips.join(" ")))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[wasm_bindgen_test(unsupported = test)]
fn every_tab_has_a_key_title_and_all_experiments_an_intro_in_both_languages() {
    for tab in Tab::ALL {
        assert_eq!(Tab::from_key(tab.key()), Some(tab));
        for c in [&EN, &crate::i18n::ZH_CN] {
            assert!(!tab.title(c).is_empty());
            let short_ok = matches!(tab, Tab::Echo | Tab::Glossary);
            assert!(short_ok || tab.intro(c).len() > 100, "{tab:?}");
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn sticky_starts_slow_servers_and_bursts_over_tcp_and_as_datagrams() {
    let mut m = open_model();
    let p = Params::default()
        .with("messages", "a b c")
        .with("delay", "150")
        .with("framing", "length");
    let cmds = m.experiment(Action::StickyRun, &p);
    let Command::LabStart {
        server: STICKY_TCP,
        spec,
    } = &cmds[0]
    else {
        panic!("{cmds:?}")
    };
    assert_eq!((spec.read_delay_ms, spec.framing), (150, Framing::Length));
    assert!(
        matches!(cmds[3], Command::TcpSendBurst { ref messages, framing: Framing::Length, .. } if messages.len() == 3)
    );
    let udp_sends = cmds
        .iter()
        .filter(|c| {
            matches!(
                c,
                Command::UdpSend {
                    to: Target::Lab(STICKY_UDP),
                    ..
                }
            )
        })
        .count();
    assert_eq!(udp_sends, 3);

    let run = m.runs.sticky.clone().unwrap();
    for _ in 0..3 {
        apply(
            &mut m,
            EventBody::TcpSent {
                id: run.tcp,
                len: 5,
            },
        );
    }
    apply(
        &mut m,
        server(
            run.tcp,
            ServerSide::Recv {
                data: b"\0\0\0\x01a\0\0\0\x01b\0\0\0\x01c".to_vec().into(),
            },
        ),
    );
    for (d, msg) in ["a", "b", "c"].iter().enumerate() {
        apply(
            &mut m,
            server(
                run.tcp,
                ServerSide::Message {
                    data: (*msg).into(),
                },
            ),
        );
        let peer = "127.0.0.1:5000".parse().unwrap();
        let (local, to) = (peer, "127.0.0.1:6000".parse().unwrap());
        apply(
            &mut m,
            EventBody::UdpSent {
                id: run.udp,
                local,
                peer: to,
                len: 1,
                connected: false,
            },
        );
        apply(
            &mut m,
            server(
                run.udp,
                ServerSide::RecvFrom {
                    peer,
                    data: (*msg).into(),
                    size: 1,
                },
            ),
        );
        let _ = d;
    }
    let out = texts(&run_results(&m, Tab::Sticky));
    assert!(out.contains("send() × 3 → recv() × 1"), "{out}");
    assert!(out.contains("merged"), "{out}");
    assert!(out.contains("datagrams: 3 → recvfrom() × 3"), "{out}");
    assert!(out.contains("\"a\" \"b\" \"c\""), "{out}");
}

fn run_results(m: &Model, tab: Tab) -> Vec<Block> {
    tab.results(m, &EN)
}

#[wasm_bindgen_test(unsupported = test)]
fn empty_tcp_opens_a_fresh_connection_and_counts_no_server_reads() {
    let mut m = open_model();
    let cmds = m.experiment(Action::EmptyTcp, &Params::default());
    let id = m.runs.empty.tcp.unwrap();
    assert_eq!(
        cmds,
        [
            Command::tcp_connect(id),
            Command::TcpSend {
                id,
                data: "".into()
            }
        ]
    );
    apply(&mut m, EventBody::TcpSent { id, len: 0 });
    let out = texts(&run_results(&m, Tab::Empty));
    assert!(out.contains("send() of 0 bytes returned 0"), "{out}");
    assert!(out.contains("server recv() calls since: 0"), "{out}");
    // Again: the old connection is closed, a new one opens.
    let cmds = m.experiment(Action::EmptyTcp, &Params::default());
    assert_eq!(cmds[0], Command::TcpClose { id });
}

#[wasm_bindgen_test(unsupported = test)]
fn bigger_shows_tcp_chunks_and_the_udp_truncation() {
    let mut m = open_model();
    let p = Params::default()
        .with("size", "3000")
        .with("buffer", "1024");
    m.experiment(Action::BigTcp, &p);
    m.experiment(Action::BigUdp, &p);
    let (tcp, _) = m.runs.big.tcp.unwrap();
    let (udp, _) = m.runs.big.udp.unwrap();
    for n in [1024, 1024, 952] {
        apply(
            &mut m,
            server(
                tcp,
                ServerSide::Recv {
                    data: vec![b'a'; n].into(),
                },
            ),
        );
    }
    apply(
        &mut m,
        EventBody::TcpReceived {
            id: tcp,
            data: vec![b'A'; 3000].into(),
        },
    );
    let peer = "127.0.0.1:5000".parse().unwrap();
    apply(
        &mut m,
        server(
            udp,
            ServerSide::RecvFrom {
                peer,
                data: vec![b'a'; 1024].into(),
                size: 3000,
            },
        ),
    );
    let out = texts(&run_results(&m, Tab::Bigger));
    assert!(
        out.contains("recv() × 3, of these sizes: 1024 B 1024 B 952 B"),
        "{out}"
    );
    assert!(out.contains("echo received: 3000 B of 3000 B"), "{out}");
    assert!(
        out.contains("got 1024 B of a 3000 B datagram — 1976 B discarded"),
        "{out}"
    );
    assert_eq!(bigger::payload(30)[..28], *b"abcdefghijklmnopqrstuvwxyzab");
}

#[wasm_bindgen_test(unsupported = test)]
fn nobody_listening_shows_refused_and_silence() {
    let mut m = open_model();
    m.experiment(Action::NobodyTcp, &Params::default());
    m.experiment(Action::NobodyUdp, &Params::default());
    let cmds = m.experiment(Action::NobodyUdpConnected, &Params::default());
    assert!(matches!(
        cmds[0],
        Command::UdpSend {
            to: Target::Nobody,
            connected: true,
            ..
        }
    ));
    let [tcp, udp, conn] = [0, 1, 2].map(|i| m.runs.nobody[i].id);
    let refused = || OsError {
        errno: 111,
        name: "ECONNREFUSED".into(),
        message: "Connection refused".into(),
    };
    apply(
        &mut m,
        EventBody::Error {
            id: Some(tcp),
            server: None,
            code: protocol::ErrorCode::Os,
            message: "connect() failed".into(),
            os: Some(refused()),
        },
    );
    let local = "127.0.0.1:5000".parse().unwrap();
    let peer = "127.0.0.1:6000".parse().unwrap();
    apply(
        &mut m,
        EventBody::UdpSent {
            id: udp,
            local,
            peer,
            len: 6,
            connected: false,
        },
    );
    apply(
        &mut m,
        EventBody::UdpNoReply {
            id: udp,
            waited_ms: 2000,
        },
    );
    apply(
        &mut m,
        EventBody::Error {
            id: Some(conn),
            server: None,
            code: protocol::ErrorCode::Os,
            message: "recv() failed".into(),
            os: Some(refused()),
        },
    );
    let blocks = run_results(&m, Tab::Nobody);
    assert!(texts(&blocks[..1]).contains("ECONNREFUSED"));
    assert!(texts(&blocks[1..2]).contains("nothing came back within 2 s"));
    assert!(texts(&blocks[2..]).contains("ECONNREFUSED"));
    // The log tags each error with its socket's protocol, as it tags the socket's other lines.
    let errors: Vec<_> = m
        .log()
        .iter()
        .filter(|e| matches!(e.what, crate::model::log::What::Error { .. }))
        .map(|e| e.proto)
        .collect();
    use crate::model::log::Proto;
    assert_eq!(errors, [Some(Proto::Tcp), Some(Proto::Udp)]);
}

#[wasm_bindgen_test(unsupported = test)]
fn queue_shows_the_kernels_queue_and_each_clients_state() {
    let mut m = open_model();
    let p = Params::default().with("server", "one");
    let cmds = m.experiment(Action::QueueOpen, &p);
    assert!(
        matches!(cmds[0], Command::LabStart { server: ONE_AT_A_TIME, spec } if spec.one_at_a_time)
    );
    m.experiment(Action::QueueOpen, &p);
    m.experiment(Action::QueueOpen, &p);
    let ids: Vec<_> = m.runs.queue.clients.iter().map(|(_, id)| *id).collect();
    let (local, peer) = (
        "127.0.0.1:1".parse().unwrap(),
        "127.0.0.1:2".parse().unwrap(),
    );
    apply(
        &mut m,
        EventBody::LabStarted {
            server: ONE_AT_A_TIME,
            addr: peer,
            spec: protocol::LabSpec::tutorial(protocol::Transport::Tcp),
        },
    );
    apply(
        &mut m,
        EventBody::TcpConnected {
            id: ids[0],
            local,
            peer,
            connect_us: 1,
        },
    );
    apply(
        &mut m,
        EventBody::TcpReceived {
            id: ids[0],
            data: "HELLO".into(),
        },
    );
    apply(
        &mut m,
        EventBody::TcpConnected {
            id: ids[1],
            local,
            peer,
            connect_us: 1,
        },
    );
    apply(
        &mut m,
        EventBody::ListenQueue {
            server: ONE_AT_A_TIME,
            queued: 1,
            backlog: 5,
            overflows: None,
        },
    );
    let out = texts(&run_results(&m, Tab::Queue));
    assert!(
        out.contains("accept queue, from the kernel: 1 waiting (backlog 5"),
        "{out}"
    );
    assert!(!out.contains("dropped SYNs"), "nothing overflowed: {out}");
    assert!(out.contains("client 1: served"), "{out}");
    assert!(
        out.contains("client 2: connected (handshake done), no echo yet"),
        "{out}"
    );
    assert!(
        out.contains("client 3: connect() has not returned yet"),
        "{out}"
    );
    assert_eq!(
        m.experiment(Action::QueueClose, &p),
        [Command::TcpClose { id: ids[0] }]
    );
    // Waiting for the handshake is the kernel retrying, not a failure.
    let kinds = |m: &Model, needle: &str| {
        run_results(m, Tab::Queue)
            .iter()
            .flat_map(|b| b.lines.iter())
            .filter(|l| l.text.contains(needle))
            .map(|l| l.kind)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(&m, "client 3: connect() has not returned yet"),
        ["wait"]
    );
    // SYNs were dropped while client 3 waited: its kernel is sending its SYN again …
    apply(
        &mut m,
        EventBody::ListenQueue {
            server: ONE_AT_A_TIME,
            queued: 6,
            backlog: 5,
            overflows: Some(4),
        },
    );
    assert_eq!(kinds(&m, "4 dropped SYNs"), ["bad"]);
    assert!(texts(&run_results(&m, Tab::Queue)).contains("sends its SYN again"));
    // … and once it got in, that is history.
    apply(
        &mut m,
        EventBody::TcpConnected {
            id: ids[2],
            local,
            peer,
            connect_us: 3_000_000,
        },
    );
    let out = texts(&run_results(&m, Tab::Queue));
    assert!(!out.contains("sends its SYN again"), "{out}");
    assert!(
        out.contains("sent their SYNs again until there was room"),
        "{out}"
    );
    assert_eq!(kinds(&m, "4 dropped SYNs"), ["info"]);
}

#[wasm_bindgen_test(unsupported = test)]
fn time_wait_shows_the_kernels_countdown_and_the_restart_error() {
    let mut m = open_model();
    let cmds = m.experiment(Action::TwConnect, &Params::default());
    assert!(matches!(
        cmds[0],
        Command::LabStart {
            server: RESTARTABLE,
            ..
        }
    ));
    assert_eq!(
        m.experiment(Action::TwServerClose, &Params::default()),
        [Command::LabCloseClients {
            server: RESTARTABLE
        }]
    );
    assert_eq!(
        m.experiment(Action::TwRestartWithout, &Params::default()),
        [Command::LabRestart {
            server: RESTARTABLE,
            reuseaddr: false
        }]
    );
    let addr = "127.0.0.1:4000".parse().unwrap();
    apply(
        &mut m,
        EventBody::LabStarted {
            server: RESTARTABLE,
            addr,
            spec: protocol::LabSpec::tutorial(protocol::Transport::Tcp),
        },
    );
    let tw = KernelSocket {
        local: addr,
        remote: "127.0.0.1:5000".parse().unwrap(),
        state: "TIME_WAIT".into(),
        timer_ms: Some(59_000),
    };
    apply(
        &mut m,
        EventBody::KernelSockets {
            server: RESTARTABLE,
            sockets: vec![tw],
        },
    );
    apply(
        &mut m,
        EventBody::LabStopped {
            server: RESTARTABLE,
        },
    );
    let inuse = OsError {
        errno: 98,
        name: "EADDRINUSE".into(),
        message: "Address already in use".into(),
    };
    apply(
        &mut m,
        EventBody::Error {
            id: None,
            server: Some(RESTARTABLE),
            code: protocol::ErrorCode::Os,
            message: "bind() failed".into(),
            os: Some(inuse),
        },
    );
    let blocks = run_results(&m, Tab::TimeWait);
    let out = texts(&blocks);
    assert!(out.contains("server: stopped"), "{out}");
    assert!(out.contains("EADDRINUSE"), "{out}");
    assert!(out.contains("TIME_WAIT · 59 s left"), "{out}");
    // The restart failed (✗); the TIME_WAIT is the kernel waiting (…), not a failure.
    let kind_of = |needle: &str| {
        let lines = blocks.iter().flat_map(|b| b.lines.iter());
        lines
            .filter(|l| l.text.contains(needle))
            .map(|l| l.kind)
            .collect::<Vec<_>>()
    };
    assert_eq!(kind_of("EADDRINUSE"), ["bad"]);
    assert_eq!(kind_of("TIME_WAIT"), ["wait"]);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_file_transfer_reports_progress_and_the_hash_verdict() {
    let mut m = open_model();
    let p = Params::default().with("size", "2");
    let cmds = m.experiment(Action::FileTcp, &p);
    assert!(matches!(
        &cmds[0],
        Command::FileStart {
            source: protocol::FileSource::Generated { size: 2048 },
            ..
        }
    ));
    let id = m.runs.file.as_ref().unwrap().id;
    assert!(
        available(&m, Action::FileCancel),
        "a transfer runs: Cancel can stop it"
    );
    let progress = FileProgress {
        bytes_sent: 2048,
        bytes_echoed: 2048,
        sends: 35,
        recvs: 2,
        ..Default::default()
    };
    let result = FileResult {
        progress,
        sha256_expected: "ab".into(),
        sha256_echoed: "ab".into(),
        lost: 0,
        missing: vec![],
        retransmitted: Some(2),
        elapsed_us: 1000,
        cancelled: false,
    };
    apply(&mut m, EventBody::FileDone { id, result });
    let out = texts(&run_results(&m, Tab::File));
    assert!(
        out.contains("2048 B sent, 2048 B echoed, of 2048 B"),
        "{out}"
    );
    assert!(
        out.contains("segments the client's kernel retransmitted: 2"),
        "{out}"
    );
    assert!(out.contains("client: send() × 35"), "{out}");
    assert!(
        out.contains("match: the echo is the file uppercased, byte for byte"),
        "{out}"
    );
    assert_eq!(
        kind_of(&m, "2048 B sent"),
        ["ok"],
        "all of it sent and echoed"
    );
    assert!(
        out.contains("SHA-256 of the file uppercased (what should come back): ab"),
        "{out}"
    );
    assert!(
        !available(&m, Action::FileCancel),
        "nothing to cancel any more"
    );
    // A second transfer cancels nothing: the first one is finished.
    let cmds = m.experiment(Action::FileTcp, &Params::default());
    assert!(
        !cmds.iter().any(|c| matches!(c, Command::FileCancel { .. })),
        "{cmds:?}"
    );
}

/// The kinds (✓, ✗, …) of the File tab's lines that contain `needle`.
fn kind_of(m: &Model, needle: &str) -> Vec<&'static str> {
    run_results(m, Tab::File)
        .iter()
        .flat_map(|b| b.lines.iter())
        .filter(|l| l.text.contains(needle))
        .map(|l| l.kind)
        .collect()
}

#[wasm_bindgen_test(unsupported = test)]
fn a_cancelled_or_lossy_transfer_is_not_ticked_and_its_hash_says_what_it_covers() {
    let mut m = open_model();
    let p = Params::default().with("size", "4");
    m.experiment(Action::FileUdp, &p);
    let id = m.runs.file.as_ref().unwrap().id;
    let result = |sent: u64, echoed: u64, cancelled: bool| FileResult {
        progress: FileProgress {
            bytes_sent: sent,
            bytes_echoed: echoed,
            ..Default::default()
        },
        sha256_expected: "ab".into(),
        sha256_echoed: "cd".into(),
        lost: 0,
        missing: vec![],
        retransmitted: None,
        elapsed_us: 1000,
        cancelled,
    };
    // Datagrams lost: all of it sent, not all of it back.
    apply(
        &mut m,
        EventBody::FileDone {
            id,
            result: result(4096, 3072, false),
        },
    );
    assert_eq!(kind_of(&m, "4096 B sent, 3072 B echoed"), ["bad"]);
    let out = texts(&run_results(&m, Tab::File));
    assert!(out.contains("SHA-256 of the file uppercased"), "{out}");

    // Cancelled after 2048 B: the expected hash is of those 2048 B, not of the file.
    m.experiment(Action::FileTcp, &p);
    let id = m.runs.file.as_ref().unwrap().id;
    apply(
        &mut m,
        EventBody::FileDone {
            id,
            result: result(2048, 2048, true),
        },
    );
    assert_eq!(
        kind_of(&m, "2048 B sent, 2048 B echoed, of 4096 B"),
        ["bad"]
    );
    let out = texts(&run_results(&m, Tab::File));
    assert!(
        out.contains("SHA-256 of the 2048 B sent before the cancel, uppercased"),
        "{out}"
    );
    assert!(!out.contains("SHA-256 of the file"), "{out}");

    // A transfer the bridge refused has nothing to cancel either.
    m.experiment(Action::FileTcp, &p);
    let id = m.runs.file.as_ref().unwrap().id;
    assert!(available(&m, Action::FileCancel));
    apply(
        &mut m,
        EventBody::Error {
            id: Some(id),
            server: None,
            code: protocol::ErrorCode::BridgeBusy,
            message: "busy".into(),
            os: None,
        },
    );
    assert!(!available(&m, Action::FileCancel));
}

#[wasm_bindgen_test(unsupported = test)]
fn an_upload_goes_in_a_window_of_chunks_driven_by_progress() {
    let mut m = open_model();
    let data = vec![b'x'; file::CHUNK * (file::WINDOW + 3)];
    let cmds = m.upload_file(Action::FileTcp, "big.bin".into(), data);
    let chunks = |cmds: &[Command]| {
        cmds.iter()
            .filter(|c| matches!(c, Command::FileChunk { .. }))
            .count()
    };
    assert_eq!(chunks(&cmds), file::WINDOW, "only a window ahead");
    let id = m.runs.file.as_ref().unwrap().id;
    let progress = FileProgress {
        bytes_sent: (3 * file::CHUNK) as u64,
        ..Default::default()
    };
    apply(&mut m, EventBody::FileProgress { id, progress });
    assert_eq!(chunks(&m.take_outgoing()), 3, "more as the bridge sends on");
    assert!(m.runs.upload.is_none(), "all handed over");
}

#[wasm_bindgen_test(unsupported = test)]
fn other_clients_are_listed_with_their_bytes() {
    let mut m = open_model();
    let client = "127.0.0.1:5555".parse().unwrap();
    apply(
        &mut m,
        EventBody::OtherClient {
            transport: protocol::Transport::Tcp,
            client,
            op: ServerSide::Recv {
                data: "from nc".into(),
            },
        },
    );
    let out = texts(&run_results(&m, Tab::Others));
    assert!(out.contains("nc 127.0.0.1 8080"), "{out}");
    assert!(
        out.contains("TCP 127.0.0.1:5555 recv(1024) → 7 B \"from nc\""),
        "{out}"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn experiments_without_a_bridge_send_nothing_and_say_why() {
    let mut m = Model::new("ws://x/ws");
    assert!(
        m.experiment(Action::StickyRun, &Params::default())
            .is_empty()
    );
    assert!(
        m.log()
            .since(0)
            .any(|(_, e)| e.what == crate::model::log::What::NoBridge)
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn the_glossary_pairs_the_tutorials_terms_in_the_consoles_language() {
    let m = open_model();
    let en = texts(&Tab::Glossary.results(&m, &EN));
    let zh = texts(&Tab::Glossary.results(&m, &crate::i18n::ZH_CN));
    let titles: Vec<String> = Tab::Glossary
        .results(&m, &EN)
        .into_iter()
        .map(|b| b.title)
        .collect();
    for term in [
        "粘包 · message boundaries",
        "三次握手 · three-way handshake",
        "四次挥手 · four-way teardown",
        "半连接池 · SYN queue",
        "全连接队列 · accept queue",
        "套接字 · socket",
    ] {
        assert!(
            titles.iter().any(|t| t.starts_with(term)),
            "{term} in {titles:?}"
        );
    }
    assert!(en.contains("byte stream") && !en.contains("字节流："));
    assert!(zh.contains("字节流") && !zh.contains("byte stream:"));
}

#[wasm_bindgen_test(unsupported = test)]
fn the_lossy_link_starts_impaired_servers_and_reads_what_came_back() {
    let mut m = open_model();
    let p = Params::default().with("loss", "30").with("delay", "40");
    let cmds = m.experiment(Action::LossyTcp, &p);
    let Command::LabStart {
        server: LOSSY_TCP,
        spec,
    } = &cmds[0]
    else {
        panic!("{cmds:?}")
    };
    let impair = spec.impair.expect("an impaired link");
    assert_eq!((impair.loss_pct, impair.delay_ms), (30, 40));
    let (id, expected) = m.runs.lossy.tcp.clone().unwrap();
    assert!(matches!(
        &cmds[2],
        Command::TcpSendBurst { messages, .. } if messages.len() == lossy::COUNT
    ));
    assert_eq!(expected.len(), lossy::COUNT * 1000);
    // The echo comes back in pieces, whole in the end; TCP_INFO says it retransmitted.
    apply(
        &mut m,
        EventBody::TcpConnected {
            id,
            local: "127.0.0.1:50000".parse().unwrap(),
            peer: "127.0.0.1:40000".parse().unwrap(),
            connect_us: 1_000_000,
        },
    );
    let (a, b) = expected.split_at(5000);
    for part in [a, b] {
        apply(
            &mut m,
            EventBody::TcpReceived {
                id,
                data: part.to_vec().into(),
            },
        );
    }
    let info = protocol::TcpInfo {
        rtt_us: 80_000,
        cwnd: 4,
        total_retrans: 3,
        ..Default::default()
    };
    apply(
        &mut m,
        EventBody::TcpState {
            id,
            state: "ESTABLISHED".into(),
            info: Some(info),
            timer_ms: None,
        },
    );
    let blocks = run_results(&m, Tab::Lossy);
    let out = texts(&blocks);
    assert!(out.contains("12000 B of 12000 B came back"), "{out}");
    assert!(out.contains("every byte came back, in order"), "{out}");
    // Said only because the kernel did resend (its TCP_INFO counts 3).
    assert!(out.contains("TCP resent what the link lost"), "{out}");
    assert!(
        out.contains("segments the client's kernel retransmitted: 3"),
        "{out}"
    );
    assert!(!out.contains("cannot"), "{out}");
    let chart = blocks[0].lines.iter().find(|l| l.kind == "chart").unwrap();
    assert_eq!(chart.points, [4]);
    assert!(chart.text.contains("now 4"), "{}", chart.text);
    assert!(chart.text.ends_with("the chart's top: 4"), "{}", chart.text);

    // UDP: which numbered datagrams came back, in which order, how often.
    let cmds = m.experiment(Action::LossyUdp, &p);
    assert_eq!(cmds.len(), 1 + lossy::COUNT);
    let id = m.runs.lossy.udp.unwrap();
    for _ in 0..lossy::COUNT {
        apply(
            &mut m,
            EventBody::UdpSent {
                id,
                local: "127.0.0.1:50001".parse().unwrap(),
                peer: "127.0.0.1:40001".parse().unwrap(),
                len: 2,
                connected: false,
            },
        );
    }
    for n in ["01", "03", "02", "03", "05"] {
        apply(
            &mut m,
            EventBody::UdpReceived {
                id,
                from: "127.0.0.1:40001".parse().unwrap(),
                data: n.into(),
            },
        );
    }
    let out = texts(&run_results(&m, Tab::Lossy));
    assert!(
        out.contains("12 sent · 4 came back · 1 out of order · 1 twice"),
        "{out}"
    );
    assert!(out.contains("not back yet: #04 #06"), "{out}");
    apply(
        &mut m,
        EventBody::UdpNoReply {
            id,
            waited_ms: 2000,
        },
    );
    let out = texts(&run_results(&m, Tab::Lossy));
    assert!(out.contains("never came back: #04 #06"), "{out}");
}

#[wasm_bindgen_test(unsupported = test)]
fn without_impairments_the_lossy_link_says_why_with_the_bridges_hint() {
    let mut m = Model::new("ws://127.0.0.1:8000/ws");
    m.bridge_opened();
    m.apply(Event::new(
        0,
        EventBody::Hello {
            tcp_server: "127.0.0.1:8080".parse().unwrap(),
            udp_server: "127.0.0.1:8081".parse().unwrap(),
            tcp_server6: None,
            udp_server6: None,
            limits: Limits {
                max_message: 65536,
                max_sockets: 16,
            },
            show_other_clients: false,
            capture: Default::default(),
            impair: protocol::ImpairState::NoPermission {
                hint: "sudo setcap cap_net_raw,cap_net_admin+ep target/debug/bridge".into(),
            },
            started_unix_us: 0,
            bridge_version: String::new(),
            kernel: String::new(),
        },
    ));
    let out = texts(&run_results(&m, Tab::Lossy));
    assert!(
        out.contains("This bridge cannot make a lossy link: sudo setcap"),
        "{out}"
    );
    let zh = texts(&Tab::Lossy.results(&m, &crate::i18n::ZH_CN));
    assert!(zh.contains("无法模拟有损链路：sudo setcap"), "{zh}");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_number_out_of_its_range_sends_nothing_and_says_the_range_in_both_languages() {
    let mut m = open_model();
    // Each of these was once replaced without a word (−5 sent 3,000 bytes, 70,000 sent 65,536).
    for (action, key, value) in [
        (Action::BigTcp, "size", "-5"),
        (Action::BigUdp, "size", "70000"),
        (Action::BigTcp, "buffer", "0"),
        (Action::StickyRun, "delay", "2001"),
        (Action::FileTcp, "size", "1.5"),
        (Action::LossyTcp, "loss", "101"),
        (Action::LossyUdp, "delay", "?"),
    ] {
        let p = Params::default().with(key, value);
        assert_eq!(m.experiment(action, &p), [], "{action:?} {key}={value}");
        let (_, last) = m.log().since(0).last().unwrap();
        let crate::model::log::What::OutOfRange(r) = &last.what else {
            panic!("{action:?} {key}={value}: {:?}", last.what);
        };
        assert_eq!(
            (r.tab, r.key, r.value.as_str()),
            (Tab::of(action), key, value)
        );
        let en = crate::present::line(&EN, last).text;
        let zh = crate::present::line(&crate::i18n::ZH_CN, last).text;
        let range = (r.min.to_string(), r.max.to_string());
        for text in [&en, &zh] {
            assert!(
                text.contains(&range.0) && text.contains(&range.1) && text.contains(value),
                "{text}"
            );
        }
        assert!(
            en.starts_with("not sent: ") && en.contains(r.label(&EN)),
            "{en}"
        );
        assert!(
            zh.starts_with("未发送：") && zh.contains(r.label(&crate::i18n::ZH_CN)),
            "{zh}"
        );
    }
    // In range, or left empty (the default), goes out.
    let p = Params::default().with("size", "70").with("buffer", "");
    assert!(!m.experiment(Action::BigTcp, &p).is_empty());
}

#[wasm_bindgen_test(unsupported = test)]
fn the_queue_lets_other_experiments_sockets_go_and_nothing_is_closed_twice() {
    let mut m = open_model();
    let sticky = m.experiment(Action::StickyRun, &Params::default());
    let empty = m.experiment(Action::EmptyTcp, &Params::default());
    let big = m.experiment(Action::BigUdp, &Params::default());
    assert!(!sticky.is_empty() && !empty.is_empty() && !big.is_empty());
    // The session's 16 sockets would run out after the earlier tabs (the audit's failing queue).
    let queue = m.experiment(Action::QueueOpen, &Params::default());
    let closes: Vec<&Command> = queue
        .iter()
        .filter(|c| matches!(c, Command::TcpClose { .. } | Command::UdpClose { .. }))
        .collect();
    assert_eq!(
        closes.len(),
        4,
        "sticky's two, empty's one, bigger's one: {queue:?}"
    );
    // Running sticky again does not close what the queue closed already.
    let again = m.experiment(Action::StickyRun, &Params::default());
    assert!(
        !again
            .iter()
            .any(|c| matches!(c, Command::TcpClose { .. } | Command::UdpClose { .. })),
        "{again:?}"
    );
}

/// A live "Nobody listening" run, recorded as the console records it (frames as received and
/// sent, the click), then replayed in a fresh console: the same log, tags and bytes.
#[wasm_bindgen_test(unsupported = test)]
fn a_replayed_experiment_logs_what_the_live_one_did() {
    let hello = r#"{"v":1,"t_us":0,"type":"hello","tcp_server":"127.0.0.1:8080","udp_server":"127.0.0.1:8081","limits":{"max_message":65536,"max_sockets":16},"started_unix_us":1795000000000000}"#;
    let mut live = Model::new("ws://127.0.0.1:8000/ws");
    live.bridge_opened();
    let receive = |m: &mut Model, frame: &str| {
        m.record(frame);
        m.apply(Event::from_json(frame).unwrap());
    };
    receive(&mut live, hello);
    let cmds = live.experiment(Action::NobodyUdpConnected, &Params::default());
    for cmd in cmds {
        live.record_sent(&protocol::ClientMsg::new(cmd).to_json());
    }
    let id = live.runs.nobody[0].id;
    let events = [
        format!(
            r#"{{"v":1,"t_us":10,"called_us":5,"type":"udp_sent","id":{id},"local":"127.0.0.1:5000","peer":"127.0.0.1:9","len":6,"connected":true}}"#
        ),
        format!(
            r#"{{"v":1,"t_us":20,"called_us":11,"type":"error","id":{id},"code":"os","message":"recv() failed: Connection refused","os":{{"errno":111,"name":"ECONNREFUSED","message":"Connection refused"}}}}"#
        ),
    ];
    for frame in &events {
        receive(&mut live, frame);
    }
    let file = live.recording_file(0).unwrap();

    let mut replayed = Model::new("ws://127.0.0.1:8000/ws");
    replayed.start_replay(file, "r.jsonl", false).unwrap();
    while replayed.replay().is_some_and(|r| !r.done()) {
        replayed.replay_next();
    }
    use crate::model::log::What;
    let calls = |m: &Model| {
        m.log()
            .iter()
            .filter(|e| matches!(e.what, What::Sent { .. } | What::Error { .. }))
            .map(|e| (e.proto, e.what.clone()))
            .collect::<Vec<_>>()
    };
    let live_calls = calls(&live);
    assert_eq!(live_calls.len(), 2);
    assert_eq!(
        calls(&replayed),
        live_calls,
        "tags, and no bytes the live log did not show"
    );
    // "Save recording" saves live sessions: a replay has none.
    assert!(live.can_save_recording());
    assert!(!replayed.can_save_recording());
    // Once it ended, "Play again" plays it from the start on a cleared log: the same calls,
    // once, at the same speed.
    replayed.set_replay_speed(400);
    assert!(replayed.replay_toggle(), "playing again");
    assert!(
        replayed
            .replay()
            .is_some_and(|r| !r.done() && r.speed == 400)
    );
    while replayed.replay().is_some_and(|r| !r.done()) {
        replayed.replay_next();
    }
    assert_eq!(calls(&replayed), live_calls);
}

/// Each lossy run restarts its lab server, so the link's counts are the latest run's: they go
/// with that run's card only (a file sent later used to put its counts on the TCP card).
#[wasm_bindgen_test(unsupported = test)]
fn the_links_counts_go_with_the_latest_run_on_its_server_only() {
    let mut m = open_model();
    let p = Params::default();
    let addr: std::net::SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let link = |m: &mut Model, packets: u64| {
        apply(
            m,
            EventBody::LabStarted {
                server: LOSSY_TCP,
                addr,
                spec: protocol::LabSpec::tutorial(protocol::Transport::Tcp),
            },
        );
        let stats = protocol::LinkStats {
            packets,
            dropped: 1,
            delayed: packets - 1,
            reordered: 0,
            duplicated: 0,
            overflow: 0,
        };
        apply(
            m,
            EventBody::LinkStats {
                server: LOSSY_TCP,
                stats,
            },
        );
    };
    m.experiment(Action::LossyTcp, &p);
    link(&mut m, 11);
    let blocks = run_results(&m, Tab::Lossy);
    assert!(
        texts(&blocks[..1]).contains("11 packets"),
        "{}",
        texts(&blocks)
    );
    m.experiment(Action::LossyFileTcp, &p);
    link(&mut m, 39);
    let blocks = run_results(&m, Tab::Lossy);
    assert!(
        !texts(&blocks[..1]).contains("packets,"),
        "{}",
        texts(&blocks[..1])
    );
    assert!(
        texts(&blocks[1..]).contains("39 packets"),
        "{}",
        texts(&blocks)
    );
    // The TCP run again: its card has the counts, the file's card no longer.
    m.experiment(Action::LossyTcp, &p);
    link(&mut m, 12);
    let blocks = run_results(&m, Tab::Lossy);
    let all = texts(&blocks);
    assert_eq!(all.matches("packets,").count(), 1, "{all}");
    assert!(texts(&blocks[..1]).contains("12 packets"), "{all}");
}
