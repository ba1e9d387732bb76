//! The web server's accept loop: who gets a connection, for how long, and at what cost.
//!
//! axum routes the requests; this loop is what stands between them and the network, so that a
//! slow, idle or hostile client costs only itself:
//! - **A cap on connections** ([`Limits::connections`], from the file-descriptor budget in
//!   `fds.rs`). At the cap the loop stops accepting until a connection ends, so the process never
//!   runs out of descriptors; new clients wait in the kernel's queue. A connection that becomes
//!   a session's WebSocket leaves this count (hyper hands it over): sessions have their own caps
//!   (`--max-sessions`, `--max-sessions-per-ip`) and their own share of the budget.
//! - **A cap per client address** ([`Limits::per_ip`]): one machine opening hundreds of idle
//!   connections is refused past its share (closed at once), while others still get in.
//! - **A header timeout** ([`HEADER_TIMEOUT`]): a connection that does not finish sending its
//!   request headers in time — including an idle keep-alive connection between requests — is
//!   closed (hyper's `header_read_timeout`).
//! - **`TCP_NODELAY`** on every accepted connection: the bridge writes small WebSocket frames,
//!   and with Nagle's algorithm each one after the first waited for the browser's delayed ACK
//!   (~40 ms per echo).
//! - **`accept()` errors back off** (see `backoff.rs`) instead of spinning.
//!
//! Each request carries the peer's address as axum's `ConnectInfo`, for the per-address session
//! cap in `http.rs`.

use crate::backoff::Backoff;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// How long a client may take to send a request's headers (and how long a keep-alive
/// connection may sit idle between requests). Browsers send theirs at once; ten seconds is
/// generous for a slow phone line and short for a client that holds connections open on purpose.
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// HTTP connections at once from one address (not counting WebSockets), at most: one address
/// may be a whole school behind NAT loading the page at once (a browser opens up to six per
/// host), so the share is generous, and at most half of [`Limits::connections`] (see `lib.rs`):
/// a client that hoards connections leaves the other half to everyone else.
pub(crate) const CONNECTIONS_PER_IP: usize = 128;

/// The connection caps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// HTTP connections at once (not counting those that became WebSockets).
    pub(crate) connections: usize,
    /// HTTP connections at once from one address (`None` behind a trusted proxy, where every
    /// connection comes from the proxy).
    pub(crate) per_ip: Option<usize>,
}

/// Serves `app` on `listener` until `stop` says so; then stops accepting and lets the open
/// connections finish what they are doing.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.connections));
    let per_ip = PerIp::default();
    let refusals = crate::refusals::Refusals::default();
    let mut backoff = Backoff::default();
    loop {
        // At the cap, wait for a connection to end before accepting another.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("never closed"),
            () = until_stopped(&mut stop) => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("web server: accept() failed: {e}");
                    backoff.wait().await;
                    continue;
                }
            },
            () = until_stopped(&mut stop) => break,
        };
        backoff.reset();
        let Some(mine) = per_ip.enter(peer.ip(), limits.per_ip) else {
            let cap = limits.per_ip.unwrap_or_default();
            refusals.log(format_args!(
                "web server: {peer} refused: {cap} connections from its address already"
            ));
            refuse_at_once(&stream, cap);
            continue;
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY on {peer}: {e}");
        }
        let app = app.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            connection(stream, peer, app, stop).await;
            drop((slot, mine));
        });
    }
}

/// Answers a connection past its address's share with a 503 that says why, without waiting for
/// anything: the request is read if it is already there (so that closing does not reset the
/// connection before the answer is read), the answer fits an empty send buffer, and the
/// connection closes when `stream` is dropped. A browser shows the reason instead of "connection
/// reset".
fn refuse_at_once(stream: &tokio::net::TcpStream, cap: usize) {
    let mut request = [0u8; 4096];
    let _ = stream.try_read(&mut request);
    let body = format!(
        "This address already has {cap} connections open to the bridge (its share); close some \
         and try again.\n"
    );
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(answer.as_bytes());
}

/// Resolves when `stop` becomes `true` (or its sender is gone: nobody can stop us any more, so
/// never).
pub(crate) async fn until_stopped(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// One HTTP/1.1 connection, upgraded to a WebSocket if asked.
async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    mut stop: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(request.map(axum::body::Body::new))
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!("connection {peer}: {e}");
            }
        }
        () = until_stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Connections per client address.
#[derive(Clone, Default)]
struct PerIp(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One connection counted for its address; dropping it uncounts it.
struct Counted(PerIp, IpAddr);

impl PerIp {
    fn enter(&self, ip: IpAddr, cap: Option<usize>) -> Option<Counted> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(ip).or_default();
        if cap.is_some_and(|cap| *n >= cap) {
            return None;
        }
        *n += 1;
        Some(Counted(self.clone(), ip))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut map = self.0.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_share_and_gets_it_back() {
        let per_ip = PerIp::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = per_ip.enter(a, Some(2)).unwrap();
        let _second = per_ip.enter(a, Some(2)).unwrap();
        assert!(per_ip.enter(a, Some(2)).is_none(), "a's share is used");
        assert!(per_ip.enter(b, Some(2)).is_some(), "b is not a");
        drop(first);
        assert!(per_ip.enter(a, Some(2)).is_some(), "a got one back");
        assert!(per_ip.enter(a, None).is_some(), "no cap");
    }
}
