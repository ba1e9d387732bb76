//! The load generator behind `scripts/bench.sh`: it measures, it never judges (the script
//! compares the bridge with its peers side by side and prints the ratios).
//!
//! ```text
//! bench rtt-tcp   ADDR N                 direct TCP echo: N round trips, one in flight
//! bench rtt       URL  raw|lab N         one WebSocket, N echoes, one in flight
//! bench rate      URL  raw|lab S SECS    S WebSockets echoing as fast as they can
//! bench idle      URL  S PID             S idle sessions: the bridge's memory per session
//! bench class     URL  S SECS            S sessions cycling the experiments + a bystander
//! ```
//! `raw` speaks to a plain relay (websocat: one binary frame out, one back); `lab` speaks the
//! Socket Lab protocol (a `tcp_send`, then wait for its `tcp_received`, with every other event
//! of the exchange arriving too). Every measurement prints one line of JSON.

use futures_util::{SinkExt, StreamExt};
use protocol::{ClientMsg, Command, FileSource, Framing, LabSpec, Target, Transport};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The payload of every echo: 32 bytes, as in the issue's reference numbers.
const PAYLOAD: &[u8; 32] = b"hello socket, hello socket, 0123";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let num = |i: usize| arg(i).parse::<u64>().expect("a number");
    match arg(0) {
        "rtt-tcp" => rtt_tcp(arg(1), num(2)).await,
        "rtt" => rtt(arg(1), arg(2), num(3)).await,
        "rate" => rate(arg(1), arg(2), num(3), num(4)).await,
        "idle" => idle(arg(1), num(2), num(3) as u32).await,
        "class" => class(arg(1), num(2), num(3)).await,
        other => panic!("unknown mode {other:?}; see the file's doc comment"),
    }
}

/// p50 and p99 of `samples` (µs), as JSON fields.
fn percentiles(mut samples: Vec<u64>) -> String {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    format!(
        r#""n":{},"p50_us":{},"p99_us":{}"#,
        samples.len(),
        at(0.5),
        at(0.99)
    )
}

async fn rtt_tcp(addr: &str, n: u64) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    let mut buf = [0u8; 32];
    let mut samples = vec![];
    for i in 0..n + 100 {
        let start = Instant::now();
        s.write_all(PAYLOAD).await.unwrap();
        s.read_exact(&mut buf).await.unwrap();
        if i >= 100 {
            samples.push(start.elapsed().as_micros() as u64);
        }
    }
    println!(r#"{{"mode":"tcp",{}}}"#, percentiles(samples));
}

/// The load generator's WebSocket read buffer. tungstenite zeroes its whole read buffer before
/// every read (128 KiB by default): measured, that was 5 % of the machine's CPU during (b), a
/// cost on the machine both peers share that grows with how often the generator reads, not with
/// what it reads. An echo's events fit in a few KiB; a larger batch takes two reads.
const READ_BUFFER: usize = 8 * 1024;

async fn open(url: &str) -> Ws {
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    // `true`: TCP_NODELAY, as the bridge sets on its side.
    let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .expect("WebSocket opens");
    ws
}

fn command(cmd: Command) -> Message {
    Message::text(ClientMsg::new(cmd).to_json())
}

/// A session with one TCP connection to the echo server, ready to echo.
async fn lab_session(url: &str) -> Ws {
    let mut ws = open(url).await;
    ws.send(command(Command::tcp_connect(1))).await.unwrap();
    wait_for(&mut ws, "\"tcp_connected\"").await;
    ws
}

/// Reads frames until a text frame contains `marker`.
async fn wait_for(ws: &mut Ws, marker: &str) {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.contains(marker) => return,
            Some(Ok(_)) => {}
            other => panic!("the session ended: {other:?}"),
        }
    }
}

/// One echo: `raw` is a binary frame back from a relay; `lab` is the protocol's exchange.
async fn echo_once(ws: &mut Ws, mode: &str) {
    match mode {
        "raw" => {
            ws.send(Message::binary(PAYLOAD.to_vec())).await.unwrap();
            loop {
                match ws.next().await {
                    Some(Ok(Message::Binary(_))) => return,
                    Some(Ok(_)) => {}
                    other => panic!("the relay ended: {other:?}"),
                }
            }
        }
        _ => {
            let send = Command::TcpSend {
                id: 1,
                data: PAYLOAD.to_vec().into(),
            };
            ws.send(command(send)).await.unwrap();
            wait_for(ws, "\"tcp_received\"").await;
        }
    }
}

async fn session(url: &str, mode: &str) -> Ws {
    if mode == "raw" {
        open(url).await
    } else {
        lab_session(url).await
    }
}

async fn rtt(url: &str, mode: &str, n: u64) {
    let mut ws = session(url, mode).await;
    let mut samples = vec![];
    for i in 0..n + 100 {
        let start = Instant::now();
        echo_once(&mut ws, mode).await;
        if i >= 100 {
            samples.push(start.elapsed().as_micros() as u64);
        }
    }
    println!(r#"{{"mode":"{mode}",{}}}"#, percentiles(samples));
}

async fn rate(url: &str, mode: &str, sessions: u64, secs: u64) {
    let mut all = vec![];
    for _ in 0..sessions {
        all.push(session(url, mode).await);
    }
    let until = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for mut ws in all {
        let mode = mode.to_string();
        tasks.spawn(async move {
            let mut n = 0u64;
            while Instant::now() < until {
                echo_once(&mut ws, &mode).await;
                n += 1;
            }
            n
        });
    }
    let mut total = 0;
    while let Some(n) = tasks.join_next().await {
        total += n.unwrap();
    }
    let per_s = total as f64 / start.elapsed().as_secs_f64();
    println!(r#"{{"mode":"{mode}","sessions":{sessions},"msgs_per_s":{per_s:.0}}}"#);
}

/// The resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

async fn idle(url: &str, sessions: u64, pid: u32) {
    // One session first, so that the bridge's one-time allocations are not counted.
    let mut probe = lab_session(url).await;
    for _ in 0..50 {
        echo_once(&mut probe, "lab").await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(pid);
    let opened = Instant::now();
    let mut idle = Vec::with_capacity(sessions as usize);
    for _ in 0..sessions {
        let mut ws = open(url).await;
        wait_for(&mut ws, "\"hello\"").await;
        idle.push(ws);
    }
    let open_s = opened.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(pid);
    // A new learner arrives while all of them sit there.
    let mut fresh = lab_session(url).await;
    let mut samples = vec![];
    for _ in 0..200 {
        let start = Instant::now();
        echo_once(&mut fresh, "lab").await;
        samples.push(start.elapsed().as_micros() as u64);
    }
    let per = (after.saturating_sub(before)) as f64 / sessions as f64;
    println!(
        r#"{{"mode":"idle","sessions":{sessions},"open_s":{open_s:.1},"rss_before_kib":{before},"rss_after_kib":{after},"kib_per_session":{per:.2},"new_session":{{{}}}}}"#,
        percentiles(samples)
    );
    drop(idle);
}

/// One learner going through the experiments, over and over, until `until`.
async fn learner(mut ws: Ws, until: Instant, seed: u64) -> u64 {
    // Learners do not click in lockstep: each reads for 0.3–0.9 s between rounds (a small LCG;
    // the bench needs spread, not statistics).
    let mut rng = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut pause_ms = move || {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        300 + (rng >> 33) % 600
    };
    tokio::time::sleep(Duration::from_millis(pause_ms())).await;
    let tcp_lab = |read_delay_ms| LabSpec {
        read_delay_ms,
        ..LabSpec::tutorial(Transport::Tcp)
    };
    let setup = [
        Command::LabStart {
            server: 1,
            spec: tcp_lab(100),
        },
        Command::LabStart {
            server: 2,
            spec: LabSpec::tutorial(Transport::Udp),
        },
        Command::LabStart {
            server: 3,
            spec: LabSpec {
                one_at_a_time: true,
                ..tcp_lab(0)
            },
        },
    ];
    for cmd in setup {
        ws.send(command(cmd)).await.unwrap();
    }
    let mut id = 10;
    let mut rounds = 0;
    while Instant::now() < until {
        id += 10;
        let steps = vec![
            // Sticky packets: a burst to a slow server, then close.
            Command::TcpConnect {
                id,
                to: Target::Lab(1),
            },
            Command::TcpSendBurst {
                id,
                messages: ["a", "b", "c", "d", "e"].map(Into::into).to_vec(),
                framing: Framing::None,
            },
            Command::TcpClose { id },
            // Datagrams to a lab server and to nobody.
            Command::UdpSend {
                id: id + 1,
                data: "abcde".into(),
                to: Target::Lab(2),
                connected: false,
            },
            Command::UdpClose { id: id + 1 },
            Command::TcpConnect {
                id: id + 2,
                to: Target::Nobody,
            },
            // The queue: connections to the one-at-a-time server.
            Command::TcpConnect {
                id: id + 3,
                to: Target::Lab(3),
            },
            Command::TcpConnect {
                id: id + 4,
                to: Target::Lab(3),
            },
            // A small file both ways.
            Command::FileStart {
                id: id + 5,
                transport: Transport::Tcp,
                to: Target::Echo,
                source: FileSource::Generated { size: 64 * 1024 },
                datagram: 1024,
            },
            Command::FileStart {
                id: id + 6,
                transport: Transport::Udp,
                to: Target::Echo,
                source: FileSource::Generated { size: 64 * 1024 },
                datagram: 1024,
            },
        ];
        for cmd in steps {
            ws.send(command(cmd)).await.unwrap();
        }
        // Wait for the round's transfers, reading everything the bridge reports.
        // (A transfer that could not start — say, no free port — ends with an error instead.)
        let ends = [format!("\"id\":{}", id + 5), format!("\"id\":{}", id + 6)];
        let mut done = 0;
        while done < 2 {
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.contains("\"file_done\"") => done += 1,
                Some(Ok(Message::Text(t))) if t.contains("\"error\"") => {
                    if ends.iter().any(|e| t.contains(e.as_str())) {
                        done += 1;
                    }
                    if std::env::var_os("BENCH_SLOW").is_some() {
                        eprintln!("learner: {t}");
                    }
                }
                Some(Ok(_)) => {}
                _ => return rounds,
            }
        }
        for cmd in [
            Command::TcpClose { id: id + 3 },
            Command::TcpClose { id: id + 4 },
        ] {
            ws.send(command(cmd)).await.unwrap();
        }
        rounds += 1;
        // A learner reads the results before the next click (and the slow server finishes).
        let pause = Instant::now() + Duration::from_millis(pause_ms());
        while let Ok(frame) = tokio::time::timeout_at(pause.into(), ws.next()).await {
            if !matches!(frame, Some(Ok(_))) {
                return rounds;
            }
        }
    }
    rounds
}

async fn class(url: &str, sessions: u64, secs: u64) {
    let until = Instant::now() + Duration::from_secs(secs);
    let mut class = tokio::task::JoinSet::new();
    // The class arrives one after the other (as a class does), then works at once.
    let mut learners = vec![];
    for _ in 0..sessions {
        let mut ws = open(url).await;
        wait_for(&mut ws, "\"hello\"").await;
        learners.push(ws);
    }
    for (n, ws) in learners.into_iter().enumerate() {
        class.spawn(learner(ws, until, n as u64));
    }
    // The bystander: another learner's browser, so its own thread and runtime (not queued
    // behind the class's events in this process); an echo every 20 ms, as a learner typing.
    let url_ = url.to_string();
    let bystander = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut me = lab_session(&url_).await;
            let mut samples = vec![];
            let debug = std::env::var_os("BENCH_SLOW").is_some();
            while Instant::now() < until {
                let start = Instant::now();
                let mut trace = vec![];
                if debug {
                    let send = Command::TcpSend {
                        id: 1,
                        data: PAYLOAD.to_vec().into(),
                    };
                    me.send(command(send)).await.unwrap();
                    loop {
                        let Some(Ok(Message::Text(t))) = me.next().await else {
                            panic!()
                        };
                        let ev = protocol::Event::from_json(&t).unwrap();
                        trace.push((
                            start.elapsed().as_micros(),
                            ev.t_us,
                            format!("{:?}", ev.body)
                                .chars()
                                .take(40)
                                .collect::<String>(),
                        ));
                        if t.contains("\"tcp_received\"") {
                            break;
                        }
                    }
                } else {
                    echo_once(&mut me, "lab").await;
                }
                let us = start.elapsed().as_micros() as u64;
                if debug && us > 20_000 {
                    eprintln!("slow echo: {us} µs: {trace:?}");
                }
                samples.push(us);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            samples
        })
    });
    let samples = tokio::task::spawn_blocking(move || bystander.join().unwrap())
        .await
        .unwrap();
    let mut rounds = 0;
    while let Some(r) = class.join_next().await {
        rounds += r.unwrap();
    }
    println!(
        r#"{{"mode":"class","sessions":{sessions},"experiment_rounds":{rounds},"bystander":{{{}}}}}"#,
        percentiles(samples)
    );
}
