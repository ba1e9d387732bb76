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

use crate::outbox::Outbox;
use protocol::{EventBody, ServerSide, SocketId};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Which server: a TCP and a UDP socket may share a port number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Transport {
    Tcp,
    Udp,
}

#[derive(Clone, Default)]
pub(crate) struct Observers {
    routes: Arc<Mutex<HashMap<(Transport, SocketAddr), Route>>>,
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
    /// Routes the servers' reports about `client` to `outbox`, as socket `id`.
    pub(crate) fn watch(
        &self,
        transport: Transport,
        client: SocketAddr,
        outbox: Arc<Outbox>,
        id: SocketId,
    ) -> Watch {
        let key = (transport, client);
        self.lock().insert(key, Route { outbox, id });
        Watch {
            observers: self.clone(),
            key,
        }
    }

    /// Called by a server: "I did `op` with the client at `client`".
    pub(crate) fn report(&self, transport: Transport, client: SocketAddr, op: ServerSide) {
        let routes = self.lock();
        if let Some(route) = routes.get(&(transport, client)) {
            route
                .outbox
                .try_push(EventBody::Server { id: route.id, op });
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Transport, SocketAddr), Route>> {
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.observers.lock().remove(&self.key);
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
