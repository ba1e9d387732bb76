//! The echo servers: real kernel sockets with the tutorial's semantics, and the same code with
//! other settings ([`protocol::LabSpec`]) for the experiments' private servers.
//!
//! They serve anyone on their address (the tutorial's Python clients, `nc`, the bridge's relay)
//! and report each call they make to the [`Observers`](crate::observe::Observers), which forwards
//! it to the browser session that owns the client socket, if any.

pub(crate) mod framing;
pub(crate) mod tcp;
pub(crate) mod udp;
pub(crate) mod upper;
