//! The lab's echo servers: real kernel sockets with the tutorial's semantics.
//!
//! They serve anyone on their address (the tutorial's Python clients, `nc`, the bridge's relay)
//! and report each call they make to the [`Observers`](crate::observe::Observers), which forwards
//! it to the browser session that owns the client socket, if any.

pub(crate) mod tcp;
pub(crate) mod udp;
pub(crate) mod upper;

/// The tutorial's receive buffer: `conn.recv(1024)` and `server.recvfrom(1024)`.
pub(crate) const RECV_BUFFER: usize = 1024;
