//! The observer registry: who wants to hear what the echo servers do.
//!
//! The echo servers are shared by everyone, but a browser session must see the server's side of
//! *its own* connections only. Before a session's client socket talks to a server, the session
//! registers the socket's local address here; the server, which sees that address as its peer,
//! reports each call it makes under that address, and the registry forwards the report to the
//! owning session's [`Outbox`] with the session's socket id. Nobody else sees it.
//!
//! Registering *before* `connect()`/`sendto()` (the socket is bound to a port first) means not
//! even the server's `accept()` can race ahead of the registration.
//!
//! Clients that belong to no session (the tutorial's Python client, `nc` in a terminal) are
//! reported to nobody — unless the bridge runs with `--show-other-clients`, for a learner alone
//! on their machine: then every session hears of them, as `other_client` events.

use crate::outbox::Outbox;
use protocol::{EventBody, ServerSide, SocketId};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Weak;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub(crate) use protocol::Transport;

#[derive(Clone, Default)]
pub(crate) struct Observers {
    routes: Arc<Mutex<Routes>>,
    show_others: bool,
    /// The shared echo servers: "other clients" are the clients of these only.
    shared_servers: Vec<(Transport, SocketAddr)>,
}

/// How long a registration outlives its socket: the capture may still be reading the socket's
/// last packets (the teardown) a moment after the socket is gone.
const LINGER: std::time::Duration = std::time::Duration::from_secs(2);

/// Tells registrations apart, so that a lingering removal never removes a newer registration
/// of the same address.
static TOKENS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

#[derive(Default)]
struct Routes {
    /// Which session owns which client socket (a TCP and a UDP socket may share a port number).
    by_client: HashMap<(Transport, SocketAddr), Route>,
    /// With `show_others`: every session, to hear about clients that are nobody's.
    sessions: Vec<Weak<Outbox>>,
}

struct Route {
    outbox: Arc<Outbox>,
    id: SocketId,
    /// The session's own socket, but nothing is forwarded for it (a file transfer: thousands
    /// of server reads and packets, summed up by the transfer itself instead).
    quiet: bool,
    token: u64,
    /// A UDP socket: its datagrams to its server, sent and read, to tell whose were in flight
    /// when the server's kernel dropped some.
    flight: Option<Arc<Flight>>,
}

/// A UDP client socket's datagrams on their way to one server.
#[derive(Debug)]
pub(crate) struct Flight {
    server: SocketAddr,
    sent: AtomicU64,
    read: AtomicU64,
}

/// Keeps a registration alive; dropping it unregisters (so a closed socket's port, reused later
/// by someone else, is never reported to the wrong session).
pub(crate) struct Watch {
    observers: Observers,
    key: (Transport, SocketAddr),
    token: u64,
    flight: Option<Arc<Flight>>,
}

impl Watch {
    /// A UDP socket handed one more datagram to the kernel for its server.
    pub(crate) fn sent_datagram(&self) {
        if let Some(f) = &self.flight {
            f.sent.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Observers {
    /// Observers that also tell every session about the shared servers' clients that belong to
    /// no session.
    pub(crate) fn showing_others(shared_servers: Vec<(Transport, SocketAddr)>) -> Observers {
        Observers {
            show_others: true,
            shared_servers,
            ..Observers::default()
        }
    }

    /// Is one end of this packet a shared echo server?
    fn to_shared_server(&self, transport: Transport, a: SocketAddr, b: SocketAddr) -> bool {
        self.shared_servers
            .iter()
            .any(|&(t, s)| t == transport && (s == a || s == b))
    }

    pub(crate) fn shows_others(&self) -> bool {
        self.show_others
    }

    /// A session joins, to hear about other clients (only with `show_others`).
    pub(crate) fn join(&self, outbox: &Arc<Outbox>) {
        if self.show_others {
            let mut routes = self.lock();
            routes.sessions.retain(|s| s.strong_count() > 0);
            routes.sessions.push(Arc::downgrade(outbox));
        }
    }

    /// Routes the servers' reports about `client` to `outbox`, as socket `id`. A UDP socket
    /// names the `server` it sends to, so that drops there can be told to it.
    pub(crate) fn watch(
        &self,
        transport: Transport,
        client: SocketAddr,
        server: Option<SocketAddr>,
        outbox: Arc<Outbox>,
        id: SocketId,
    ) -> Watch {
        self.register(transport, client, server, outbox, id, false)
    }

    /// Marks `client` as a session's own socket whose server events and packets are not
    /// forwarded (and, above all, not shown to others as "other clients").
    pub(crate) fn watch_quietly(
        &self,
        transport: Transport,
        client: SocketAddr,
        server: Option<SocketAddr>,
        outbox: Arc<Outbox>,
    ) -> Watch {
        self.register(transport, client, server, outbox, 0, true)
    }

    fn register(
        &self,
        transport: Transport,
        client: SocketAddr,
        server: Option<SocketAddr>,
        outbox: Arc<Outbox>,
        id: SocketId,
        quiet: bool,
    ) -> Watch {
        let key = (transport, client);
        let token = TOKENS.fetch_add(1, Ordering::Relaxed);
        let flight = server
            .filter(|_| transport == Transport::Udp)
            .map(|server| {
                Arc::new(Flight {
                    server,
                    sent: AtomicU64::new(0),
                    read: AtomicU64::new(0),
                })
            });
        let route = Route {
            outbox,
            id,
            quiet,
            token,
            flight: flight.clone(),
        };
        self.lock().by_client.insert(key, route);
        Watch {
            observers: self.clone(),
            key,
            token,
            flight,
        }
    }

    /// Is `client` a session's socket whose calls are summed up, not reported (a file transfer)?
    pub(crate) fn is_quiet(&self, transport: Transport, client: SocketAddr) -> bool {
        self.lock()
            .by_client
            .get(&(transport, client))
            .is_some_and(|r| r.quiet)
    }

    /// Is `client` one of a session's sockets (not the tutorial's client, `nc`, …)?
    pub(crate) fn is_session_client(&self, transport: Transport, client: SocketAddr) -> bool {
        self.lock().by_client.contains_key(&(transport, client))
    }

    /// The kernel dropped `dropped` datagrams at the UDP server `server` (its receive buffer of
    /// `rcvbuf` bytes was full). Which datagrams it dropped nobody can tell afterwards; every
    /// session that had datagrams on their way to that server, sent and not yet read, is told.
    pub(crate) fn udp_dropped(&self, server: SocketAddr, dropped: u64, rcvbuf: usize) {
        let routes = self.lock();
        let mut told = std::collections::HashSet::new();
        for route in routes.by_client.values() {
            let Some(f) = &route.flight else { continue };
            let in_flight = f.sent.load(Ordering::Relaxed) > f.read.load(Ordering::Relaxed);
            if f.server == server && in_flight && told.insert(Arc::as_ptr(&route.outbox)) {
                route.outbox.try_push(EventBody::UdpDropped {
                    addr: server,
                    dropped,
                    rcvbuf,
                });
            }
        }
    }

    /// Called by a server right after a call returns: "I did `op` with the client at `client`,
    /// a call I entered at `called`".
    pub(crate) fn report(
        &self,
        transport: Transport,
        client: SocketAddr,
        called: crate::clock::Mono,
        op: ServerSide,
    ) {
        let routes = self.lock();
        if let Some(route) = routes.by_client.get(&(transport, client)) {
            if let (ServerSide::RecvFrom { .. }, Some(f)) = (&op, &route.flight) {
                f.read.fetch_add(1, Ordering::Relaxed);
            }
            if !route.quiet {
                let id = route.id;
                let body = EventBody::Server { id, op };
                route.outbox.try_push_call(Some(called), body);
            }
        } else if self.show_others {
            for session in routes.sessions.iter().filter_map(Weak::upgrade) {
                let op = op.clone();
                let body = EventBody::OtherClient {
                    transport,
                    client,
                    op,
                };
                session.try_push_call(Some(called), body);
            }
        }
    }

    /// Called by the capture: a packet between `src` and `dst`. It goes to the session that owns
    /// either end, or (with `show_others`) to every session when nobody does.
    pub(crate) fn packet(
        &self,
        transport: Transport,
        src: SocketAddr,
        dst: SocketAddr,
        frame: &[u8],
        at: crate::clock::Mono,
    ) {
        let routes = self.lock();
        let owner = routes
            .by_client
            .get(&(transport, src))
            .or_else(|| routes.by_client.get(&(transport, dst)));
        if let Some(route) = owner {
            if !route.quiet {
                route.outbox.try_push_packet(Some(route.id), frame, at);
            }
        } else if self.show_others && self.to_shared_server(transport, src, dst) {
            for session in routes.sessions.iter().filter_map(Weak::upgrade) {
                session.try_push_packet(None, frame, at);
            }
        }
    }

    /// The kernel dropped `n` captured packets: every session with packets is told.
    pub(crate) fn kernel_dropped_packets(&self, n: u64) {
        let routes = self.lock();
        let mut told = std::collections::HashSet::new();
        for route in routes.by_client.values().filter(|r| !r.quiet) {
            if told.insert(Arc::as_ptr(&route.outbox)) {
                route.outbox.try_push(EventBody::Error {
                    id: None,
                    server: None,
                    code: protocol::ErrorCode::PacketsDropped,
                    message: format!(
                        "the kernel dropped {n} captured packet(s): its capture buffer was full"
                    ),
                    os: None,
                });
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Routes> {
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let (observers, key, token) = (self.observers.clone(), self.key, self.token);
        let remove = move || {
            let mut routes = observers.lock();
            if routes.by_client.get(&key).is_some_and(|r| r.token == token) {
                routes.by_client.remove(&key);
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    tokio::time::sleep(LINGER).await;
                    remove();
                });
            }
            Err(_) => remove(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn reports_reach_only_the_watching_session_and_stop_after_the_linger() {
        let observers = Observers::default();
        let (mine, mut my_rx) = Outbox::new();
        let mine = Arc::new(mine);
        let me: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let stranger: SocketAddr = "127.0.0.1:40001".parse().unwrap();
        let send = |len| ServerSide::Send { len };

        let watch = observers.watch(Transport::Tcp, me, None, mine.clone(), 7);
        observers.report(Transport::Tcp, stranger, 0, send(1));
        observers.report(Transport::Udp, me, 0, send(2));
        observers.report(Transport::Tcp, me, 0, send(3));
        drop(watch);
        // Just closed: the last reports (and packets) of the socket still find their session.
        observers.report(Transport::Tcp, me, 0, send(4));
        tokio::time::sleep(LINGER + std::time::Duration::from_millis(1)).await;
        tokio::task::yield_now().await;
        observers.report(Transport::Tcp, me, 0, send(5));
        // A new registration of the same address is not removed by the old one's linger.
        let again = observers.watch(Transport::Tcp, me, None, mine.clone(), 8);
        observers.report(Transport::Tcp, me, 0, send(6));
        drop(again);
        drop(mine);
        drop(observers);

        let mut got = vec![];
        while let Some(ev) = my_rx.recv().await {
            got.push(ev.body);
        }
        let server = |id, len| EventBody::Server { id, op: send(len) };
        assert_eq!(got, [server(7, 3), server(7, 4), server(8, 6)]);
    }
}

#[cfg(test)]
mod others_tests {
    use super::*;

    #[tokio::test]
    async fn clients_of_nobody_reach_every_session_only_when_asked() {
        let client: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        for show in [false, true] {
            let observers = if show {
                Observers::showing_others(vec![(Transport::Tcp, "127.0.0.1:8080".parse().unwrap())])
            } else {
                Observers::default()
            };
            let (outbox, mut rx) = Outbox::new();
            let outbox = Arc::new(outbox);
            observers.join(&outbox);
            observers.report(Transport::Tcp, client, 0, ServerSide::Send { len: 1 });
            drop(outbox);
            drop(observers);
            let got = rx.recv().await.map(|e| e.body);
            let expected = show.then_some(EventBody::OtherClient {
                transport: Transport::Tcp,
                client,
                op: ServerSide::Send { len: 1 },
            });
            assert_eq!(got, expected);
        }
    }
}
