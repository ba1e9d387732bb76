//! Events from the bridge to the console: what really happened, in the order it happened.
//!
//! Every event carries `t_us`, the microseconds since the session began, taken from the bridge's
//! monotonic clock right after the socket call returned; an event that reports a call also
//! carries `called_us`, when the call was entered, on the same clock. The bridge stamps and
//! queues events under one lock, so within a session `t_us` never goes backwards. Packets'
//! `at_us` are on the same clock too: one clock for everything a session shows.

use crate::{
    Bytes, FileProgress, FileResult, KernelSocket, LabSpec, ServerId, SocketId, Transport, VERSION,
};
use serde::Serialize;
use std::net::SocketAddr;

/// One frame from the bridge:
/// `{"v":1,"t_us":1520,"called_us":1402,"type":"tcp_received","id":1,"data":"SEk="}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub v: u32,
    /// Microseconds since this session's WebSocket was accepted: when the call returned (or the
    /// bridge learned what the event says).
    pub t_us: u64,
    /// For an event that reports a socket call: when the call was entered, on the same clock.
    /// `called_us ≤ t_us`; calls on two sides may overlap (a `recv()` can return before the
    /// `send()` that fed it does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub called_us: Option<u64>,
    #[serde(flatten)]
    pub body: EventBody,
}

impl Event {
    pub fn new(t_us: u64, body: EventBody) -> Self {
        Event {
            v: VERSION,
            t_us,
            called_us: None,
            body,
        }
    }

    /// An event reporting a call entered at `called_us` and returned at `t_us`.
    pub fn call(called_us: u64, t_us: u64, body: EventBody) -> Self {
        Event {
            called_us: Some(called_us.min(t_us)),
            ..Event::new(t_us, body)
        }
    }

    /// The JSON text frame for this event. (The console reads it with `Event::from_json`,
    /// written by hand in `json/event.rs`: see `json/mod.rs` for why.)
    ///
    /// `#[inline]`: compiled in the crate that calls it, with that crate's settings: this crate
    /// is built small (the console's release settings, see the workspace `Cargo.toml`), and
    /// this is the bridge's hot path.
    ///
    /// The events an echo makes (packets, sends, receives, the server's side of them) are
    /// written by hand, byte for byte what serde writes (`event_json.rs`); serde writes the rest.
    #[inline]
    pub fn to_json(&self) -> String {
        crate::event_json::write(self)
            .unwrap_or_else(|| serde_json::to_string(self).expect("events always serialise"))
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    /// First event of every session: where the lab's servers are and the session's limits.
    Hello {
        tcp_server: SocketAddr,
        udp_server: SocketAddr,
        /// The same echo servers over IPv6 (`to: "echo6"`), when the machine has IPv6.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tcp_server6: Option<SocketAddr>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        udp_server6: Option<SocketAddr>,
        limits: Limits,
        /// The bridge runs with `--show-other-clients`: `other_client` events will come.
        #[serde(default)]
        show_other_clients: bool,
        /// Whether live packets will come, and if not, why.
        #[serde(default)]
        capture: CaptureState,
        /// Whether lab servers can have a lossy link (`impair`), and if not, why.
        #[serde(default)]
        impair: ImpairState,
        /// When the session began, in microseconds since the Unix epoch: packets' `at_us` count
        /// from here (a pcap file needs wall-clock times).
        #[serde(default)]
        started_unix_us: u64,
        /// The bridge's version (`CARGO_PKG_VERSION`), e.g. "0.4.0": a recording says what
        /// made it.
        #[serde(default)]
        bridge_version: String,
        /// The kernel the sockets ran on, as `uname -sr` prints it, e.g. "Linux 6.1.0-28-amd64".
        #[serde(default)]
        kernel: String,
    },
    /// One packet of this session's sockets, captured on the loopback interface: the raw
    /// Ethernet frame as the kernel saw it. `at_us` is the kernel's timestamp, in microseconds
    /// since the session began; `id` is the session's socket it belongs to.
    Packet {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<SocketId>,
        at_us: u64,
        data: Bytes,
        /// The lab server's impaired link dropped this packet (see `Impair`): it left the
        /// sender's kernel and never reached the other end. Its bytes are the kernel's, taken
        /// at the drop, with loopback's 14-byte Ethernet header in front like every frame here.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        lost: bool,
    },
    /// The kernel's state of TCP connection `id` (`getsockopt(TCP_INFO)` while the socket is
    /// open; the kernel's socket table after close, e.g. TIME_WAIT with `timer_ms` left). Sent
    /// when it changes.
    TcpState {
        id: SocketId,
        state: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        info: Option<TcpInfo>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timer_ms: Option<u64>,
    },
    /// `connect()` returned: the three-way handshake completed in `connect_us` microseconds.
    TcpConnected {
        id: SocketId,
        local: SocketAddr,
        peer: SocketAddr,
        connect_us: u64,
    },
    /// `send()` accepted `len` bytes into the kernel's send buffer.
    TcpSent { id: SocketId, len: usize },
    /// One `recv()` on the client socket returned these bytes (a read may hold several
    /// echoes, or part of one: TCP is a byte stream).
    TcpReceived { id: SocketId, data: Bytes },
    /// `shutdown(SHUT_WR)` sent our FIN; the connection is half-closed until the server's FIN.
    TcpClosing { id: SocketId },
    /// The connection is gone. `by` says who closed first.
    TcpClosed { id: SocketId, by: CloseBy },
    /// `sendto()` handed one datagram of `len` bytes to the kernel. No connection, no handshake.
    /// `connected`: the socket was `connect()`ed to `peer` first, so the call was `send()`.
    UdpSent {
        id: SocketId,
        local: SocketAddr,
        peer: SocketAddr,
        len: usize,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        connected: bool,
    },
    /// `recvfrom()` returned one datagram.
    UdpReceived {
        id: SocketId,
        from: SocketAddr,
        data: Bytes,
    },
    /// The UDP socket was closed (nothing goes on the wire).
    UdpClosed { id: SocketId },
    /// What the echo server did with the session's socket `id`: the other end of the story.
    Server { id: SocketId, op: ServerSide },
    /// What the lab's shared echo servers did with a client that is not one of this session's
    /// (the tutorial's Python client, `nc`, …). Only sent when the bridge runs with
    /// `--show-other-clients`.
    OtherClient {
        transport: Transport,
        client: SocketAddr,
        op: ServerSide,
    },
    /// A UDP socket sent a datagram and nothing came back within `waited_ms`.
    UdpNoReply { id: SocketId, waited_ms: u64 },
    /// Lab server `server` is listening (TCP) or bound (UDP) at `addr`.
    LabStarted {
        server: ServerId,
        addr: SocketAddr,
        spec: LabSpec,
    },
    /// Lab server `server` stopped; its connections are closed.
    LabStopped { server: ServerId },
    /// The accept queue of TCP lab server `server`, from the kernel: `queued` connections have
    /// completed the handshake and wait for `accept()`; at most `backlog` + 1 can wait.
    ListenQueue {
        server: ServerId,
        queued: u32,
        backlog: u32,
        /// How much the kernel's `ListenOverflows` counter (`/proc/net/netstat`: SYNs dropped
        /// because an accept queue was full — every listener's on this machine) grew since this
        /// server's queue was first full; absent until then.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        overflows: Option<u64>,
    },
    /// What lab server `server`'s impaired link did so far (sent when it changes, at most every
    /// 200 ms).
    LinkStats { server: ServerId, stats: LinkStats },
    /// The kernel's list of the sockets on lab server `server`'s port (not the listener), sent
    /// when it changes: states like ESTABLISHED, FIN_WAIT2, TIME_WAIT with its time left.
    KernelSockets {
        server: ServerId,
        sockets: Vec<KernelSocket>,
    },
    /// The kernel dropped `dropped` datagrams at the UDP server at `addr`: its receive buffer
    /// (`rcvbuf` bytes, as the kernel counts it) was full. Sent to every session that had
    /// datagrams on their way to that server then (which ones were dropped nobody can tell).
    /// The count is the kernel's own (`SO_RXQ_OVFL`/`SO_MEMINFO`, what `ss -uam` shows as `d`).
    UdpDropped {
        addr: SocketAddr,
        dropped: u64,
        rcvbuf: usize,
    },
    /// How a file transfer is going (at most a few times a second).
    FileProgress {
        id: SocketId,
        progress: FileProgress,
    },
    /// A file transfer ended (finished or cancelled).
    FileDone { id: SocketId, result: FileResult },
    /// Something went wrong. `id` is set when it concerns one socket; the session stays open.
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<SocketId>,
        /// Set when it concerns one of the session's lab servers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server: Option<ServerId>,
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        os: Option<OsError>,
    },
}

/// Whether the bridge captures packets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CaptureState {
    /// Live packets will come as `packet` events.
    On,
    /// Turned off with `--no-capture`.
    #[default]
    Off,
    /// The bridge may not open a packet socket; `hint` says how to allow it.
    NoPermission { hint: String },
    /// Capture failed for another reason.
    Failed { message: String },
}

/// Whether lab servers can have an impaired link (see [`crate::Impair`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ImpairState {
    /// `impair` works; `available` names the `Impair` fields this bridge can apply
    /// (`loss_pct`, `delay_ms`, `jitter_ms`, `reorder_pct`, `duplicate_pct`).
    On { available: Vec<String> },
    /// Turned off with `--no-impair`.
    #[default]
    Off,
    /// The bridge may not change the kernel's packet filter; `hint` says how to allow it.
    NoPermission { hint: String },
    /// Impairments are unavailable for another reason (e.g. the kernel lacks NFQUEUE).
    Failed { message: String },
}

/// What a lab server's impaired link did so far, counted by the bridge that applies it. The
/// kernel's own view (retransmissions, RTT) is in `tcp_state`; the packets in `packet`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LinkStats {
    /// Packets that went through the link (both directions).
    pub packets: u64,
    pub dropped: u64,
    /// Packets held back by the delay (or jitter) before they went on.
    pub delayed: u64,
    /// Packets held back longer so that later ones overtook them.
    pub reordered: u64,
    /// Extra copies sent.
    pub duplicated: u64,
    /// Packets let through unimpaired because the link held too many already.
    pub overflow: u64,
}

/// Figures from `TCP_INFO`, as the kernel keeps them for a connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TcpInfo {
    /// Smoothed round-trip time and its variation, µs.
    pub rtt_us: u32,
    pub rttvar_us: u32,
    /// Congestion window, in segments.
    pub cwnd: u32,
    pub segs_out: u32,
    pub segs_in: u32,
    pub total_retrans: u32,
}

/// One call the echo server made, as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ServerSide {
    /// TCP: `accept()` returned this client.
    Accept { peer: SocketAddr },
    /// TCP: one `recv(1024)` returned these bytes.
    Recv { data: Bytes },
    /// TCP: `send()` of the uppercased bytes.
    Send { len: usize },
    /// TCP: the server closed its end, because `recv()` returned 0 (the client's FIN), failed
    /// (`error`), or waited `idle_s` seconds for data that never came (the server's idle
    /// timeout).
    Close {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<OsError>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idle_s: Option<u32>,
        /// The server closed first — it was told to, or the client was idle — instead of after
        /// the client's FIN (the active close: the server's end goes to TIME_WAIT).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        active: bool,
        /// The server waited this long between `recv()` returning 0 (the client's FIN) and
        /// `close()` (a lab server's `close_delay_ms`): the event is stamped at the `close()`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        waited_ms: Option<u32>,
    },
    /// UDP: one `recvfrom(1024)` returned this datagram. `size` is the datagram's real size
    /// (`MSG_TRUNC`): when it is larger than `data`, the kernel discarded the rest.
    RecvFrom {
        peer: SocketAddr,
        data: Bytes,
        size: usize,
    },
    /// TCP with framing: the server cut one whole message out of its byte stream.
    Message { data: Bytes },
    /// UDP: `sendto()` of the uppercased datagram back to its sender.
    SendTo { peer: SocketAddr, len: usize },
}

/// Who closed a TCP connection first (the "active close").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseBy {
    Client,
    Server,
}

/// The kinds of error, so that a program can react without reading the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame was not JSON, or not a JSON object.
    BadJson,
    /// Missing or unsupported `v`.
    BadVersion,
    /// `type` is not a known command.
    UnknownCommand,
    /// A known command with missing or malformed fields.
    BadCommand,
    /// A binary frame: the protocol is JSON text.
    BinaryFrame,
    /// A payload or frame over the size limit.
    TooLarge,
    /// The session already has its maximum number of sockets.
    TooManySockets,
    /// The id is already in use by another socket of this session.
    DuplicateId,
    /// No socket with this id (never opened, or already closed).
    UnknownId,
    /// The socket's send queue is full; the command was not carried out.
    QueueFull,
    /// A socket call failed; `os` holds the kernel's error.
    Os,
    /// The browser reads events too slowly; this many server-side events were dropped.
    EventsDropped,
    /// No lab server with this id, or not of the protocol the command needs.
    UnknownServer,
    /// A lab server setting out of range.
    BadSpec,
    /// The session already runs its maximum number of lab servers.
    TooManyServers,
    /// The kernel dropped captured packets (its capture buffer was full).
    PacketsDropped,
    /// The bridge runs as many sessions' experiments at once as its file descriptors allow;
    /// this one may open sockets and lab servers when another session becomes idle.
    BridgeBusy,
    /// A lab server asked for an impaired link, which this bridge cannot give (see the hello's
    /// `impair`); the message says why and how to allow it.
    ImpairUnavailable,
}

/// An error number from the kernel, e.g. `{"errno":111,"name":"ECONNREFUSED",...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OsError {
    pub errno: i32,
    pub name: String,
    pub message: String,
}

/// The bounds a session works within, announced in [`EventBody::Hello`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Largest payload of one send, in bytes.
    pub max_message: usize,
    /// Most sockets (TCP and UDP together) open at once in one session.
    pub max_sockets: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_flat_with_version_time_and_type() {
        let ev = Event::new(
            1520,
            EventBody::Server {
                id: 1,
                op: ServerSide::Recv { data: "hi".into() },
            },
        );
        let json = ev.to_json();
        assert_eq!(
            json,
            r#"{"v":1,"t_us":1520,"type":"server","id":1,"op":{"op":"recv","data":"aGk="}}"#
        );
        assert_eq!(Event::from_json(&json).unwrap(), ev);
    }

    #[test]
    fn an_error_without_socket_or_os_part_leaves_them_out() {
        let ev = Event::new(
            0,
            EventBody::Error {
                id: None,
                server: None,
                code: ErrorCode::BadJson,
                message: "x".into(),
                os: None,
            },
        );
        assert_eq!(
            ev.to_json(),
            r#"{"v":1,"t_us":0,"type":"error","code":"bad_json","message":"x"}"#
        );
    }
}
