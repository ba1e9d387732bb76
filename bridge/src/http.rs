//! The web server: the page at `/`, the console's files, and the WebSocket at `/ws`.
//!
//! axum (on hyper) does the HTTP and the WebSocket handshake (tokio-tungstenite underneath); this
//! file only decides who gets in and with which limits.

use crate::access::Access;
use crate::refusals::Refusals;
use crate::{Config, Shared, assets, session};
use axum::Router;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{ConnectInfo, Request, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, watch};

/// The WebSocket read buffer. tungstenite's default allocates 128 KiB per connection; our frames
/// are small JSON commands (a few hundred bytes; a rare large payload is read in more pieces),
/// and an idle session keeps this much allocated.
const WS_READ_BUFFER: usize = 1024;

/// How much unsent outgoing WebSocket data may pile up before writes fail (the outbox already
/// bounds events; this bounds the bytes behind it).
const WS_MAX_WRITE_BUFFER: usize = 1024 * 1024;

#[derive(Clone)]
pub(crate) struct AppState {
    shared: Arc<Shared>,
    access: Arc<Access>,
    sessions: Arc<Semaphore>,
    max_sessions: usize,
    per_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max_per_ip: usize,
    trust_forwarded: bool,
    idle: Duration,
    stop: watch::Receiver<bool>,
    /// The page's address, as a browser on this machine reaches it.
    page: SocketAddr,
    /// Refusals are logged, at most one line a second.
    refusals: Arc<Refusals>,
}

impl AppState {
    /// `max_sessions` is what the file-descriptor budget allows (at most `--max-sessions`).
    pub(crate) fn new(
        shared: Arc<Shared>,
        config: &Config,
        bound: SocketAddr,
        max_sessions: usize,
        stop: watch::Receiver<bool>,
    ) -> AppState {
        AppState {
            shared,
            access: Arc::new(Access::new(config, bound)),
            sessions: Arc::new(Semaphore::new(max_sessions)),
            max_sessions,
            per_ip: Arc::default(),
            max_per_ip: config.max_sessions_per_ip,
            trust_forwarded: config.trust_x_forwarded_for,
            idle: Duration::from_secs(config.idle_timeout),
            stop,
            page: crate::reachable(bound),
            refusals: Arc::default(),
        }
    }

    /// The TCP and UDP echo servers' addresses and the page's, as a browser reaches them.
    pub(crate) fn addresses(&self) -> (SocketAddr, SocketAddr, SocketAddr) {
        (self.shared.tcp_target, self.shared.udp_target, self.page)
    }

    /// The client's address: the connection's peer, or behind a trusted proxy the address the
    /// proxy appended last to `X-Forwarded-For`.
    fn client_ip(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        if self.trust_forwarded
            && let Some(ip) = headers
                .get_all("x-forwarded-for")
                .iter()
                .next_back()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|ip| ip.trim().parse().ok())
        {
            return ip;
        }
        peer.ip()
    }

    /// Counts a session for `ip`, if its share allows one more.
    /// Sessions open from `ip` now.
    fn count(&self, ip: IpAddr) -> usize {
        let map = self.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&ip).copied().unwrap_or(0)
    }

    fn too_many_from(&self, ip: IpAddr) -> String {
        let mut message = format!(
            "{ip} already has {} open (the limit per address, --max-sessions-per-ip); close a \
             tab or try again later",
            sessions(self.max_per_ip)
        );
        if ip.is_loopback() && !self.trust_forwarded {
            message += ". Behind a reverse proxy on this machine, start the bridge with \
                        --trust-x-forwarded-for so that each reader counts on their own";
        }
        message
    }

    fn full(&self) -> String {
        format!(
            "the bridge already serves {} (its limit, --max-sessions); try again later",
            sessions(self.max_sessions)
        )
    }

    fn enter(&self, ip: IpAddr) -> Option<IpSession> {
        let mut map = self.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(ip).or_default();
        if *n >= self.max_per_ip {
            return None;
        }
        *n += 1;
        Some(IpSession(self.per_ip.clone(), ip))
    }

    /// The largest WebSocket frame: a command carrying a payload twice the limit (as base64,
    /// plus JSON). Frames between the payload limit and this get a clear `too_large` error and the
    /// session goes on; only absurd frames make the WebSocket library close the connection.
    fn max_frame(&self) -> usize {
        2 * (self.shared.limits.max_message.div_ceil(3) * 4 + 1024)
    }
}

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/page.css", get(assets::page_css))
        .route("/favicon.svg", get(assets::favicon))
        .route("/favicon.ico", get(assets::favicon))
        .route("/pkg/web.js", get(assets::web_js))
        .route("/pkg/web_bg.wasm", get(assets::web_wasm))
        .route("/socket-lab.js", get(assets::element_js))
        .route("/socket-lab-messages.d.ts", get(assets::messages_ts))
        .route("/embed", get(assets::embed))
        .route("/examples/", get(|state| assets::example(state, None)))
        .route(
            "/examples/{name}",
            get(|state, name| assets::example(state, Some(name))),
        )
        .route("/ws", get(websocket))
        .fallback(|| async { (StatusCode::NOT_FOUND, "Not found. The lab is at /\n") })
        .layer(middleware::from_fn_with_state(state.clone(), check_host))
        .with_state(state)
}

/// Refuses requests whose Host is not ours (DNS rebinding); see [`Access`].
async fn check_host(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let host = host_of(request.headers());
    if !state.access.host_allowed(host) {
        let message = format!(
            "Host {host:?} is not served by this bridge. If learners reach it by this name (a \
             machine's name on a LAN, say) or a proxy forwards the name to it, start the bridge \
             with --allow-host NAME.\n"
        );
        state
            .refusals
            .log(format_args!("refused a request: {}", message.trim_end()));
        return refused(StatusCode::FORBIDDEN, message);
    }
    next.run(request).await
}

/// "1 session", "16 sessions".
fn sessions(n: usize) -> String {
    if n == 1 {
        "1 session".into()
    } else {
        format!("{n} sessions")
    }
}

/// A refusal any page may read (`Access-Control-Allow-Origin: *`): it says only why, and a
/// console on another origin can then tell its learner.
fn refused(status: StatusCode, message: String) -> Response {
    let cors = [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")];
    (status, cors, message).into_response()
}

fn host_of(headers: &HeaderMap) -> &str {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
}

/// One session counted for its client address; dropping it uncounts it.
struct IpSession(Arc<Mutex<HashMap<IpAddr, usize>>>, IpAddr);

impl Drop for IpSession {
    fn drop(&mut self) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.1);
            }
        }
    }
}

/// `GET /ws`: checks the Origin and the session limits, then hands the socket to a session.
///
/// A plain `GET /ws` (no WebSocket upgrade) runs the same checks and counts nothing: a browser
/// never shows a page why its WebSocket handshake was refused, so a console whose WebSocket
/// failed asks here, and tells the learner "refused: too many sessions from your address"
/// instead of "not reachable, start a bridge". The answer is the status the handshake got (403,
/// 429, 503), or 426 when a session would be accepted now; any page may read it (CORS).
async fn websocket(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    if let Err(why) = state.access.origin_allowed(origin, host_of(&headers)) {
        // Logged once per refused handshake, not again when its console asks why.
        if upgrade.is_ok() {
            state.refusals.log(&why);
        }
        return refused(StatusCode::FORBIDDEN, why);
    }
    let ip = state.client_ip(peer, &headers);
    let Ok(upgrade) = upgrade else {
        return if state.count(ip) >= state.max_per_ip {
            refused(StatusCode::TOO_MANY_REQUESTS, state.too_many_from(ip))
        } else if state.sessions.available_permits() == 0 {
            refused(StatusCode::SERVICE_UNAVAILABLE, state.full())
        } else {
            let message = format!(
                "Socket Lab's WebSocket endpoint: a session from {ip} would be accepted now\n"
            );
            refused(StatusCode::UPGRADE_REQUIRED, message)
        };
    };
    let Some(counted) = state.enter(ip) else {
        let message = state.too_many_from(ip);
        state
            .refusals
            .log(format_args!("refused a session: {message}"));
        return refused(StatusCode::TOO_MANY_REQUESTS, message);
    };
    let Ok(slot) = state.sessions.clone().try_acquire_owned() else {
        let message = state.full();
        state
            .refusals
            .log(format_args!("refused a session: {message}"));
        return refused(StatusCode::SERVICE_UNAVAILABLE, message);
    };
    let max_frame = state.max_frame();
    let shared = state.shared.clone();
    let settings = session::Settings {
        idle: state.idle,
        max_frame,
        stop: state.stop.clone(),
    };
    upgrade
        .read_buffer_size(WS_READ_BUFFER)
        .max_write_buffer_size(WS_MAX_WRITE_BUFFER)
        .max_message_size(max_frame)
        .max_frame_size(max_frame)
        .on_upgrade(move |socket| async move {
            session::run(socket, shared, settings).await;
            drop((slot, counted));
        })
}
