//! What the console knows about each of its sockets and lab servers, from the bridge's events.
//!
//! The log keeps the story in order; the facts keep it by socket, which is what an experiment's
//! results need ("how many `recv()` calls did the server make on *this* connection?"). Every
//! list is bounded: an experiment shows a handful, and a long session must not grow without end.

use crate::vec_map::VecMap;
use protocol::{
    CloseBy, ErrorCode, EventBody, FileProgress, FileResult, KernelSocket, LabSpec, ServerId,
    ServerSide, SocketId, Transport,
};
use std::collections::VecDeque;
use std::net::SocketAddr;

/// Entries kept per list (reads of one socket, …).
pub(crate) const MAX_ITEMS: usize = 256;
/// Sockets remembered; the oldest are forgotten first.
pub(crate) const MAX_SOCKETS: usize = 128;
/// Other clients' calls remembered.
pub(crate) const MAX_OTHERS: usize = 100;

/// An error the bridge reported: its code (for the learner's language), its message (English,
/// with details), and the kernel's errno name if a socket call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
    pub(crate) errno: Option<String>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct SockFacts {
    /// `connect()` returned: (local, peer, microseconds it took).
    pub(crate) connected: Option<(SocketAddr, SocketAddr, u64)>,
    /// Each `send()`/`sendto()` the bridge made, by length.
    pub(crate) sent: Vec<usize>,
    /// Each `recv()`/`recvfrom()` of the client, with its bytes.
    pub(crate) received: Vec<Vec<u8>>,
    /// Each `recv()`/`recvfrom()` of the server, with its bytes.
    pub(crate) server_reads: Vec<Vec<u8>>,
    /// UDP: each datagram's real size as the server's kernel saw it.
    pub(crate) server_sizes: Vec<usize>,
    /// UDP: the sender's address as the server's `recvfrom()` returned it.
    pub(crate) server_peer: Option<SocketAddr>,
    /// TCP with framing: whole messages the server cut from its stream.
    pub(crate) server_messages: Vec<Vec<u8>>,
    pub(crate) accepted: bool,
    pub(crate) server_closed: bool,
    pub(crate) closed: Option<CloseBy>,
    /// The last error.
    pub(crate) error: Option<Failure>,
    pub(crate) no_reply: bool,
    pub(crate) file: Option<FileFacts>,
    /// `TCP_INFO` as the bridge reported it while the connection was open, oldest first (the
    /// lossy link's chart): the newest [`MAX_SAMPLES`].
    pub(crate) info: std::collections::VecDeque<protocol::TcpInfo>,
}

/// `TCP_INFO` samples kept per connection: the bridge reports one when a figure changes, at
/// most every 200 ms, so this is a minute or more of a busy connection.
pub(crate) const MAX_SAMPLES: usize = 300;

#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct FileFacts {
    pub(crate) progress: FileProgress,
    pub(crate) result: Option<FileResult>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LabFacts {
    pub(crate) addr: SocketAddr,
    pub(crate) spec: LabSpec,
    pub(crate) running: bool,
    /// (queued, backlog) from the kernel.
    pub(crate) queue: Option<(u32, u32)>,
    pub(crate) sockets: Vec<KernelSocket>,
    /// The last error about this server (e.g. a failed restart).
    pub(crate) error: Option<Failure>,
    /// What its impaired link did so far, as the bridge counted it.
    pub(crate) link: Option<protocol::LinkStats>,
    /// How much the kernel's ListenOverflows grew since its queue was first full.
    pub(crate) overflows: Option<u64>,
}

/// One call of the lab's servers with a client that belongs to no session.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OtherCall {
    pub(crate) t_us: u64,
    pub(crate) transport: Transport,
    pub(crate) client: SocketAddr,
    pub(crate) op: ServerSide,
}

#[derive(Debug, Default)]
pub(crate) struct Facts {
    sockets: VecMap<SocketId, SockFacts>,
    labs: VecMap<ServerId, LabFacts>,
    others: VecDeque<OtherCall>,
}

fn push<T>(list: &mut Vec<T>, item: T) {
    if list.len() < MAX_ITEMS {
        list.push(item);
    }
}

impl Facts {
    pub(crate) fn socket(&self, id: SocketId) -> Option<&SockFacts> {
        self.sockets.get(&id)
    }

    pub(crate) fn lab(&self, server: ServerId) -> Option<&LabFacts> {
        self.labs.get(&server)
    }

    pub(crate) fn others(&self) -> impl Iterator<Item = &OtherCall> {
        self.others.iter()
    }

    /// Forgets everything about the bridge's sockets (the bridge is gone, and they with it).
    pub(crate) fn clear(&mut self) {
        self.sockets.clear();
        self.labs.clear();
    }

    fn entry(&mut self, id: SocketId) -> &mut SockFacts {
        if !self.sockets.contains_key(&id) && self.sockets.len() >= MAX_SOCKETS {
            self.sockets.pop_first();
        }
        self.sockets.get_or_default(id)
    }

    /// Records what an event says about a socket or a lab server.
    pub(crate) fn observe(&mut self, t_us: u64, body: &EventBody) {
        match body {
            EventBody::TcpConnected {
                id,
                local,
                peer,
                connect_us,
            } => {
                self.entry(*id).connected = Some((*local, *peer, *connect_us));
            }
            EventBody::TcpSent { id, len } => push(&mut self.entry(*id).sent, *len),
            EventBody::UdpSent { id, len, .. } => {
                let f = self.entry(*id);
                f.no_reply = false;
                push(&mut f.sent, *len);
            }
            EventBody::TcpReceived { id, data } | EventBody::UdpReceived { id, data, .. } => {
                push(&mut self.entry(*id).received, data.0.clone());
            }
            EventBody::TcpClosed { id, by } => self.entry(*id).closed = Some(*by),
            EventBody::UdpNoReply { id, .. } => self.entry(*id).no_reply = true,
            EventBody::Server { id, op } => {
                let f = self.entry(*id);
                match op {
                    ServerSide::Accept { .. } => f.accepted = true,
                    ServerSide::Recv { data } => push(&mut f.server_reads, data.0.clone()),
                    ServerSide::RecvFrom { data, size, peer } => {
                        f.server_peer = Some(*peer);
                        push(&mut f.server_reads, data.0.clone());
                        push(&mut f.server_sizes, *size);
                    }
                    ServerSide::Message { data } => push(&mut f.server_messages, data.0.clone()),
                    ServerSide::Close { .. } => f.server_closed = true,
                    ServerSide::Send { .. } | ServerSide::SendTo { .. } => {}
                }
            }
            EventBody::OtherClient {
                transport,
                client,
                op,
            } => {
                if self.others.len() == MAX_OTHERS {
                    self.others.pop_front();
                }
                let (transport, client, op) = (*transport, *client, op.clone());
                self.others.push_back(OtherCall {
                    t_us,
                    transport,
                    client,
                    op,
                });
            }
            EventBody::LabStarted { server, addr, spec } => {
                let queue = None;
                let lab = LabFacts {
                    addr: *addr,
                    spec: *spec,
                    running: true,
                    queue,
                    sockets: vec![],
                    error: None,
                    link: None,
                    overflows: None,
                };
                // A restart on the same port keeps what the kernel said about it.
                match self.labs.get_mut(server) {
                    Some(old) if old.addr == *addr => {
                        old.running = true;
                        old.spec = *spec;
                        old.error = None;
                    }
                    _ => {
                        self.labs.insert(*server, lab);
                    }
                }
            }
            EventBody::LabStopped { server } => {
                if let Some(lab) = self.labs.get_mut(server) {
                    lab.running = false;
                    lab.queue = None;
                }
            }
            EventBody::ListenQueue {
                server,
                queued,
                backlog,
                overflows,
            } => {
                if let Some(lab) = self.labs.get_mut(server) {
                    lab.queue = Some((*queued, *backlog));
                    lab.overflows = *overflows;
                }
            }
            EventBody::LinkStats { server, stats } => {
                if let Some(lab) = self.labs.get_mut(server) {
                    lab.link = Some(*stats);
                }
            }
            EventBody::KernelSockets { server, sockets } => {
                if let Some(lab) = self.labs.get_mut(server) {
                    lab.sockets = sockets.clone();
                }
            }
            EventBody::FileProgress { id, progress } => {
                let file = self.entry(*id).file.get_or_insert_with(FileFacts::default);
                file.progress = progress.clone();
            }
            EventBody::FileDone { id, result } => {
                let file = self.entry(*id).file.get_or_insert_with(FileFacts::default);
                file.progress = result.progress.clone();
                file.result = Some(result.clone());
            }
            EventBody::Error {
                id,
                server,
                code,
                message,
                os,
            } => {
                let error = Some(Failure {
                    code: *code,
                    message: message.clone(),
                    errno: os.as_ref().map(|o| o.name.clone()),
                });
                if let Some(id) = id {
                    self.entry(*id).error = error.clone();
                }
                if let Some(lab) = server.and_then(|s| self.labs.get_mut(&s)) {
                    lab.error = error;
                }
            }
            EventBody::TcpState {
                id, info: Some(i), ..
            } => {
                let samples = &mut self.entry(*id).info;
                if samples.len() == MAX_SAMPLES {
                    samples.pop_front();
                }
                samples.push_back(*i);
            }
            EventBody::Hello { .. }
            | EventBody::UdpDropped { .. }
            | EventBody::Packet { .. }
            | EventBody::TcpState { .. }
            | EventBody::TcpClosing { .. }
            | EventBody::UdpClosed { .. } => {}
        }
    }
}
