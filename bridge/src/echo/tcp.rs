//! The TCP echo server, as in the tutorial:
//!
//! ```python
//! phone.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
//! phone.bind(('127.0.0.1', 8080)); phone.listen(5)
//! while True:
//!     conn, client_addr = phone.accept()
//!     while True:
//!         data = conn.recv(1024)
//!         if len(data) == 0: break          # the client closed (its FIN)
//!         conn.send(data.upper())
//!     conn.close()
//! ```
//!
//! One difference on purpose: each accepted client gets its own task, so many learners can use
//! the lab at once (the tutorial's server serves one client at a time; the experiments will show
//! that one next to this one). A client that closes or fails ends only its own task.

use super::{RECV_BUFFER, upper::upper};
use crate::observe::{Observers, Transport};
use crate::os_error::os_error;
use protocol::ServerSide;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinSet;

/// `listen(5)`: the tutorial's backlog ("半连接池", the queue of connections the kernel has
/// completed but the program has not yet accepted).
pub(crate) const BACKLOG: u32 = 5;

/// Most clients served at once. Past this the server stops accepting, and new connections wait
/// in the kernel's queue — a bound on memory, and the same thing a real server does.
pub(crate) const MAX_CLIENTS: usize = 1024;

/// Binds the listening socket with `SO_REUSEADDR` (so a restart does not fail on connections
/// still in TIME_WAIT) and `listen(5)`.
pub(crate) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Accepts clients forever, one task each. The tasks belong to this loop: stopping the server
/// closes every connection it has (the server's side closes first, as when a process exits).
pub(crate) async fn serve(listener: TcpListener, observers: Observers) {
    let mut clients = JoinSet::new();
    loop {
        // Reap finished clients; at the limit, wait for one to finish before accepting more.
        while clients.try_join_next().is_some() {}
        if clients.len() >= MAX_CLIENTS {
            clients.join_next().await;
            continue;
        }
        match listener.accept().await {
            Ok((stream, peer)) => {
                let observers = observers.clone();
                clients.spawn(async move { serve_client(stream, peer, &observers).await });
            }
            Err(e) => {
                // E.g. EMFILE (out of file descriptors): keep serving, but do not spin.
                tracing::warn!("TCP echo accept() failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The inner loop: `recv(1024)`, reply uppercased, until the client closes.
async fn serve_client(mut conn: TcpStream, peer: SocketAddr, observers: &Observers) {
    let report = |op| observers.report(Transport::Tcp, peer, op);
    report(ServerSide::Accept { peer });
    tracing::debug!("TCP echo: accepted {peer}");
    let mut buf = [0u8; RECV_BUFFER];
    let error = loop {
        match conn.read(&mut buf).await {
            // recv() returning 0 bytes means the peer sent its FIN: it will send no more.
            Ok(0) => break None,
            Ok(n) => {
                report(ServerSide::Recv {
                    data: buf[..n].into(),
                });
                if let Err(e) = conn.write_all(&upper(&buf[..n])).await {
                    break Some(os_error(&e));
                }
                report(ServerSide::Send { len: n });
            }
            // E.g. ECONNRESET when the client vanished without a FIN.
            Err(e) => break Some(os_error(&e)),
        }
    };
    report(ServerSide::Close { error });
    tracing::debug!("TCP echo: closed {peer}");
    // Dropping `conn` is `conn.close()`: the server's FIN goes out now.
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn int_option(fd: i32, level: i32, name: i32) -> i32 {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: a valid fd, and a buffer of the size we pass.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                level,
                name,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0);
        value
    }

    #[tokio::test]
    async fn the_listener_is_the_tutorials_reuseaddr_stream_socket() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let fd = listener.as_raw_fd();
        assert_eq!(int_option(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR), 1);
        assert_eq!(int_option(fd, libc::SOL_SOCKET, libc::SO_ACCEPTCONN), 1);
        assert_eq!(
            int_option(fd, libc::SOL_SOCKET, libc::SO_TYPE),
            libc::SOCK_STREAM
        );
    }
}
