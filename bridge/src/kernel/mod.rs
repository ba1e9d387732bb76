//! What the kernel says about sockets, read without privileges.
//!
//! The experiments show state that no socket call returns: how full a `listen()` queue is, and
//! which connections sit in TIME_WAIT with how long to go. Linux lists every TCP socket in
//! `/proc/net/tcp` (and `tcp6`), readable by anyone; that is where `ss` and `netstat` look too.

pub(crate) mod proc_net;
pub(crate) mod tcp_info;
