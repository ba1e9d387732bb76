//! The session's eyes on the kernel: state that no socket call returns, read only while there
//! is something of this session's to see.
//!
//! Three kinds of things are watched, each with a query the kernel answers for one socket (see
//! [`crate::kernel`]); nothing ever lists the kernel's tables:
//! - **a running TCP lab server's accept queue**: `TCP_INFO` on its listening socket (the number
//!   of connections waiting for `accept()`, and the backlog) → `listen_queue` when it changes.
//!   A stopped lab server is no longer watched.
//! - **the server's end of the session's connections to a lab server**: one `sock_diag` lookup
//!   per connection → `kernel_sockets` when it changes. This is where the server's TIME_WAIT
//!   (after the server closed first) shows, with its countdown, also after the server stopped —
//!   until the kernel lets the connection go.
//! - **the session's closed connections**: after `close()` a connection lives on in the kernel
//!   (TIME_WAIT for about a minute when we closed first). One lookup each → `tcp_state` when it
//!   changes, then `CLOSED`. The connection's registration with the observers travels here with
//!   it, so the teardown's last packets still find the session.
//!
//! One task per session does it all, on one timer, and sleeps when there is nothing to watch;
//! it starts with the first thing to watch (an idle session has none) and ends with the session.
//! Every list is bounded (see the constants), so a learner who opens and closes connections as
//! fast as they can costs a bounded amount of watching.

use crate::impair::Link;
use crate::kernel::sock_diag::SockDiag;
use crate::kernel::{netstat, state_name, tcp_info};
use crate::observe::Watch;
use crate::outbox::{Outbox, SessionGone};
use protocol::{EventBody, KernelSocket, LinkStats, ServerId, SocketId};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// How often the kernel is asked. Fast enough to watch a queue fill as clicks come in; each
/// question is one system call about one socket.
pub(crate) const WATCH_EVERY: Duration = Duration::from_millis(200);

/// Closed connections watched at once per session. A session has at most `--max-sockets` (16)
/// open; a learner who opens and closes faster than TIME_WAIT's minute would otherwise make this
/// list grow without bound. Past it, the oldest stops being watched (its last state stays shown).
pub(crate) const MAX_CLOSED: usize = 32;

/// Connections to one lab server watched at once: the session's open sockets (≤ 16) plus as
/// many closed ones lingering in TIME_WAIT. Past it, the oldest closed one is dropped.
pub(crate) const MAX_LAB_CONNECTIONS: usize = 32;

/// A closed connection is watched at least this long (its last packets and the first state
/// after close), and at most this long (TIME_WAIT is 60 s on Linux).
const CLOSED_MIN: Duration = Duration::from_secs(1);
const CLOSED_MAX: Duration = Duration::from_secs(70);

/// Shared between the session (which adds and removes things) and its watcher task.
#[derive(Clone)]
pub(crate) struct KernelWatch {
    inner: Arc<Mutex<Watched>>,
    wake: Arc<Notify>,
    outbox: Arc<Outbox>,
    task: Arc<Mutex<Option<tokio::task::AbortHandle>>>,
}

#[derive(Default)]
struct Watched {
    listeners: HashMap<ServerId, Listener>,
    /// Impaired links of running lab servers, and what was last said of each.
    links: HashMap<ServerId, (Weak<Link>, Option<LinkStats>)>,
    labs: HashMap<ServerId, LabConnections>,
    closed: VecDeque<Closed>,
}

struct Listener {
    socket: Weak<TcpListener>,
    /// (queued, backlog, overflows) last reported.
    last: Option<(u32, u32, Option<u64>)>,
    /// The kernel's `ListenOverflows` when this queue was first full (see `kernel::netstat`).
    overflows_at_full: Option<u64>,
}

struct LabConnections {
    server: SocketAddr,
    /// The session's client addresses connected to this lab server, oldest first, and whether
    /// the client socket is still open (closed ones are dropped once the kernel forgets them).
    clients: VecDeque<(SocketAddr, Arc<()>)>,
    last: Option<Vec<KernelSocket>>,
}

struct Closed {
    id: SocketId,
    local: SocketAddr,
    peer: SocketAddr,
    since: Instant,
    last: Option<(String, Option<u64>)>,
    _route: Watch,
}

/// Held by an open client socket connected to a lab server; dropping it marks it closed.
pub(crate) struct LabClient(#[allow(dead_code)] Arc<()>);

impl KernelWatch {
    /// The session's watcher; its task starts with the first thing to watch.
    pub(crate) fn new(outbox: Arc<Outbox>) -> KernelWatch {
        KernelWatch {
            inner: Arc::default(),
            wake: Arc::default(),
            outbox,
            task: Arc::default(),
        }
    }

    /// Wakes the watcher task, starting it if it does not run yet.
    fn wake(&self) {
        let mut task = self.task.lock().unwrap_or_else(|e| e.into_inner());
        if task.is_none() {
            let watch = self.clone();
            let handle = tokio::spawn(async move {
                let outbox = watch.outbox.clone();
                let _ = watch.run(&outbox).await;
            });
            *task = Some(handle.abort_handle());
        }
        drop(task);
        self.wake.notify_one();
    }

    /// Ends the watcher task (the session is over).
    pub(crate) fn stop(&self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            task.abort();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Watched> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Watch a running lab server's accept queue.
    pub(crate) fn listener(&self, server: ServerId, socket: &Arc<TcpListener>) {
        let listener = Listener {
            socket: Arc::downgrade(socket),
            last: None,
            overflows_at_full: None,
        };
        self.lock().listeners.insert(server, listener);
        self.wake();
    }

    /// Stop watching a lab server's accept queue. When this returns the watcher holds no
    /// reference to the listening socket, so closing it really closes it (a restart can bind
    /// the port at once).
    pub(crate) fn forget_listener(&self, server: ServerId) {
        self.lock().listeners.remove(&server);
    }

    /// Report what a lab server's impaired link does.
    pub(crate) fn link(&self, server: ServerId, link: &Arc<Link>) {
        self.lock()
            .links
            .insert(server, (Arc::downgrade(link), None));
        self.wake();
    }

    /// Stop reporting a lab server's link, after one last report of its counts.
    pub(crate) fn forget_link(&self, server: ServerId) {
        let last = self.lock().links.remove(&server);
        if let Some((link, said)) = last
            && let Some(link) = link.upgrade()
            && said != Some(link.stats())
        {
            let stats = link.stats();
            self.outbox.try_push(EventBody::LinkStats { server, stats });
        }
    }

    /// Watch the server's end of a session connection to lab server `server` at `addr`.
    pub(crate) fn lab_client(
        &self,
        server: ServerId,
        addr: SocketAddr,
        client: SocketAddr,
    ) -> LabClient {
        let open = Arc::new(());
        let mut w = self.lock();
        let lab = w.labs.entry(server).or_insert_with(|| LabConnections {
            server: addr,
            clients: VecDeque::new(),
            last: None,
        });
        if lab.server != addr {
            // The lab server was replaced by one on another port: a fresh list.
            lab.server = addr;
            lab.clients.clear();
            lab.last = None;
        }
        if lab.clients.len() >= MAX_LAB_CONNECTIONS
            && let Some(i) = lab
                .clients
                .iter()
                .position(|(_, o)| Arc::strong_count(o) == 1)
        {
            lab.clients.remove(i);
        }
        lab.clients.push_back((client, open.clone()));
        drop(w);
        self.wake();
        LabClient(open)
    }

    /// A client connection was closed: watch what is left of it in the kernel, keeping its
    /// route so its last packets still reach the session.
    pub(crate) fn closed(&self, id: SocketId, local: SocketAddr, peer: SocketAddr, route: Watch) {
        let mut w = self.lock();
        if w.closed.len() >= MAX_CLOSED {
            w.closed.pop_front();
        }
        w.closed.push_back(Closed {
            id,
            local,
            peer,
            since: Instant::now(),
            last: None,
            _route: route,
        });
        drop(w);
        self.wake();
    }

    fn idle(&self) -> bool {
        let w = self.lock();
        w.listeners.is_empty() && w.links.is_empty() && w.labs.is_empty() && w.closed.is_empty()
    }

    async fn run(&self, outbox: &Arc<Outbox>) -> Result<(), SessionGone> {
        let mut diag = None;
        let mut tick = tokio::time::interval(WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if self.idle() {
                // Nothing to watch: the netlink socket goes too (an idle session holds only its
                // WebSocket's descriptor).
                diag = None;
                self.wake.notified().await;
            }
            tick.tick().await;
            for event in self.listen_queues() {
                outbox.push(event).await?;
            }
            for event in self.link_stats() {
                outbox.push(event).await?;
            }
            if diag.is_none() {
                diag = SockDiag::open()
                    .inspect_err(|e| tracing::warn!("sock_diag unavailable: {e}"))
                    .ok();
            }
            let Some(diag) = diag.as_mut() else {
                // Without sock_diag only the queues can be watched.
                let mut w = self.lock();
                w.labs.clear();
                w.closed.clear();
                continue;
            };
            for event in self.lab_connections(diag).await {
                outbox.push(event).await?;
            }
            for event in self.closed_connections(diag).await {
                outbox.push(event).await?;
            }
        }
    }

    /// Every watched accept queue that changed.
    fn listen_queues(&self) -> Vec<EventBody> {
        let mut w = self.lock();
        let mut events = vec![];
        w.listeners.retain(|&server, l| {
            // Held only for this one call, under the lock (see `forget_listener`).
            let Some(socket) = l.socket.upgrade() else {
                return false;
            };
            let Some((queued, backlog)) = tcp_info::listen_queue(socket.as_raw_fd()) else {
                return true;
            };
            // Full (Linux queues backlog + 1): from now on, the kernel's overflow count too.
            if queued > backlog && l.overflows_at_full.is_none() {
                l.overflows_at_full = netstat::listen_overflows();
            }
            let overflows = l
                .overflows_at_full
                .and_then(|at| Some(netstat::listen_overflows()?.saturating_sub(at)));
            let now = Some((queued, backlog, overflows));
            if now != l.last {
                l.last = now;
                events.push(EventBody::ListenQueue {
                    server,
                    queued,
                    backlog,
                    overflows,
                });
            }
            true
        });
        events
    }

    /// Every watched link whose counts changed.
    fn link_stats(&self) -> Vec<EventBody> {
        let mut w = self.lock();
        let mut events = vec![];
        w.links.retain(|&server, (link, said)| {
            let Some(link) = link.upgrade() else {
                return false;
            };
            let stats = link.stats();
            if *said != Some(stats) {
                *said = Some(stats);
                events.push(EventBody::LinkStats { server, stats });
            }
            true
        });
        events
    }

    /// The server's end of every watched connection to a lab server, per lab server, when the
    /// list changed.
    async fn lab_connections(&self, diag: &mut SockDiag) -> Vec<EventBody> {
        let work: Vec<(ServerId, SocketAddr, Vec<SocketAddr>)> = self
            .lock()
            .labs
            .iter()
            .map(|(&s, lab)| (s, lab.server, lab.clients.iter().map(|c| c.0).collect()))
            .collect();
        let mut events = vec![];
        for (server, addr, clients) in work {
            let mut sockets = vec![];
            let mut gone = vec![];
            for client in clients {
                match diag.lookup(addr, client).await {
                    Ok(Some(found)) => sockets.push(KernelSocket {
                        local: addr,
                        remote: client,
                        state: state_name(found.state).to_string(),
                        // Whole seconds: enough for a countdown, and it keeps the events few.
                        timer_ms: found.time_wait_ms.map(|ms| ms / 1000 * 1000),
                    }),
                    Ok(None) => gone.push(client),
                    Err(e) => tracing::debug!("sock_diag lookup failed: {e}"),
                }
            }
            sockets.sort_by_key(|s| s.remote);
            let mut w = self.lock();
            let Some(lab) = w.labs.get_mut(&server) else {
                continue;
            };
            // A client that is closed and that the kernel no longer has is done with.
            lab.clients
                .retain(|(c, open)| Arc::strong_count(open) > 1 || !gone.contains(c));
            if lab.last.as_ref() != Some(&sockets) {
                lab.last = Some(sockets.clone());
                events.push(EventBody::KernelSockets { server, sockets });
            }
            if lab.clients.is_empty() {
                w.labs.remove(&server);
            }
        }
        events
    }

    /// The state of every watched closed connection that changed; `CLOSED` once it is gone.
    async fn closed_connections(&self, diag: &mut SockDiag) -> Vec<EventBody> {
        let work: Vec<(SocketId, SocketAddr, SocketAddr)> = self
            .lock()
            .closed
            .iter()
            .map(|c| (c.id, c.local, c.peer))
            .collect();
        let mut found = Vec::with_capacity(work.len());
        for &(_, local, peer) in &work {
            found.push(diag.lookup(local, peer).await.ok());
        }
        let mut events = vec![];
        let mut w = self.lock();
        for ((id, local, _), found) in work.into_iter().zip(found) {
            let Some(Some(found)) = found.map(|f| {
                Some(match f {
                    Some(f) => (
                        state_name(f.state).to_string(),
                        f.time_wait_ms.map(|ms| ms / 1000 * 1000),
                    ),
                    None => ("CLOSED".to_string(), None),
                })
            }) else {
                continue;
            };
            let Some(c) = w.closed.iter_mut().find(|c| c.id == id && c.local == local) else {
                continue;
            };
            if c.last.as_ref() != Some(&found) {
                c.last = Some(found.clone());
                let (state, timer_ms) = found;
                events.push(EventBody::TcpState {
                    id,
                    state,
                    info: None,
                    timer_ms,
                });
            }
        }
        w.closed.retain(|c| {
            let age = c.since.elapsed();
            let gone = c.last.as_ref().is_some_and(|(s, _)| s == "CLOSED");
            age < CLOSED_MAX && !(gone && age >= CLOSED_MIN)
        });
        events
    }
}
