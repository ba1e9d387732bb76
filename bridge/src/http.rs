//! The web server: the page at `/`, the console's files, and the WebSocket at `/ws`.
//!
//! axum (on hyper) does the HTTP and the WebSocket handshake (tokio-tungstenite underneath); this
//! file only decides who gets in and with which limits.

use crate::access::Access;
use crate::{Config, Shared, assets, session};
use axum::Router;
use axum::extract::{Request, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The WebSocket read buffer. tungstenite's default allocates 128 KiB per connection; our frames
/// are small JSON commands, and 4 KiB keeps an idle session around 10 KB instead of ~90 KB.
const WS_READ_BUFFER: usize = 4 * 1024;

/// How much unsent outgoing WebSocket data may pile up before writes fail (the outbox already
/// bounds events; this bounds the bytes behind it).
const WS_MAX_WRITE_BUFFER: usize = 1024 * 1024;

#[derive(Clone)]
pub(crate) struct AppState {
    shared: Arc<Shared>,
    access: Arc<Access>,
    sessions: Arc<Semaphore>,
    max_sessions: usize,
}

impl AppState {
    pub(crate) fn new(shared: Arc<Shared>, config: &Config, bound: SocketAddr) -> AppState {
        AppState {
            shared,
            access: Arc::new(Access::new(config, bound)),
            sessions: Arc::new(Semaphore::new(config.max_sessions)),
            max_sessions: config.max_sessions,
        }
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
        .route("/pkg/web.js", get(assets::web_js))
        .route("/pkg/web_bg.wasm", get(assets::web_wasm))
        .route("/socket-lab.js", get(assets::element_js))
        .route("/embed", get(assets::embed))
        .route("/examples/", get(|| assets::example(None)))
        .route("/examples/{name}", get(|name| assets::example(Some(name))))
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
            "Host {host:?} is not served by this bridge. If a proxy forwards this name to it, \
             start the bridge with --allow-host NAME.\n"
        );
        return (StatusCode::FORBIDDEN, message).into_response();
    }
    next.run(request).await
}

fn host_of(headers: &HeaderMap) -> &str {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
}

/// `GET /ws`: checks the Origin and the session limit, then hands the socket to a session.
async fn websocket(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    if let Err(why) = state.access.origin_allowed(origin, host_of(&headers)) {
        tracing::info!("{why}");
        return (StatusCode::FORBIDDEN, why).into_response();
    }
    let Ok(slot) = state.sessions.clone().try_acquire_owned() else {
        let message = format!(
            "the bridge already serves {} sessions (its limit, --max-sessions); try again later",
            state.max_sessions
        );
        return (StatusCode::SERVICE_UNAVAILABLE, message).into_response();
    };
    let max_frame = state.max_frame();
    let shared = state.shared.clone();
    upgrade
        .read_buffer_size(WS_READ_BUFFER)
        .max_write_buffer_size(WS_MAX_WRITE_BUFFER)
        .max_message_size(max_frame)
        .max_frame_size(max_frame)
        .on_upgrade(move |socket| async move {
            session::run(socket, shared).await;
            drop(slot);
        })
}
