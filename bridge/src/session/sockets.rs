//! The sockets of one session, by the ids the browser gave them, and the checks on every command.
//!
//! This is where a command from the network meets the session's limits: payload size, number of
//! sockets, queued commands per socket. A command that breaks one gets an error event saying
//! which, and the session carries on.

use super::{SockCmd, tcp, udp};
use crate::Shared;
use crate::observe::Transport;
use crate::outbox::{Outbox, SessionGone};
use protocol::{ClientMsg, Command, ErrorCode, EventBody, ParseError, SocketId};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Commands that may wait for one socket. With payloads of at most the message limit this bounds
/// a socket's queued bytes (16 × 64 KiB = 1 MiB by default); more gets `queue_full`.
pub(crate) const SOCKET_QUEUE: usize = 16;

pub(crate) struct Sockets {
    shared: Arc<Shared>,
    outbox: Arc<Outbox>,
    open: HashMap<SocketId, Handle>,
    /// Owns the socket tasks: dropping the set aborts them all.
    tasks: JoinSet<SocketId>,
}

struct Handle {
    transport: Transport,
    tx: mpsc::Sender<SockCmd>,
}

impl Sockets {
    pub(crate) fn new(shared: Arc<Shared>, outbox: Arc<Outbox>) -> Sockets {
        Sockets {
            shared,
            outbox,
            open: HashMap::new(),
            tasks: JoinSet::new(),
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
        let id = cmd.id();
        match cmd {
            Command::TcpConnect { id } => {
                if self.check_new(id).await? {
                    self.open_socket(Transport::Tcp, id);
                }
                Ok(())
            }
            Command::TcpSend { id, data } => {
                if self.check_size(id, data.len()).await? {
                    self.deliver(Transport::Tcp, id, SockCmd::Send(data.0))
                        .await?;
                }
                Ok(())
            }
            Command::TcpClose { id } => self.deliver(Transport::Tcp, id, SockCmd::Close).await,
            Command::UdpSend { id, data } => {
                if !self.check_size(id, data.len()).await? {
                    return Ok(());
                }
                // UDP has no connect: the first datagram from a new id opens its socket.
                if !self.open.contains_key(&id) {
                    if !self.check_new(id).await? {
                        return Ok(());
                    }
                    self.open_socket(Transport::Udp, id);
                }
                self.deliver(Transport::Udp, id, SockCmd::Send(data.0))
                    .await
            }
            Command::UdpClose { .. } => self.deliver(Transport::Udp, id, SockCmd::Close).await,
        }
    }

    /// May a new socket with this id be opened? Says why not if it may not.
    async fn check_new(&self, id: SocketId) -> Result<bool, SessionGone> {
        if self.open.contains_key(&id) {
            self.error(
                Some(id),
                ErrorCode::DuplicateId,
                format!("socket {id} is already open"),
            )
            .await?;
            return Ok(false);
        }
        let max = self.shared.limits.max_sockets;
        if self.open.len() >= max {
            let message =
                format!("this session already has {max} open sockets (the limit); close one first");
            self.error(Some(id), ErrorCode::TooManySockets, message)
                .await?;
            return Ok(false);
        }
        Ok(true)
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

    fn open_socket(&mut self, transport: Transport, id: SocketId) {
        let (tx, rx) = mpsc::channel(SOCKET_QUEUE);
        let shared = self.shared.clone();
        let outbox = self.outbox.clone();
        self.tasks.spawn(async move {
            // An Err here only means the session is gone, which ends the task anyway.
            let _ = match transport {
                Transport::Tcp => tcp::run(id, &shared, &outbox, rx).await,
                Transport::Udp => udp::run(id, &shared, &outbox, rx).await,
            };
            id
        });
        self.open.insert(id, Handle { transport, tx });
    }

    /// Hands a command to socket `id`, without waiting: a full queue is an error, not a stall.
    async fn deliver(
        &self,
        transport: Transport,
        id: SocketId,
        cmd: SockCmd,
    ) -> Result<(), SessionGone> {
        let kind = match transport {
            Transport::Tcp => "TCP connection",
            Transport::Udp => "UDP socket",
        };
        let Some(handle) = self.open.get(&id).filter(|h| h.transport == transport) else {
            let message = format!("there is no open {kind} with id {id}");
            return self.error(Some(id), ErrorCode::UnknownId, message).await;
        };
        match handle.tx.try_send(cmd) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                let message = format!(
                    "{kind} {id} already has {SOCKET_QUEUE} commands waiting; this one was not \
                     carried out"
                );
                self.error(Some(id), ErrorCode::QueueFull, message).await
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                let message = format!("{kind} {id} is closed");
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
                code,
                message,
                os: None,
            })
            .await
    }
}
