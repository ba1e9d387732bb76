//! What the kernel says about sockets, asked without scanning its tables.
//!
//! The experiments show state that no socket call returns: how full a `listen()` queue is, the
//! congestion window of a connection, which connections sit in TIME_WAIT with how long to go.
//! Each is read with a query the kernel answers for one socket, never by listing them all (a
//! read of `/proc/net/tcp` walks the whole connection hash table: ≈ 8 ms of kernel time, however
//! few sockets there are, which a class of learners polling it turned into a storm):
//! - [`tcp_info`]: `getsockopt(TCP_INFO)` on a socket the bridge holds — an open connection's
//!   figures, or on a listening socket its accept queue and backlog;
//! - [`sock_diag`]: a netlink lookup of one four-tuple — a connection that has no file
//!   descriptor any more (TIME_WAIT), or the server's end of a session's connection.

pub(crate) mod netstat;
pub(crate) mod sock_diag;
pub(crate) mod tcp_info;

/// The TCP state's name as the kernel calls it (`include/net/tcp_states.h`).
pub(crate) fn state_name(state: u8) -> &'static str {
    match state {
        0x01 => "ESTABLISHED",
        0x02 => "SYN_SENT",
        0x03 => "SYN_RECV",
        0x04 => "FIN_WAIT1",
        0x05 => "FIN_WAIT2",
        0x06 => "TIME_WAIT",
        0x07 => "CLOSE",
        0x08 => "CLOSE_WAIT",
        0x09 => "LAST_ACK",
        0x0A => "LISTEN",
        0x0B => "CLOSING",
        0x0C => "NEW_SYN_RECV",
        _ => "UNKNOWN",
    }
}
