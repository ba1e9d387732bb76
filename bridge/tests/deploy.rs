//! Beyond one machine: sessions are independent, so a bigger class is more bridges behind a
//! standard reverse proxy. Two real bridges behind a real nginx (Debian's package; the test
//! command installs it): sessions spread over both, each echoes, and each sees only its own
//! packets. (docs/deploy.md describes the same shape for Kubernetes.)

mod common;

use common::{PATIENCE, lab_with};
use futures_util::{SinkExt, StreamExt};
use protocol::{ClientMsg, Command, Event, EventBody};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Child, Command as Process, Stdio};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// The public name the proxy serves (the bridges are started with `--allow-host` for it).
const NAME: &str = "lab.test";

/// nginx in the foreground, one process, its files in a temporary directory.
struct Nginx {
    child: Child,
    addr: SocketAddr,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx_binary() -> &'static str {
    for path in ["/usr/sbin/nginx", "/usr/bin/nginx"] {
        if std::path::Path::new(path).exists() {
            return path;
        }
    }
    panic!("nginx is not installed: scripts/setup.sh --browser installs it (Debian's nginx)");
}

fn start_nginx(upstreams: &[SocketAddr]) -> Nginx {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("socket-lab-nginx-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let servers: String = upstreams
        .iter()
        .map(|a| format!("    server {a};\n"))
        .collect();
    let d = dir.display();
    // The shape docs/deploy.md recommends: WebSocket upgrade headers, the Host passed on (the
    // bridges check it), the client's address appended for --trust-x-forwarded-for.
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\nuser root;\npid {d}/nginx.pid;\n\
         error_log {d}/error.log;\nevents {{ worker_connections 512; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d};\n  proxy_temp_path {d};\n\
         fastcgi_temp_path {d};\n  uwsgi_temp_path {d};\n  scgi_temp_path {d};\n\
         upstream bridges {{\n{servers}  }}\n\
         server {{\n    listen 127.0.0.1:{port};\n    server_name {NAME};\n\
         location / {{\n      proxy_pass http://bridges;\n      proxy_http_version 1.1;\n\
         proxy_set_header Upgrade $http_upgrade;\n      proxy_set_header Connection \"upgrade\";\n\
         proxy_set_header Host $host;\n\
         proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
         proxy_read_timeout 1h;\n    }}\n  }}\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Process::new(nginx_binary())
        .args(["-p", &d.to_string(), "-c", &format!("{d}/nginx.conf")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx starts");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = std::time::Instant::now() + PATIENCE;
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "nginx did not listen: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Nginx {
        child,
        addr,
        _dir: TempDir(dir),
    }
}

#[tokio::test]
async fn two_bridges_behind_nginx_share_a_class_and_keep_sessions_apart() {
    let flags = ["--allow-host", NAME, "--trust-x-forwarded-for"];
    let a = lab_with(&flags).await;
    let b = lab_with(&flags).await;
    let nginx = start_nginx(&[a.http_addr(), b.http_addr()]);

    let mut sessions = vec![];
    for _ in 0..20 {
        let mut request = format!("ws://{}/ws", nginx.addr)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("Host", HeaderValue::from_static(NAME));
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the WebSocket goes through nginx");
        sessions.push(ws);
    }
    let mut per_bridge: HashMap<SocketAddr, usize> = HashMap::new();
    for (n, ws) in sessions.iter_mut().enumerate() {
        let send = |cmd| Message::text(ClientMsg::new(cmd).to_json());
        ws.send(send(Command::tcp_connect(1))).await.unwrap();
        let text = format!("hello from {n}");
        ws.send(send(Command::TcpSend {
            id: 1,
            data: text.as_str().into(),
        }))
        .await
        .unwrap();
        let mut seen = vec![];
        let echo = text.to_ascii_uppercase().into_bytes();
        let read = async {
            loop {
                let frame = ws.next().await.expect("open").expect("a frame");
                let event = Event::from_json(frame.to_text().unwrap()).unwrap();
                let done =
                    matches!(&event.body, EventBody::TcpReceived { data, .. } if data.0 == echo);
                seen.push(event.body);
                if done {
                    return;
                }
            }
        };
        tokio::time::timeout(PATIENCE, read)
            .await
            .unwrap_or_else(|_| panic!("session {n} got no echo: {seen:#?}"));
        let Some(EventBody::Hello { tcp_server, .. }) = seen.first() else {
            panic!("{seen:?}")
        };
        *per_bridge.entry(*tcp_server).or_default() += 1;
        // Its packets are its own: every one has the session's client port at one end.
        let local = seen
            .iter()
            .find_map(|e| match e {
                EventBody::TcpConnected { local, .. } => Some(*local),
                _ => None,
            })
            .unwrap();
        for e in &seen {
            if let EventBody::Packet { data, .. } = e {
                let p = etherparse::SlicedPacket::from_ethernet(&data.0).unwrap();
                let Some(etherparse::TransportSlice::Tcp(tcp)) = p.transport else {
                    panic!("a TCP packet")
                };
                assert!(
                    [tcp.source_port(), tcp.destination_port()].contains(&local.port()),
                    "session {n} got another's packet"
                );
            }
        }
    }
    // nginx's round robin: both bridges served sessions, every session was one bridge's.
    assert_eq!(per_bridge.len(), 2, "{per_bridge:?}");
    assert_eq!(
        per_bridge.get(&a.tcp_addr()).copied().unwrap_or(0)
            + per_bridge.get(&b.tcp_addr()).copied().unwrap_or(0),
        20
    );
    assert!(per_bridge.values().all(|&n| n >= 5), "{per_bridge:?}");
}
