//! Socket Lab's wire protocol: what the browser console and the bridge say to each other.
//!
//! One WebSocket per console. Every frame is a JSON text frame holding one message with a
//! version field `v`. The console sends [`ClientMsg`] commands ("open a TCP connection to the
//! lab's echo server", "send these bytes"); the bridge answers with [`Event`]s that describe
//! what the kernel really did, each stamped with the microseconds since the session began.
//!
//! Two rules shape these types:
//! - **The browser never names a host or a port.** Commands say *which* of the lab's servers
//!   (by protocol) and which of the session's own sockets; the bridge owns the addresses. That is
//!   what keeps the bridge from being an open relay.
//! - **Payloads are bytes, not strings.** A TCP `recv()` can end in the middle of a UTF-8
//!   character, and a datagram can carry anything, so payloads travel as base64 ([`Bytes`]).
//!
//! This crate has no tokio and no web-sys in it, so both sides compile it and it is tested
//! natively. `docs/protocol.md` documents every message with an example.

mod bytes;
mod client;
mod event;
mod event_json;
mod json;
mod lab;
pub mod recording;

pub use bytes::Bytes;
pub use client::{ClientMsg, Command, ParseError};
pub use event::{
    CaptureState, CloseBy, ErrorCode, Event, EventBody, ImpairState, Limits, LinkStats, OsError,
    ServerSide, TcpInfo,
};
pub use json::{DecodeError, SyntaxError, sent_data};
pub use lab::{
    Family, FileProgress, FileResult, FileSource, Framing, Impair, KernelSocket, LabSpec, ServerId,
    Target, Transport,
};

/// The protocol version. Bumped on any change that an older peer would misread.
pub const VERSION: u32 = 1;

/// Which of the session's sockets a command or event is about. The console picks the ids
/// (small numbers it counts up), so it can match events to what it asked for.
pub type SocketId = u32;
