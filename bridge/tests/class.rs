//! A bridge a whole class shares: one learner's experiments never stop another's echoes, slow
//! and idle clients cost only themselves, every limit refuses with a reason, and the kernel's own
//! counts reach the session they concern. Real sockets, a real bridge, never a timing assertion
//! (only generous bounds on "it still works").

mod common;

use common::{Client, PATIENCE, connect, lab_with};
use futures_util::StreamExt;
use protocol::{Command, ErrorCode, EventBody, FileSource, LabSpec, ServerSide, Target, Transport};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A TCP connection from another loopback address (Linux answers for all of 127.0.0.0/8), as if
/// from another machine of the class.
async fn connect_from(from: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{from}:0").parse().unwrap())?;
    socket.connect(to).await
}

/// Is the connection closed by the other end within `wait` (read returns 0 or fails)?
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(wait, stream.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    )
}

async fn echo(c: &mut Client, id: u32, text: &str) {
    c.send(Command::TcpSend {
        id,
        data: text.into(),
    })
    .await;
    let want = text.to_ascii_uppercase().into_bytes();
    c.until(
        "the echo",
        |b| matches!(b, EventBody::TcpReceived { id: i, data } if *i == id && data.0 == want),
    )
    .await;
}

#[tokio::test]
async fn a_learner_with_eight_lab_servers_and_a_churn_never_stops_anothers_echoes() {
    let lab = lab_with(&[]).await;
    let mut busy = connect(&lab).await;
    for server in 1..=8 {
        let spec = LabSpec::tutorial(Transport::Tcp);
        busy.send(Command::LabStart { server, spec }).await;
    }
    busy.until_all("lab_started", 1..=8u32, |b| match b {
        EventBody::LabStarted { server, .. } => Some(*server),
        _ => None,
    })
    .await;
    // The busy learner opens, uses and closes connections to its lab servers, over and over,
    // leaving TIME_WAITs behind, while the bystander echoes.
    let mut bystander = connect(&lab).await;
    bystander.send(Command::tcp_connect(1)).await;
    let churn = async {
        for round in 0..40u32 {
            let id = 100 + round;
            let server = round % 8 + 1;
            busy.send(Command::TcpConnect {
                id,
                to: Target::Lab(server),
            })
            .await;
            busy.send(Command::TcpSend {
                id,
                data: "x".into(),
            })
            .await;
            busy.send(Command::TcpClose { id }).await;
            busy.until(
                "the churned connection to close",
                |b| matches!(b, EventBody::TcpClosed { id: i, .. } if *i == id),
            )
            .await;
        }
    };
    let echoes = async {
        for n in 0..40 {
            echo(&mut bystander, 1, &format!("ping {n}")).await;
        }
    };
    tokio::join!(churn, echoes);
    let _ = busy.events_for(Duration::from_millis(600)).await;
    // The busy session still sees its kernel state: the lab servers' accept queues and its
    // closed connections' TIME_WAIT, read without scanning the kernel's tables.
    assert!(
        busy.seen
            .iter()
            .any(|e| matches!(&e.body, EventBody::TcpState { state, .. } if state == "TIME_WAIT")),
        "closed connections are watched"
    );
    assert!(
        busy.seen
            .iter()
            .any(|e| matches!(e.body, EventBody::ListenQueue { backlog: 5, .. })),
        "lab servers' queues are watched"
    );
}

#[tokio::test]
async fn sessions_per_address_are_capped_with_a_reason_and_others_still_get_in() {
    let lab = lab_with(&["--max-sessions-per-ip", "2"]).await;
    let _one = connect(&lab).await;
    let _two = connect(&lab).await;
    let (status, _, body) = common::http_get_with(
        &lab,
        "/ws",
        &lab.http_addr().to_string(),
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
    )
    .await;
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("--max-sessions-per-ip"), "{body}");
    // Another machine of the class (another address) still gets a session.
    let stream = connect_from("127.0.0.2", lab.http_addr()).await.unwrap();
    let url = format!("ws://{}/ws", lab.http_addr());
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .expect("another address is not capped");
    let hello = tokio::time::timeout(PATIENCE, ws.next()).await.unwrap();
    assert!(hello.unwrap().unwrap().to_text().unwrap().contains("hello"));
}

/// A browser never shows a page why its WebSocket handshake was refused, so a console asks
/// with a plain `GET /ws`: the same checks, nothing counted, readable from any origin (CORS).
#[tokio::test]
async fn a_plain_get_of_ws_says_why_a_session_would_be_refused() {
    let lab = lab_with(&["--max-sessions-per-ip", "1"]).await;
    let host = lab.http_addr().to_string();
    let ask = |origin: &'static str| {
        let host = host.clone();
        let lab = &lab;
        async move {
            let headers = format!("Origin: {origin}\r\n");
            let (status, head, body) = common::http_get_with(lab, "/ws", &host, &headers).await;
            let cors = head
                .to_ascii_lowercase()
                .contains("access-control-allow-origin: *");
            (status, cors, String::from_utf8_lossy(&body).to_string())
        }
    };
    let own = format!("http://{host}");
    let own: &'static str = Box::leak(own.into_boxed_str());
    // Nothing open yet: a session would be accepted; asking counted nothing.
    let (status, cors, body) = ask(own).await;
    assert_eq!((status, cors), (426, true), "{body}");
    let (status, _, _) = ask(own).await;
    assert_eq!(status, 426, "asking twice still counts no session");
    let _one = connect(&lab).await;
    let (status, cors, body) = ask(own).await;
    assert_eq!((status, cors), (429, true), "{body}");
    assert!(body.contains("--max-sessions-per-ip"), "{body}");
    // A page of another origin is told that its origin is not allowed.
    let (status, cors, body) = ask("https://tutorial.example").await;
    assert_eq!((status, cors), (403, true), "{body}");
}

/// Asks for a WebSocket through a proxy that forwarded for `forwarded`; returns the status and
/// the open connection (a session lives as long as it does).
async fn upgrade_via_proxy(lab: &bridge::Lab, forwarded: &str) -> (u16, TcpStream) {
    let mut stream = TcpStream::connect(lab.http_addr()).await.unwrap();
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         X-Forwarded-For: {forwarded}\r\n\r\n",
        lab.http_addr()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut head))
        .await
        .unwrap()
        .unwrap();
    let status = std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap();
    (status, stream)
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_counts() {
    let lab = lab_with(&["--max-sessions-per-ip", "1", "--trust-x-forwarded-for"]).await;
    // Two readers behind the same proxy: each gets a session.
    let (status, _first) = upgrade_via_proxy(&lab, "198.51.100.7").await;
    assert_eq!(status, 101, "a reader");
    let (status, _second) = upgrade_via_proxy(&lab, "203.0.113.9").await;
    assert_eq!(status, 101, "another reader");
    // The first reader again, even with a spoofed first entry: the proxy's entry is the last.
    let (status, _) = upgrade_via_proxy(&lab, "10.9.9.9, 198.51.100.7").await;
    assert_eq!(status, 429);
}

#[tokio::test]
async fn idle_and_hoarded_http_connections_are_closed_while_a_new_session_opens() {
    let lab = lab_with(&[]).await;
    // One machine opens connections and sends nothing: past its share they are closed at once…
    let mut hoard = vec![];
    for _ in 0..136 {
        hoard.push(connect_from("127.0.0.3", lab.http_addr()).await.unwrap());
    }
    let mut refused = 0;
    for conn in hoard.iter_mut().skip(128) {
        // Answered at once with a 503 that says why, then closed.
        let mut answer = vec![];
        let read = tokio::time::timeout(Duration::from_secs(2), conn.read_to_end(&mut answer));
        if let Ok(Ok(_)) = read.await {
            let answer = String::from_utf8_lossy(&answer);
            assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
            assert!(answer.contains("128 connections open"), "{answer}");
            refused += 1;
        }
    }
    assert_eq!(
        refused, 8,
        "the connections past the per-address share are answered and closed at once"
    );
    // The first 128 are still open, waiting for their requests.
    assert!(!closed_within(&mut hoard[127], Duration::from_millis(200)).await);
    // …another learner's session opens and echoes meanwhile…
    let mut c = connect(&lab).await;
    c.send(Command::tcp_connect(1)).await;
    echo(&mut c, 1, "still here").await;
    // …and the idle ones are closed once the header timeout passes.
    assert!(
        closed_within(&mut hoard[0], Duration::from_secs(15)).await,
        "an idle connection is closed after the header timeout"
    );
    // A request that trickles in too slowly is closed the same way.
    let mut slow = connect_from("127.0.0.4", lab.http_addr()).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: ").await.unwrap();
    assert!(closed_within(&mut slow, Duration::from_secs(15)).await);
}

#[tokio::test]
async fn an_idle_session_is_closed_with_a_reason_the_console_can_show() {
    let lab = lab_with(&["--idle-timeout", "1"]).await;
    let mut c = connect(&lab).await;
    c.send(Command::tcp_connect(1)).await;
    echo(&mut c, 1, "hi").await;
    let close = c.close_frame().await;
    let (code, reason) = close.expect("a close frame");
    assert_eq!(code, 4000);
    assert!(reason.starts_with("idle for 1 s"), "{reason}");
}

#[tokio::test]
async fn a_frame_over_the_limit_closes_with_1009() {
    let lab = lab_with(&["--max-message", "1000"]).await;
    let mut c = connect(&lab).await;
    let huge = format!(
        r#"{{"v":1,"type":"tcp_send","id":1,"data":"{}"}}"#,
        "A".repeat(20_000)
    );
    c.send_text(&huge).await;
    let (code, reason) = c.close_frame().await.expect("a close frame");
    assert_eq!(code, 1009, "{reason}");
    // protocol.md's rule: 2 × (max_message as base64 + 1,024 bytes of JSON).
    let base64 = 1000usize.div_ceil(3) * 4;
    assert_eq!(
        reason,
        format!("a frame over {} bytes", 2 * (base64 + 1024))
    );
}

#[tokio::test]
async fn a_misspelt_field_is_a_bad_command_that_names_it() {
    let lab = lab_with(&[]).await;
    let mut c = connect(&lab).await;
    c.send_text(r#"{"v":1,"type":"udp_send","id":1,"data":"aGk=","conected":true}"#)
        .await;
    let err = c
        .until("the error", |b| matches!(b, EventBody::Error { .. }))
        .await;
    let EventBody::Error { code, message, .. } = err else {
        unreachable!()
    };
    assert_eq!(code, ErrorCode::BadCommand);
    assert!(message.contains(r#"unknown field "conected""#), "{message}");
    // Nothing was sent in its place.
    assert!(
        !c.seen
            .iter()
            .any(|e| matches!(e.body, EventBody::UdpSent { .. }))
    );
}

#[tokio::test]
async fn the_echo_server_closes_an_idle_client_and_refuses_hoarders_but_not_sessions() {
    let lab = lab_with(&["--client-idle-timeout", "1"]).await;
    let mut c = connect(&lab).await;
    c.send(Command::tcp_connect(1)).await;
    echo(&mut c, 1, "hi").await;
    // One second of silence: the server closes, and says why.
    c.until("the server's idle close", |b| {
        matches!(
            b,
            EventBody::Server {
                op: ServerSide::Close {
                    idle_s: Some(1),
                    ..
                },
                ..
            }
        )
    })
    .await;
    c.until("the connection's end", |b| {
        matches!(b, EventBody::TcpClosed { .. })
    })
    .await;

    // Clients that are nobody's session (a program hoarding connections) get a bounded share…
    let mut others = vec![];
    for _ in 0..64 {
        others.push(TcpStream::connect(lab.tcp_addr()).await.unwrap());
    }
    // (the server has accepted them all before the next one: each echoes)
    for o in others.iter_mut() {
        o.write_all(b"a").await.unwrap();
        let mut b = [0u8; 1];
        o.read_exact(&mut b).await.unwrap();
    }
    let mut extra = TcpStream::connect(lab.tcp_addr()).await.unwrap();
    assert!(
        closed_within(&mut extra, Duration::from_secs(5)).await,
        "past the share, the server closes at once"
    );
    // …and a session's connection is still served.
    c.send(Command::tcp_connect(2)).await;
    echo(&mut c, 2, "served").await;
}

#[tokio::test]
async fn a_udp_flood_into_a_slow_server_is_reported_with_the_kernels_own_count() {
    let lab = lab_with(&[]).await;
    let mut c = connect(&lab).await;
    let spec = LabSpec {
        read_delay_ms: 5,
        ..LabSpec::tutorial(Transport::Udp)
    };
    c.send(Command::LabStart { server: 1, spec }).await;
    let EventBody::LabStarted { addr, .. } = c
        .until("lab_started", |b| matches!(b, EventBody::LabStarted { .. }))
        .await
    else {
        unreachable!()
    };
    // 600 datagrams, as fast as the kernel takes them, into a server that sleeps 5 ms per read:
    // its default receive buffer overflows.
    c.send(Command::FileStart {
        id: 1,
        transport: Transport::Udp,
        to: Target::Lab(1),
        source: FileSource::Generated { size: 600 * 1013 },
        datagram: 1024,
    })
    .await;
    let done = c
        .until("file_done", |b| matches!(b, EventBody::FileDone { .. }))
        .await;
    let EventBody::FileDone { result, .. } = done else {
        unreachable!()
    };
    // The last drops are reported when the server's queue runs dry.
    let _ = c.events_for(Duration::from_millis(500)).await;
    let reported: u64 = c
        .seen
        .iter()
        .filter_map(|e| match e.body {
            EventBody::UdpDropped {
                addr: a, dropped, ..
            } if a == addr => Some(dropped),
            _ => None,
        })
        .sum();
    assert!(reported > 0, "the buffer overflowed: {result:?}");
    // Every datagram the server never read was one the kernel counted as dropped.
    assert_eq!(result.progress.sends - result.progress.recvs, reported);
    // `ss` (a reference nobody here wrote) shows the same count for the server's socket.
    let out = std::process::Command::new("ss")
        .args(["-Huamn", &format!("sport = :{}", addr.port())])
        .output()
        .expect("ss (iproute2) is installed");
    let ss = String::from_utf8_lossy(&out.stdout);
    assert!(ss.contains(&format!(",d{reported})")), "ss says {ss}");
}

#[tokio::test]
async fn t_us_never_decreases_under_a_flood_with_drop_reports() {
    let lab = lab_with(&[]).await;
    let mut c = connect(&lab).await;
    // 16 sockets × 16 datagrams at a time, in waves, without waiting for the echoes.
    let mut sent = 0;
    for _wave in 0..8 {
        for id in 1..=16 {
            for _ in 0..16 {
                c.send(Command::udp_send(id, "flood")).await;
            }
        }
        let mut confirmed = 0;
        while confirmed < 256 {
            match c.next().await.body {
                EventBody::UdpSent { .. } => confirmed += 1,
                EventBody::Error {
                    code: ErrorCode::QueueFull,
                    ..
                } => confirmed += 1,
                _ => {}
            }
        }
        sent += 256;
    }
    let _ = c.events_for(Duration::from_millis(500)).await;
    assert!(sent > 0);
    let times: Vec<u64> = c.seen.iter().map(|e| e.t_us).collect();
    let back = times.windows(2).position(|w| w[1] < w[0]);
    assert_eq!(back, None, "t_us went back at {back:?}");
    if matches!(
        c.seen[0].body,
        EventBody::Hello {
            capture: protocol::CaptureState::On,
            ..
        }
    ) {
        assert!(
            c.seen.iter().any(|e| matches!(
                e.body,
                EventBody::Error {
                    code: ErrorCode::PacketsDropped,
                    ..
                }
            )),
            "4,000 packets in a burst are over the session's packet budget"
        );
    }
}

/// Starts the real binary with at most `fds` open files; returns it and its banner.
fn bridge_with_fd_limit(fds: u32) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let bin = env!("CARGO_BIN_EXE_bridge");
    let script = format!(
        "ulimit -n {fds} && exec {bin} --http 127.0.0.1:0 --tcp 127.0.0.1:0 --udp 127.0.0.1:0 \
         --tcp6 [::1]:0 --udp6 [::1]:0 \
         --no-capture"
    );
    let mut child = std::process::Command::new("sh")
        .args(["-c", &script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut banner = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            banner += &line;
            banner += "\n";
            if line.contains("Ctrl-C") {
                let _ = tx.send(banner);
                return;
            }
        }
    });
    let banner = rx.recv_timeout(PATIENCE).unwrap_or_else(|_| {
        let _ = child.kill();
        panic!("no banner within {PATIENCE:?}")
    });
    (child, banner)
}

type RawWs = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// Reads text frames until one contains `kind`; returns it.
async fn until_text(ws: &mut RawWs, kind: &str) -> String {
    let read = async {
        loop {
            let frame = ws.next().await.expect("open").expect("a frame");
            let text = frame.to_text().unwrap_or_default().to_string();
            if text.contains(kind) {
                return text;
            }
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .unwrap_or_else(|_| panic!("no {kind} within {PATIENCE:?}"))
}

async fn send_cmd(ws: &mut RawWs, cmd: Command) {
    use futures_util::SinkExt;
    let text = protocol::ClientMsg::new(cmd).to_json();
    ws.send(tokio_tungstenite::tungstenite::Message::text(text))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_small_descriptor_budget_shares_experiments_and_says_who_waits() {
    let (mut child, banner) = bridge_with_fd_limit(150);
    // 150 descriptors: 80 for the bridge, 16 for pages, one block of 44 for experiments, and a
    // WebSocket each for the rest.
    assert!(
        banner.contains("150 file descriptors: 10 sessions, 1 of them running experiments at once"),
        "{banner}"
    );
    assert!(
        banner.contains("--max-sessions 64 lowered to 10"),
        "{banner}"
    );
    let http = banner
        .split("Open http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("the URL in the banner")
        .to_string();
    let url = format!("ws://{http}/ws");
    let (mut first, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let (mut second, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let start = |server| Command::LabStart {
        server,
        spec: LabSpec::tutorial(Transport::Tcp),
    };
    send_cmd(&mut first, start(1)).await;
    until_text(&mut first, "lab_started").await;
    // The only block is the first session's: the second is told, and nothing opens.
    send_cmd(&mut second, start(1)).await;
    let busy = until_text(&mut second, "\"error\"").await;
    assert!(busy.contains("\"bridge_busy\""), "{busy}");
    send_cmd(&mut second, Command::tcp_connect(1)).await;
    let busy = until_text(&mut second, "\"error\"").await;
    assert!(
        busy.contains("\"bridge_busy\"") && busy.contains("\"id\":1"),
        "{busy}"
    );
    // The first stops its server: its block is free, and the second gets it.
    send_cmd(&mut first, Command::LabStop { server: 1 }).await;
    until_text(&mut first, "lab_stopped").await;
    send_cmd(&mut second, start(1)).await;
    until_text(&mut second, "lab_started").await;
    let _ = child.kill();
    let _ = child.wait();
}

/// A browser that stops reading: its events wait in the bridge's outbox until that is full;
/// then what the shared echo server does for others (`--show-other-clients`) is dropped for it
/// (a slow reader must not hold the server up), counted, and reported when it reads again
/// (`events_dropped`). The count is exact: the server events seen plus those reported dropped
/// are two per datagram the server read (its recvfrom() and its sendto()).
#[tokio::test]
async fn a_browser_that_falls_behind_is_told_exactly_how_many_events_were_dropped() {
    let lab = lab_with(&["--no-capture", "--show-other-clients"]).await;
    // A browser whose kernel takes little: a 4 KiB receive buffer, set before connecting.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(lab.http_addr()).await.unwrap();
    let mut request = format!("ws://{}/ws", lab.http_addr())
        .into_client_request()
        .unwrap();
    let origin = format!("http://{}", lab.http_addr());
    request
        .headers_mut()
        .insert("Origin", origin.parse().unwrap());
    let (ws, _) =
        tokio_tungstenite::client_async(request, tokio_tungstenite::MaybeTlsStream::Plain(stream))
            .await
            .unwrap();
    let mut c = Client::from_ws(ws).await;
    // It reads nothing from now on. Someone else (a plain socket, as the tutorial's client)
    // uses the shared server, one echo at a time so that no kernel drops any: two events each
    // for the browser, more than the bridge's outbox and both kernels' buffers hold.
    let other = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    const ECHOES: u64 = 20_000;
    let mut buf = [0u8; 64];
    for _ in 0..ECHOES {
        other
            .send_to(b"someone else", lab.udp_addr())
            .await
            .unwrap();
        tokio::time::timeout(PATIENCE, other.recv_from(&mut buf))
            .await
            .expect("the echo server answers others whatever a session does")
            .unwrap();
    }
    // Now read everything.
    let events = c.events_for(Duration::from_secs(3)).await;
    let count = |f: &dyn Fn(&EventBody) -> bool| events.iter().filter(|e| f(e)).count() as u64;
    let server_events = count(&|e| {
        matches!(
            e,
            EventBody::OtherClient {
                op: ServerSide::RecvFrom { .. } | ServerSide::SendTo { .. },
                ..
            }
        )
    });
    let reported: u64 = events
        .iter()
        .filter_map(|e| match e {
            EventBody::Error {
                code: ErrorCode::EventsDropped,
                message,
                ..
            } => message.split(' ').next()?.parse::<u64>().ok(),
            _ => None,
        })
        .sum();
    let mut kinds = std::collections::BTreeMap::new();
    for e in &events {
        let k = format!("{e:?}");
        *kinds
            .entry(k.split([' ', '{', '(']).next().unwrap_or("").to_string())
            .or_insert(0) += 1;
    }
    assert!(
        reported > 0,
        "the outbox was full and others' events were dropped: {kinds:?}"
    );
    assert_eq!(server_events + reported, 2 * ECHOES, "{kinds:?}");
}

/// A socket that is sent commands faster than it carries them out takes 16 at a time; each one
/// beyond is refused with `queue_full` and its id, never dropped silently: every command is
/// either carried out (`udp_sent`) or refused.
#[tokio::test]
async fn commands_beyond_a_sockets_queue_are_refused_one_by_one_never_lost() {
    let lab = lab_with(&["--no-capture"]).await;
    let mut c = connect(&lab).await;
    const SENDS: usize = 300;
    for _ in 0..SENDS {
        c.send(Command::udp_send(1, "burst")).await;
    }
    let mut sent = 0;
    let mut refused = 0;
    while sent + refused < SENDS {
        match c.next().await.body {
            EventBody::UdpSent { id: 1, .. } => sent += 1,
            EventBody::Error {
                id: Some(1),
                code: ErrorCode::QueueFull,
                message,
                ..
            } => {
                assert!(message.contains("16 commands waiting"), "{message}");
                refused += 1;
            }
            _ => {}
        }
    }
    assert!(refused > 0, "300 commands at once overflow a queue of 16");
    assert!(sent >= 16, "the queue's own 16 at least were carried out");
}
