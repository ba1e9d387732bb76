//! The sockets of one session, by the ids the browser gave them, and the checks on every command.
//!
//! This is where a command from the network meets the session's limits: payload size, number of
//! sockets, queued commands per socket. A command that breaks one gets an error event saying
//! which, and the session carries on. It is also where a command's `to` becomes an address:
//! the lab's echo server, one of the session's lab servers, or the session's "nobody listens
//! here" port — never an address the browser chose.

use super::lab::LabServers;
use super::watch::KernelWatch;
use super::{SockCmd, file, tcp, udp};
use crate::Shared;
use crate::echo::framing;
use crate::outbox::{Outbox, SessionGone};
use protocol::{
    ClientMsg, Command, ErrorCode, EventBody, Family, ParseError, ServerId, SocketId, Target,
    Transport,
};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Commands that may wait for one socket. With payloads of at most the message limit this bounds
/// a socket's queued bytes (16 × 64 KiB = 1 MiB by default); more gets `queue_full`.
pub(crate) const SOCKET_QUEUE: usize = 16;

/// Most messages in one burst (the sticky-packets experiment sends a handful).
pub(crate) const MAX_BURST: usize = 64;

/// What kind of socket an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tcp,
    Udp,
    File,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Tcp => "TCP connection",
            Kind::Udp => "UDP socket",
            Kind::File => "file transfer",
        }
    }
}

pub(crate) struct Sockets {
    shared: Arc<Shared>,
    outbox: Arc<Outbox>,
    open: HashMap<SocketId, Handle>,
    /// Owns the socket tasks: dropping the set aborts them all.
    tasks: JoinSet<SocketId>,
    labs: LabServers,
    kernel: KernelWatch,
    /// The session's "nobody listens here" ports, one per family, reserved on first use.
    nobody: Vec<Nobody>,
    /// The session's block of file descriptors while it has sockets or lab servers open.
    block: Option<tokio::sync::OwnedSemaphorePermit>,
}

struct Handle {
    kind: Kind,
    tx: mpsc::Sender<SockCmd>,
}

/// A loopback port reserved for this session where nothing listens: a TCP socket bound to it
/// but never `listen()`ing (so connects get RST: "connection refused"), on a port number that
/// no UDP socket was bound to when it was picked.
struct Nobody {
    _reserved: TcpSocket,
    addr: SocketAddr,
    family: Family,
}

/// The loopback address of `family`: 127.0.0.1 or ::1.
pub(crate) fn loopback(family: Family) -> std::net::IpAddr {
    match family {
        Family::Ipv4 => std::net::Ipv4Addr::LOCALHOST.into(),
        Family::Ipv6 => std::net::Ipv6Addr::LOCALHOST.into(),
    }
}

impl Drop for Sockets {
    fn drop(&mut self) {
        // Everything the session had is closing; its kernel watcher goes with it.
        self.kernel.stop();
    }
}

impl Sockets {
    pub(crate) fn new(shared: Arc<Shared>, outbox: Arc<Outbox>) -> Sockets {
        let kernel = KernelWatch::new(outbox.clone());
        Sockets {
            labs: LabServers::new(shared.clone(), outbox.clone(), kernel.clone()),
            kernel,
            shared,
            outbox,
            open: HashMap::new(),
            tasks: JoinSet::new(),
            nobody: vec![],
            block: None,
        }
    }

    /// Takes the session's block of descriptors (see `fds.rs`) if it has none yet. When every
    /// block is held by other sessions, says so and returns `false`: nothing is opened.
    async fn activate(
        &mut self,
        id: Option<SocketId>,
        server: Option<ServerId>,
    ) -> Result<bool, SessionGone> {
        if self.block.is_some() {
            return Ok(true);
        }
        if let Ok(block) = self.shared.blocks.clone().try_acquire_owned() {
            self.block = Some(block);
            return Ok(true);
        }
        let message = format!(
            "the bridge already runs the experiments of {} sessions at once, all its file \
             descriptors allow; try again in a minute (a session's place frees when it has \
             nothing open)",
            self.shared.max_blocks
        );
        self.outbox
            .push(EventBody::Error {
                id,
                server,
                code: ErrorCode::BridgeBusy,
                message,
                os: None,
            })
            .await?;
        Ok(false)
    }

    /// Gives the session's block of descriptors back once nothing of it is open.
    pub(crate) fn settle(&mut self) {
        if self.block.is_some() && self.open.is_empty() && !self.labs.any_running() {
            self.nobody.clear();
            self.block = None;
        }
    }

    /// Waits for a socket task to end; `None` at once when there are none.
    pub(crate) async fn next_finished(&mut self) -> Option<SocketId> {
        match self.tasks.join_next().await? {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::error!("a socket task failed: {e}");
                None
            }
        }
    }

    pub(crate) fn forget(&mut self, id: SocketId) {
        self.open.remove(&id);
        self.settle();
    }

    /// Parses one text frame and carries it out. Errs only when the session is gone.
    pub(crate) async fn handle(&mut self, text: &str) -> Result<(), SessionGone> {
        let cmd = match ClientMsg::from_json(text) {
            Ok(msg) => msg.cmd,
            Err(e) => {
                let code = match e {
                    ParseError::BadJson(_) => ErrorCode::BadJson,
                    ParseError::BadVersion(_) => ErrorCode::BadVersion,
                    ParseError::UnknownCommand(_) => ErrorCode::UnknownCommand,
                    ParseError::BadCommand { .. } => ErrorCode::BadCommand,
                };
                return self.error(None, code, e.to_string()).await;
            }
        };
        match cmd {
            Command::TcpConnect { id, to } => {
                if let Some(addr) = self.prepare(id, Transport::Tcp, to).await? {
                    let lab = match to {
                        Target::Lab(server) => Some(server),
                        _ => None,
                    };
                    let to = tcp::To { addr, lab };
                    let kernel = self.kernel.clone();
                    self.spawn(id, Kind::Tcp, move |shared, outbox, rx| async move {
                        tcp::run(id, to, &shared, &kernel, &outbox, rx).await
                    });
                }
                Ok(())
            }
            Command::TcpSend { id, data } => {
                if self.check_size(id, data.len()).await? {
                    self.deliver(Kind::Tcp, id, SockCmd::Send(data.0)).await?;
                }
                Ok(())
            }
            Command::TcpSendBurst {
                id,
                messages,
                framing,
            } => {
                if messages.len() > MAX_BURST {
                    let message = format!("a burst has at most {MAX_BURST} messages");
                    return self.error(Some(id), ErrorCode::TooLarge, message).await;
                }
                let total = messages.iter().map(|m| m.len()).sum();
                if self.check_size(id, total).await? {
                    let framed = messages
                        .iter()
                        .map(|m| framing::encode(framing, &m.0))
                        .collect();
                    self.deliver(Kind::Tcp, id, SockCmd::Burst(framed)).await?;
                }
                Ok(())
            }
            Command::TcpClose { id } => self.deliver(Kind::Tcp, id, SockCmd::Close).await,
            Command::UdpSend {
                id,
                data,
                to,
                connected,
            } => {
                if !self.check_size(id, data.len()).await? {
                    return Ok(());
                }
                // UDP has no connect: the first datagram from a new id opens its socket.
                if !self.open.contains_key(&id) {
                    let Some(target) = self.prepare(id, Transport::Udp, to).await? else {
                        return Ok(());
                    };
                    self.spawn(id, Kind::Udp, move |shared, outbox, rx| async move {
                        udp::run(id, target, connected, &shared, &outbox, rx).await
                    });
                }
                self.deliver(Kind::Udp, id, SockCmd::Send(data.0)).await
            }
            Command::UdpClose { id } => self.deliver(Kind::Udp, id, SockCmd::Close).await,
            Command::LabStart { server, spec } => {
                if self.activate(None, Some(server)).await? {
                    self.labs.start(server, spec).await?;
                    self.settle();
                }
                Ok(())
            }
            Command::LabStop { server } => {
                self.labs.stop(server).await?;
                self.settle();
                Ok(())
            }
            Command::LabRestart { server, reuseaddr } => {
                if self.activate(None, Some(server)).await? {
                    self.labs.restart(server, reuseaddr).await?;
                    self.settle();
                }
                Ok(())
            }
            Command::LabCloseClients { server } => self.labs.close_clients(server).await,
            Command::FileStart {
                id,
                transport,
                to,
                source,
                datagram,
            } => {
                let plan = match file::Plan::new(transport, source, datagram, &self.shared.limits) {
                    Ok(plan) => plan,
                    Err(message) => {
                        return self.error(Some(id), ErrorCode::BadCommand, message).await;
                    }
                };
                if let Some(target) = self.prepare(id, transport, to).await? {
                    self.spawn(id, Kind::File, move |shared, outbox, rx| async move {
                        file::run(id, target, plan, &shared.observers, &outbox, rx).await
                    });
                }
                Ok(())
            }
            Command::FileChunk { id, data } => {
                if self.check_size(id, data.len()).await? {
                    self.deliver(Kind::File, id, SockCmd::Send(data.0)).await?;
                }
                Ok(())
            }
            Command::FileCancel { id } => self.deliver(Kind::File, id, SockCmd::Close).await,
        }
    }

    /// Checks that a new socket `id` may open, and finds where it goes. Says why not if not.
    async fn prepare(
        &mut self,
        id: SocketId,
        transport: Transport,
        to: Target,
    ) -> Result<Option<SocketAddr>, SessionGone> {
        if self.open.contains_key(&id) {
            let message = format!("socket {id} is already open");
            self.error(Some(id), ErrorCode::DuplicateId, message)
                .await?;
            return Ok(None);
        }
        let max = self.shared.limits.max_sockets;
        // A socket whose task no longer takes commands (closed, lingering in TIME_WAIT) is not
        // counted: only sockets that are really open use up the session's places.
        let open = self.open.values().filter(|h| !h.tx.is_closed()).count();
        if open >= max {
            let message =
                format!("this session already has {max} open sockets (the limit); close one first");
            self.error(Some(id), ErrorCode::TooManySockets, message)
                .await?;
            return Ok(None);
        }
        if !self.activate(Some(id), None).await? {
            return Ok(None);
        }
        let no_ipv6 = || {
            let message = "this bridge has no IPv6 echo server (the machine has no IPv6 \
                           loopback, or it was started with --tcp6 off / --udp6 off)";
            (ErrorCode::BadCommand, message.to_string())
        };
        let target = match to {
            Target::Echo => Ok(match transport {
                Transport::Tcp => self.shared.tcp_target,
                Transport::Udp => self.shared.udp_target,
            }),
            Target::Echo6 => match transport {
                Transport::Tcp => self.shared.tcp_target6,
                Transport::Udp => self.shared.udp_target6,
            }
            .ok_or_else(no_ipv6),
            Target::Lab(server) => self.labs.addr(server, transport),
            Target::Nobody | Target::Nobody6 => {
                let family = to.family().unwrap_or_default();
                self.nobody(family).map_err(|e| {
                    let message = format!("could not reserve a port where nobody listens: {e}");
                    (ErrorCode::Os, message)
                })
            }
        };
        match target {
            Ok(addr) => Ok(Some(addr)),
            Err((code, message)) => {
                self.settle();
                self.error(Some(id), code, message).await?;
                Ok(None)
            }
        }
    }

    /// The session's "nobody listens here" address, reserved on first use: a TCP port the kernel
    /// picks (free of TIME_WAITs too), held by a socket that never listens, and free for UDP when
    /// checked (a datagram there meets no socket: "port unreachable").
    fn nobody(&mut self, family: Family) -> std::io::Result<SocketAddr> {
        if let Some(nobody) = self.nobody.iter().find(|n| n.family == family) {
            return Ok(nobody.addr);
        }
        let ip = loopback(family);
        for _ in 0..16 {
            let (tcp, addr) = crate::ports::bound_tcp(ip)?;
            if std::net::UdpSocket::bind(addr).is_ok() {
                self.nobody.push(Nobody {
                    _reserved: tcp,
                    addr,
                    family,
                });
                return Ok(addr);
            }
        }
        Err(std::io::Error::other("no free port found"))
    }

    async fn check_size(&self, id: SocketId, len: usize) -> Result<bool, SessionGone> {
        let max = self.shared.limits.max_message;
        if len > max {
            let message = format!("the message is {len} bytes; the limit is {max} bytes");
            self.error(Some(id), ErrorCode::TooLarge, message).await?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Starts socket `id`'s task with its command queue.
    fn spawn<F, Fut>(&mut self, id: SocketId, kind: Kind, task: F)
    where
        F: FnOnce(Arc<Shared>, Arc<Outbox>, mpsc::Receiver<SockCmd>) -> Fut,
        Fut: Future<Output = Result<(), SessionGone>> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(SOCKET_QUEUE);
        let run = task(self.shared.clone(), self.outbox.clone(), rx);
        let run = async move {
            // An Err here only means the session is gone, which ends the task anyway.
            let _ = run.await;
            id
        };
        // A file transfer is bulk work: it runs where it cannot slow anyone's echo.
        if kind == Kind::File {
            self.tasks.spawn_on(run, &crate::bulk::handle());
        } else {
            self.tasks.spawn(run);
        }
        self.open.insert(id, Handle { kind, tx });
    }

    /// Hands a command to socket `id`, without waiting: a full queue is an error, not a stall.
    async fn deliver(&self, kind: Kind, id: SocketId, cmd: SockCmd) -> Result<(), SessionGone> {
        let Some(handle) = self.open.get(&id).filter(|h| h.kind == kind) else {
            let message = format!("there is no open {} with id {id}", kind.name());
            return self.error(Some(id), ErrorCode::UnknownId, message).await;
        };
        match handle.tx.try_send(cmd) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                let message = format!(
                    "{} {id} already has {SOCKET_QUEUE} commands waiting; this one was not \
                     carried out",
                    kind.name()
                );
                self.error(Some(id), ErrorCode::QueueFull, message).await
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                let message = format!("{} {id} is closed", kind.name());
                self.error(Some(id), ErrorCode::UnknownId, message).await
            }
        }
    }

    async fn error(
        &self,
        id: Option<SocketId>,
        code: ErrorCode,
        message: String,
    ) -> Result<(), SessionGone> {
        self.outbox
            .push(EventBody::Error {
                id,
                server: None,
                code,
                message,
                os: None,
            })
            .await
    }
}
