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
use std::sync::{Arc, Mutex};

pub(crate) use protocol::Transport;

#[derive(Clone, Default)]
pub(crate) struct Observers {
    routes: Arc<Mutex<Routes>>,
    show_others: bool,
}

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
}

/// Keeps a registration alive; dropping it unregisters (so a closed socket's port, reused later
/// by someone else, is never reported to the wrong session).
pub(crate) struct Watch {
    observers: Observers,
    key: (Transport, SocketAddr),
}

impl Observers {
    /// Observers that also tell every session about clients that belong to no session.
    pub(crate) fn showing_others() -> Observers {
        Observers {
            show_others: true,
            ..Observers::default()
        }
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

    /// Routes the servers' reports about `client` to `outbox`, as socket `id`.
    pub(crate) fn watch(
        &self,
        transport: Transport,
        client: SocketAddr,
        outbox: Arc<Outbox>,
        id: SocketId,
    ) -> Watch {
        let key = (transport, client);
        self.lock().by_client.insert(key, Route { outbox, id });
        Watch {
            observers: self.clone(),
            key,
        }
    }

    /// Called by a server: "I did `op` with the client at `client`".
    pub(crate) fn report(&self, transport: Transport, client: SocketAddr, op: ServerSide) {
        let routes = self.lock();
        if let Some(route) = routes.by_client.get(&(transport, client)) {
            route
                .outbox
                .try_push(EventBody::Server { id: route.id, op });
        } else if self.show_others {
            for session in routes.sessions.iter().filter_map(Weak::upgrade) {
                let op = op.clone();
                session.try_push(EventBody::OtherClient {
                    transport,
                    client,
                    op,
                });
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
        at: std::time::SystemTime,
    ) {
        let routes = self.lock();
        let owner = routes
            .by_client
            .get(&(transport, src))
            .or_else(|| routes.by_client.get(&(transport, dst)));
        if let Some(route) = owner {
            route.outbox.try_push_packet(Some(route.id), frame, at);
        } else if self.show_others {
            for session in routes.sessions.iter().filter_map(Weak::upgrade) {
                session.try_push_packet(None, frame, at);
            }
        }
    }

    /// The kernel dropped `n` captured packets: every session with packets is told.
    pub(crate) fn kernel_dropped_packets(&self, n: u64) {
        let routes = self.lock();
        let mut told = std::collections::HashSet::new();
        for route in routes.by_client.values() {
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
        self.observers.lock().by_client.remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reports_reach_only_the_watching_session_and_stop_when_the_watch_ends() {
        let observers = Observers::default();
        let (mine, mut my_rx) = Outbox::new();
        let mine = Arc::new(mine);
        let me: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let stranger: SocketAddr = "127.0.0.1:40001".parse().unwrap();

        let watch = observers.watch(Transport::Tcp, me, mine.clone(), 7);
        observers.report(Transport::Tcp, stranger, ServerSide::Send { len: 1 });
        observers.report(Transport::Udp, me, ServerSide::Send { len: 2 });
        observers.report(Transport::Tcp, me, ServerSide::Send { len: 3 });
        drop(watch);
        observers.report(Transport::Tcp, me, ServerSide::Send { len: 4 });
        drop(mine);
        drop(observers);

        let ev = my_rx.recv().await.unwrap();
        assert_eq!(
            ev.body,
            EventBody::Server {
                id: 7,
                op: ServerSide::Send { len: 3 }
            }
        );
        assert!(my_rx.recv().await.is_none(), "nothing else was routed");
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
                Observers::showing_others()
            } else {
                Observers::default()
            };
            let (outbox, mut rx) = Outbox::new();
            let outbox = Arc::new(outbox);
            observers.join(&outbox);
            observers.report(Transport::Tcp, client, ServerSide::Send { len: 1 });
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
