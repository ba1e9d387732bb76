//! Test helpers: a private lab on free ports, and a WebSocket client that speaks the protocol.

#![allow(dead_code)] // each test file uses a different part of this module

use bridge::{Config, Lab};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use protocol::{ClientMsg, Command, Event, EventBody};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Generous: CI is a loaded 2-core machine. Tests wait for an effect, never for a time.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The real binary's arguments for every server on a free loopback port, IPv6 off.
pub const FREE_PORTS: [&str; 10] = [
    "--http",
    "127.0.0.1:0",
    "--tcp",
    "127.0.0.1:0",
    "--udp",
    "127.0.0.1:0",
    "--tcp6",
    "off",
    "--udp6",
    "off",
];

/// A lab on free loopback ports, with extra flags.
pub async fn lab_with(flags: &[&str]) -> Lab {
    let mut args = vec!["bridge", "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0"];
    args.extend([
        "--udp",
        "127.0.0.1:0",
        "--tcp6",
        "[::1]:0",
        "--udp6",
        "[::1]:0",
    ]);
    args.extend(flags);
    Lab::start(Config::parse_from(args))
        .await
        .expect("lab starts")
}

pub async fn lab() -> Lab {
    lab_with(&[]).await
}

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Every event received so far, in order.
    pub seen: Vec<Event>,
}

/// Opens `/ws` as the lab's own page would (Origin = the page's origin).
pub async fn connect(lab: &Lab) -> Client {
    let origin = format!("http://{}", lab.http_addr());
    connect_with_origin(lab, Some(&origin))
        .await
        .expect("WebSocket accepted")
}

pub async fn connect_with_origin(
    lab: &Lab,
    origin: Option<&str>,
) -> Result<Client, tungstenite::Error> {
    let mut request = format!("ws://{}/ws", lab.http_addr())
        .into_client_request()
        .unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("Origin", HeaderValue::from_str(origin).unwrap());
    }
    let (ws, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(Client::from_ws(ws).await)
}

impl Client {
    /// A client on an open WebSocket, once the bridge's hello has come.
    pub async fn from_ws(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Client {
        let mut client = Client { ws, seen: vec![] };
        let hello = client.next().await;
        assert!(matches!(hello.body, EventBody::Hello { .. }), "{hello:?}");
        client
    }

    pub async fn send(&mut self, cmd: Command) {
        self.send_text(&ClientMsg::new(cmd).to_json()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("send frame");
    }

    pub async fn send_raw(&mut self, msg: Message) {
        self.ws.send(msg).await.expect("send frame");
    }

    /// The next event; panics after [`PATIENCE`].
    pub async fn next(&mut self) -> Event {
        let Ok(frame) = tokio::time::timeout(PATIENCE, self.ws.next()).await else {
            let last: Vec<_> = self.seen.iter().rev().take(8).rev().collect();
            panic!("no event within {PATIENCE:?}; the last ones were {last:#?}");
        };
        let frame = frame.expect("the WebSocket is open").expect("a frame");
        // The bridge pings a quiet session (every 30 s); tungstenite answers by itself.
        if matches!(frame, Message::Ping(_) | Message::Pong(_)) {
            return Box::pin(self.next()).await;
        }
        let Message::Text(text) = frame else {
            panic!("expected a text frame, got {frame:?}")
        };
        let event = Event::from_json(&text).expect("the bridge sends valid events");
        self.seen.push(event.clone());
        event
    }

    /// Reads events until one matches; returns it. Panics after [`PATIENCE`].
    pub async fn until(&mut self, what: &str, pred: impl Fn(&EventBody) -> bool) -> EventBody {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if tokio::time::Instant::now() > deadline {
                panic!("no {what} within {PATIENCE:?}; saw {:#?}", self.seen);
            }
            let event = self.next().await;
            if pred(&event.body) {
                return event.body;
            }
        }
    }

    /// Reads events until every key in `want` has been seen, in any order: events of different
    /// sockets may interleave however the scheduler likes, so waiting for them one by one with
    /// [`Client::until`] would consume (and lose) an early one. Panics after [`PATIENCE`].
    pub async fn until_all<K: Eq + std::hash::Hash + std::fmt::Debug>(
        &mut self,
        what: &str,
        want: impl IntoIterator<Item = K>,
        key: impl Fn(&EventBody) -> Option<K>,
    ) {
        let mut missing: std::collections::HashSet<K> = want.into_iter().collect();
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !missing.is_empty() {
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "no {what} for {missing:?} within {PATIENCE:?}; saw {:#?}",
                    self.seen
                );
            }
            let event = self.next().await;
            if let Some(k) = key(&event.body) {
                missing.remove(&k);
            }
        }
    }

    /// Every event that arrives during `wait` (to show that some kind of event did *not* come,
    /// while unrelated ones — kernel state, captured packets — may).
    pub async fn events_for(&mut self, wait: Duration) -> Vec<EventBody> {
        let end = tokio::time::Instant::now() + wait;
        let mut got = vec![];
        while let Ok(event) = tokio::time::timeout_at(end, self.next()).await {
            got.push(event.body);
        }
        got
    }

    /// Asserts that no event arrives for a short while and the WebSocket stays open (used
    /// only to show *absence*: a closed or failed socket would be silent too).
    pub async fn quiet_for(&mut self, wait: Duration) {
        let end = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(end, self.ws.next()).await {
                Err(_) => return,
                // The bridge's keep-alive is not an event.
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(Some(Ok(frame))) => panic!("expected no event, got {frame:?}"),
                Ok(Some(Err(e))) => panic!("expected a quiet, open WebSocket; it failed: {e}"),
                Ok(None) => panic!("expected a quiet, open WebSocket; it closed"),
            }
        }
    }

    /// Like [`Client::until`], but an event that already came counts too: `seen` keeps every
    /// event, so waiting for one never loses another that arrived first.
    pub async fn seen_or_until(
        &mut self,
        what: &str,
        pred: impl Fn(&EventBody) -> bool,
    ) -> EventBody {
        if let Some(e) = self.seen.iter().find(|e| pred(&e.body)) {
            return e.body.clone();
        }
        self.until(what, pred).await
    }

    /// Reads until the bridge closes the WebSocket; returns its close frame's code and reason
    /// (`None` if it closed without one). Events before it are recorded in `seen`.
    pub async fn close_frame(&mut self) -> Option<(u16, String)> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("the bridge did not close within {PATIENCE:?}"));
            match frame {
                Some(Ok(Message::Close(frame))) => {
                    return frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                }
                Some(Ok(Message::Text(text))) => {
                    self.seen
                        .push(Event::from_json(&text).expect("a valid event"));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("the WebSocket failed instead of closing: {e}"),
                None => return None,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// Starts the bridge `cmd` describes (stdout read here, stderr dropped) and reads its banner.
pub fn spawn_with_banner(cmd: &mut std::process::Command) -> (std::process::Child, String) {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let banner = read_banner(&mut child);
    (child, banner)
}

/// Reads a spawned bridge's banner (through "Press Ctrl-C") from its stdout, giving up after
/// [`PATIENCE`] instead of hanging on a child that never prints it.
pub fn read_banner(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let stdout = child.stdout.take().expect("stdout piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut banner = String::new();
        let mut lines = std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok);
        for line in lines.by_ref() {
            banner += &line;
            banner += "\n";
            if line.contains("Ctrl-C") {
                break;
            }
        }
        let _ = tx.send(banner);
        // Keep reading: a closed pipe would make the bridge's later lines ("Stopping…") fail.
        lines.for_each(drop);
    });
    match rx.recv_timeout(PATIENCE) {
        Ok(banner) if banner.contains("Ctrl-C") => banner,
        Ok(partial) => {
            let _ = child.kill();
            panic!("the bridge stopped before its banner ended: {partial}")
        }
        Err(_) => {
            let _ = child.kill();
            panic!("no banner within {PATIENCE:?}")
        }
    }
}

/// A raw HTTP/1.1 GET (tests need only the status line, headers and body as text).
pub async fn http_get(lab: &Lab, path: &str, host: &str) -> (u16, String, Vec<u8>) {
    http_get_with(lab, path, host, "").await
}

/// [`http_get`] with extra header lines (each ending in `\r\n`).
pub async fn http_get_with(
    lab: &Lab,
    path: &str,
    host: &str,
    headers: &str,
) -> (u16, String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(lab.http_addr()).await.unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = vec![];
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head[9..12].parse().unwrap();
    (status, head, raw[split + 4..].to_vec())
}
