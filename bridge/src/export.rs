//! `bridge --export-site DIR`: the example tutorial as a static site, with recordings made now.
//!
//! A tutorial on a static host has no bridge behind it. The export runs a bridge of its own for
//! a moment (every server on a free loopback port), opens a session on it over its real
//! WebSocket, exactly as a console does, and carries out each console's first lesson: the
//! echo over TCP and UDP, the sticky burst, the empty sends, eight clients of the
//! one-at-a-time server, and TIME_WAIT's "Try it". What the bridge sends back — the
//! real kernel's calls and packets — is saved verbatim as that console's recording (the format
//! the console's "Save recording" writes: docs/protocol.md, "Recordings"). Then it writes the
//! pages (English at `DIR/index.html`, Chinese at `DIR/zh-CN.html`), the console's files and
//! the recordings. Served by any static file server, each console plays its recording, labelled
//! as one; given a reachable bridge (`?bridge=` is not needed: the `bridge` attribute), it is
//! live. Run it again to make the recordings again.

use crate::{Config, Lab};
use futures_util::{SinkExt, StreamExt};
use protocol::{
    Bytes, ClientMsg, Command, Event, EventBody, Framing, LabSpec, ServerSide, Target, Transport,
    recording,
};
use std::path::Path;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// How long one step of a lesson may wait for the event it expects. Loopback answers in
/// microseconds; a slow read delay is 100 ms. Past this, the export fails and says which step.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs of one lesson before the export gives up. A run is one session on the real kernel of a
/// machine that may be busy with other things (a loaded CI box): one disturbed run (the capture
/// ring overflowing while the bridge could not read it, an event later than [`STEP_TIMEOUT`]) is
/// thrown away and the lesson recorded again from the start, in a new session; each failure is
/// said on stderr.
const LESSON_TRIES: u32 = 3;

/// How long the session stays open after a lesson's last step, for what follows on its own:
/// the teardown's packets, a connection's TIME_WAIT state, a slow server's later reads.
const SETTLE: Duration = Duration::from_millis(800);

/// One console's lesson: the commands a console would send, each with the event to wait for
/// after it (if any), and the clicks a replay runs again (`{"action":…}` lines).
struct Lesson {
    /// The recording's file name (without language and extension).
    name: &'static str,
    /// The console's `experiment` attribute it belongs to.
    experiment: &'static str,
    steps: Vec<Step>,
}

enum Step {
    /// Keep what comes for this long (a state that follows on its own).
    Wait(Duration),
    /// A click on an experiment's button: the action's name in a recording, the console's next
    /// socket id at that moment, its controls' values (empty: the defaults).
    Action(&'static str, u32),
    /// A command; then wait until an event matches.
    Send(Command, Option<fn(&EventBody) -> bool>),
}

fn lessons() -> Vec<Lesson> {
    let text = |s: &str| Bytes::from(s.as_bytes().to_vec());
    let tcp_echo = |e: &EventBody| matches!(e, EventBody::TcpReceived { .. });
    let udp_echo = |e: &EventBody| matches!(e, EventBody::UdpReceived { .. });
    let echo = Lesson {
        name: "echo",
        experiment: "echo",
        steps: vec![
            // "Send via TCP" with no connection: the console connects (id 1), then sends.
            Step::Send(
                Command::TcpConnect {
                    id: 1,
                    to: Target::Echo,
                },
                None,
            ),
            Step::Send(
                Command::TcpSend {
                    id: 1,
                    data: text("hello socket"),
                },
                Some(tcp_echo),
            ),
            // "Send via UDP": a new unconnected socket (id 2).
            Step::Send(Command::udp_send(2, text("hello socket")), Some(udp_echo)),
            // "Close".
            Step::Send(Command::TcpClose { id: 1 }, None),
        ],
    };
    // "Run burst" with the defaults: five messages, a server that reads every 100 ms.
    let messages: Vec<Bytes> = ["a", "b", "c", "d", "e"].map(text).to_vec();
    let mut sticky_steps = vec![
        Step::Action("sticky_run", 1),
        Step::Send(
            Command::LabStart {
                server: 1,
                spec: LabSpec {
                    read_delay_ms: 100,
                    ..LabSpec::tutorial(Transport::Tcp)
                },
            },
            None,
        ),
        Step::Send(
            Command::LabStart {
                server: 2,
                spec: LabSpec {
                    read_delay_ms: 100,
                    ..LabSpec::tutorial(Transport::Udp)
                },
            },
            None,
        ),
        Step::Send(
            Command::TcpConnect {
                id: 1,
                to: Target::Lab(1),
            },
            None,
        ),
        Step::Send(
            Command::TcpSendBurst {
                id: 1,
                messages: messages.clone(),
                framing: Framing::None,
            },
            None,
        ),
    ];
    for data in messages {
        let send = Command::UdpSend {
            id: 2,
            data,
            to: Target::Lab(2),
            connected: false,
        };
        sticky_steps.push(Step::Send(send, None));
    }
    let sticky = Lesson {
        name: "sticky",
        experiment: "sticky",
        steps: sticky_steps,
    };
    let empty = Lesson {
        name: "empty",
        experiment: "empty",
        steps: vec![
            Step::Action("empty_tcp", 1),
            Step::Send(Command::tcp_connect(1), None),
            Step::Send(
                Command::TcpSend {
                    id: 1,
                    data: text(""),
                },
                None,
            ),
            Step::Action("empty_udp", 2),
            Step::Send(Command::udp_send(2, text("")), Some(udp_echo)),
        ],
    };
    // "Open a client" eight times on the one-at-a-time server (backlog 5): the first is
    // served, the accept queue fills to six, the eighth waits in SYN_SENT.
    let mut queue_steps = vec![];
    for n in 1..=8u32 {
        queue_steps.push(Step::Action("queue_open", n));
        if n == 1 {
            let spec = LabSpec {
                one_at_a_time: true,
                ..LabSpec::tutorial(Transport::Tcp)
            };
            queue_steps.push(Step::Send(Command::LabStart { server: 5, spec }, None));
        }
        let data = format!("hello from client {n}");
        queue_steps.push(Step::Send(
            Command::TcpConnect {
                id: n,
                to: Target::Lab(5),
            },
            None,
        ));
        queue_steps.push(Step::Send(
            Command::TcpSend {
                id: n,
                data: text(&data),
            },
            None,
        ));
    }
    queue_steps.push(Step::Wait(Duration::from_millis(1500)));
    let queue = Lesson {
        name: "queue",
        experiment: "queue",
        steps: queue_steps,
    };
    // The "Try it" of the TIME_WAIT tab: connect, the server closes first, restart without
    // SO_REUSEADDR (EADDRINUSE: the TIME_WAIT holds the port), then with it.
    // The server's accept(), not the client's connect(): "the server closes first" closes what
    // the server has accepted, and a connection still in the accept queue when the command
    // arrives would stay open (the handshake completes in the kernel before the server's
    // accept() returns; recording once in a dozen missed it so).
    let accepted = |e: &EventBody| {
        matches!(
            e,
            EventBody::Server {
                op: ServerSide::Accept { .. },
                ..
            }
        )
    };
    let closed = |e: &EventBody| matches!(e, EventBody::TcpClosed { .. });
    let refused = |e: &EventBody| matches!(e, EventBody::Error { .. });
    let started = |e: &EventBody| matches!(e, EventBody::LabStarted { .. });
    let time_wait = Lesson {
        name: "time-wait",
        experiment: "time-wait",
        steps: vec![
            Step::Action("tw_connect", 1),
            Step::Send(
                Command::LabStart {
                    server: 7,
                    spec: LabSpec::tutorial(Transport::Tcp),
                },
                None,
            ),
            Step::Send(
                Command::TcpConnect {
                    id: 1,
                    to: Target::Lab(7),
                },
                Some(accepted),
            ),
            Step::Action("tw_server_close", 2),
            Step::Send(Command::LabCloseClients { server: 7 }, Some(closed)),
            Step::Wait(Duration::from_millis(500)),
            Step::Action("tw_restart_without", 2),
            Step::Send(
                Command::LabRestart {
                    server: 7,
                    reuseaddr: false,
                },
                Some(refused),
            ),
            Step::Action("tw_restart_with", 2),
            Step::Send(
                Command::LabRestart {
                    server: 7,
                    reuseaddr: true,
                },
                Some(started),
            ),
        ],
    };
    vec![echo, sticky, empty, queue, time_wait]
}

/// What went wrong, in one line for the terminal.
#[derive(Debug)]
pub struct ExportError(pub String);

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Writes the site into `dir` (created if missing); returns the files written.
pub async fn export_site(config: &Config, dir: &Path) -> Result<Vec<String>, ExportError> {
    let any = "127.0.0.1:0".parse().expect("an address");
    let own = Config {
        http: any,
        tcp: any,
        udp: any,
        tcp6: Some(None),
        udp6: Some(None),
        ..config.clone()
    };
    let lab = Lab::start(own)
        .await
        .map_err(|e| ExportError(format!("cannot start a bridge to record with: {e}")))?;
    let mut recordings = vec![];
    for lesson in lessons() {
        let mut tries = 0;
        let recording = loop {
            tries += 1;
            match record(&lab, &lesson).await {
                Ok(recording) => break recording,
                Err(e) if tries < LESSON_TRIES => {
                    eprintln!("recording \"{}\": {e}; recording it again", lesson.name);
                }
                Err(e) => {
                    let name = lesson.name;
                    return Err(ExportError(format!(
                        "recording \"{name}\": {e} ({tries} tries)"
                    )));
                }
            }
        };
        recordings.push((lesson, recording));
    }
    lab.shutdown().await;

    let write = |path: &str, bytes: &[u8]| -> Result<String, ExportError> {
        let full = dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| ExportError(format!("{}: {e}", parent.display())))?;
        }
        std::fs::write(&full, bytes)
            .map_err(|e| ExportError(format!("{}: {e}", full.display())))?;
        Ok(path.to_string())
    };
    let mut written = vec![];
    for (lesson, recording) in &recordings {
        written.push(write(
            &format!("recordings/{}.jsonl", lesson.name),
            recording.as_bytes(),
        )?);
    }
    for (name, page) in crate::assets::site_pages() {
        written.push(write(name, with_recordings(&page, &recordings).as_bytes())?);
    }
    for (name, bytes) in crate::assets::site_files() {
        written.push(write(name, bytes)?);
    }
    Ok(written)
}

/// The page with each console that has a lesson given its recording, and told to connect at
/// load (with a recording to fall back on, a console that finds no bridge plays it at once).
fn with_recordings(page: &str, recordings: &[(Lesson, String)]) -> String {
    let mut out = page.to_string();
    for (lesson, _) in recordings {
        let tag = format!("experiment=\"{}\"", lesson.experiment);
        let with = format!(
            "{tag} recording=\"recordings/{}.jsonl\" lazy=\"false\"",
            lesson.name
        );
        out = out.replace(&tag, &with);
    }
    out
}

/// Carries out `lesson` over a real session; returns the recording.
async fn record(lab: &Lab, lesson: &Lesson) -> Result<String, String> {
    let mut request = format!("ws://{}/ws", lab.http_addr())
        .into_client_request()
        .map_err(|e| e.to_string())?;
    let origin = format!("http://{}", lab.http_addr());
    request.headers_mut().insert(
        "Origin",
        origin.parse().map_err(|_| "a bad origin".to_string())?,
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| format!("cannot open a session: {e}"))?;
    let mut lines: Vec<String> = vec![];
    // The hello.
    let hello: fn(&EventBody) -> bool = |e| matches!(e, EventBody::Hello { .. });
    receive(&mut lines, &mut ws, Some(hello), STEP_TIMEOUT).await?;
    for step in &lesson.steps {
        match step {
            Step::Action(name, next_id) => lines.push(recording::action_line(name, *next_id, "")),
            Step::Wait(time) => receive(&mut lines, &mut ws, None, *time).await?,
            Step::Send(command, until) => {
                let frame = ClientMsg::new(command.clone()).to_json();
                lines.push(recording::console_line(&frame));
                ws.send(Message::text(frame.clone()))
                    .await
                    .map_err(|e| e.to_string())?;
                if until.is_some() {
                    receive(&mut lines, &mut ws, *until, STEP_TIMEOUT)
                        .await
                        .map_err(|e| format!("after {}: {e}", command_type(&frame)))?;
                }
            }
        }
    }
    receive(&mut lines, &mut ws, None, SETTLE).await?;
    let _ = ws.close(None).await;
    let saved_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut file = recording::header(saved_ms, "bridge --export-site", lines.len(), true);
    file.push('\n');
    for line in lines {
        file.push_str(&line);
        file.push('\n');
    }
    Ok(file)
}

/// A command frame's `type` ("lab_restart"), to say which step of a lesson failed.
fn command_type(frame: &str) -> String {
    serde_json::from_str::<serde_json::Value>(frame)
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_string))
        .unwrap_or_default()
}

type Session =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Keeps every text frame that comes `within` the time given, until one matches `until` (an
/// error if none does); with no `until`, all that come within it.
async fn receive(
    lines: &mut Vec<String>,
    ws: &mut Session,
    until: Option<fn(&EventBody) -> bool>,
    within: Duration,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let frame = match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) if until.is_none() => return Ok(()),
            Err(_) => return Err("the expected event did not come".into()),
            Ok(None) => return Err("the bridge closed the session".into()),
            Ok(Some(Err(e))) => return Err(e.to_string()),
            Ok(Some(Ok(frame))) => frame,
        };
        let Message::Text(text) = frame else {
            continue;
        };
        lines.push(text.to_string());
        let event = Event::from_json(&text).map_err(|e| e.to_string())?;
        // An error is a lesson's outcome only where the lesson waits for one.
        if until.is_some_and(|done| done(&event.body)) {
            return Ok(());
        }
        if let EventBody::Error { message, .. } = &event.body {
            return Err(format!("the bridge reported an error: {message}"));
        }
    }
}
