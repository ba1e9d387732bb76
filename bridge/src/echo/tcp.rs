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
//! The lab's shared echo server differs on one point, on purpose: each accepted client gets its
//! own task, so many learners can use the lab at once. The tutorial's one-client-at-a-time
//! server is the same code with `one_at_a_time` (see the experiments). A client that closes or
//! fails ends only its own task.
//!
//! The same server, with other [`LabSpec`] settings (a read delay, another buffer, framing),
//! runs the experiments' private servers.

use super::framing::Decoder;
use super::upper::upper;
use crate::backoff::Backoff;
use crate::clock;
use crate::observe::{Observers, Transport};
use crate::os_error::os_error;
use protocol::{LabSpec, ServerSide};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The shared TCP echo server's `listen()` backlog. The tutorial's is 5, and the "One at a time"
/// lab server keeps it to show what it means; the server a class shares needs room for a class
/// connecting in the same second (measured: 100 learners starting a transfer at once overflowed
/// listen(5), and this kernel answered some of them with resets).
pub(crate) const SHARED_BACKLOG: u32 = 128;

/// How a TCP echo server treats its clients (from the command line).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// A client that sends nothing for this long is closed (`--client-idle-timeout`).
    pub(crate) idle: Duration,
    /// Clients that belong to no browser session (the tutorial's Python client, `nc`, any local
    /// program) served at once (`--max-other-clients`). A session's own connections are bounded
    /// by the session's limits, so they never wait behind these; past this many others, a new
    /// one is closed at once instead of queueing in the kernel.
    pub(crate) max_others: usize,
}

/// Binds the listening socket as `spec` says: the tutorial's is `SO_REUSEADDR` (so a restart
/// does not fail on connections still in TIME_WAIT) and `listen(5)` (the shared server listens
/// with [`SHARED_BACKLOG`] instead).
pub(crate) fn bind(addr: SocketAddr, spec: &LabSpec) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(spec.reuseaddr)?;
    if addr.port() == 0 {
        crate::ports::bind_ephemeral(&socket, addr.ip())?;
    } else {
        socket.bind(addr)?;
    }
    socket.listen(spec.backlog)
}

/// A way to tell a running server "close every connection you have, now" (the server's active
/// close). Each `send` of a new number is one such order.
pub(crate) type CloseOrder = watch::Receiver<u64>;

/// Accepts clients forever. With `spec.one_at_a_time` it serves each client to the end before
/// accepting the next (the tutorial's server); otherwise each client gets its own task. The
/// tasks belong to this loop: stopping the server closes every connection it has, from the
/// server's side first, as when a server process exits.
pub(crate) async fn serve(
    listener: Arc<TcpListener>,
    observers: Observers,
    spec: LabSpec,
    policy: Policy,
    close: CloseOrder,
) {
    let mut clients = JoinSet::new();
    let mut others = JoinSet::new();
    let mut backoff = Backoff::default();
    loop {
        // Reap finished clients.
        while clients.try_join_next().is_some() {}
        while others.try_join_next().is_some() {}
        // accept() is entered now and blocks until a client's handshake completed.
        let accept_called = clock::now();
        match listener.accept().await {
            Ok((stream, peer)) => {
                backoff.reset();
                let other = !observers.is_session_client(Transport::Tcp, peer);
                if other && others.len() >= policy.max_others {
                    tracing::warn!(
                        "TCP echo: {peer} closed at once: {} other clients are connected \
                         already (--max-other-clients)",
                        policy.max_others
                    );
                    continue;
                }
                let bulk = observers.is_quiet(Transport::Tcp, peer);
                let client = serve_client(
                    stream,
                    (peer, accept_called),
                    observers.clone(),
                    spec,
                    policy.idle,
                    close.clone(),
                );
                if spec.one_at_a_time {
                    client.await;
                } else if other {
                    others.spawn(client);
                } else if bulk {
                    // A session's file transfer: bulk work, served where it cannot slow
                    // anyone's echo (see `bulk.rs`).
                    clients.spawn_on(client, &crate::bulk::handle());
                } else {
                    clients.spawn(client);
                }
            }
            Err(e) => {
                // E.g. EMFILE (out of file descriptors): keep serving, but do not spin.
                tracing::warn!("TCP echo accept() failed: {e}");
                backoff.wait().await;
            }
        }
    }
}

/// The inner loop: `recv(1024)`, reply uppercased, until the client closes (or the server is
/// ordered to close first).
async fn serve_client(
    mut conn: TcpStream,
    (peer, accept_called): (SocketAddr, clock::Mono),
    observers: Observers,
    spec: LabSpec,
    idle_after: Duration,
    mut close: CloseOrder,
) {
    // Each report follows its call at once, with the time the call was entered.
    let report = |called, op| observers.report(Transport::Tcp, peer, called, op);
    report(accept_called, ServerSide::Accept { peer });
    close.mark_unchanged();
    let delay = Duration::from_millis(spec.read_delay_ms.into());
    let mut buf = vec![0u8; spec.recv_buffer];
    let mut decoder = Decoder::new(spec.framing);
    let mut idle = false;
    // The server closes first (ordered to, or idle), not after the client's FIN.
    let mut active = false;
    // recv() returned 0, then the server waited this long before close() (close_delay_ms).
    let mut waited_ms = None;
    let error = loop {
        // A slow server: the client's data piles up in the kernel meanwhile.
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let recv_called = clock::now();
        let read = tokio::select! {
            read = tokio::time::timeout(idle_after, conn.read(&mut buf)) => match read {
                Ok(read) => read,
                Err(_idle) => {
                    idle = true;
                    active = true;
                    break None;
                }
            },
            _ = close.changed() => {
                active = true;
                break None;
            }
        };
        match read {
            // recv() returning 0 bytes means the peer sent its FIN: it will send no more.
            Ok(0) => {
                if spec.close_delay_ms > 0 {
                    let delay = Duration::from_millis(spec.close_delay_ms.into());
                    tokio::time::sleep(delay).await;
                    waited_ms = Some(spec.close_delay_ms);
                }
                break None;
            }
            Ok(n) => {
                report(
                    recv_called,
                    ServerSide::Recv {
                        data: buf[..n].into(),
                    },
                );
                match decoder.feed(&buf[..n]) {
                    Ok(messages) => {
                        let now = clock::now();
                        for data in messages {
                            report(now, ServerSide::Message { data: data.into() });
                        }
                    }
                    Err(e) => tracing::debug!("framing lost on {peer}: {e:?}"),
                }
                let send_called = clock::now();
                if let Err(e) = conn.write_all(&upper(&buf[..n])).await {
                    break Some(os_error(&e));
                }
                report(send_called, ServerSide::Send { len: n });
            }
            // E.g. ECONNRESET when the client vanished without a FIN.
            Err(e) => break Some(os_error(&e)),
        }
    };
    let idle_s = idle.then_some(idle_after.as_secs() as u32);
    // close(): the server's FIN goes out now (dropping `conn` is the call).
    let close_called = clock::now();
    drop(conn);
    report(
        close_called,
        ServerSide::Close {
            error,
            idle_s,
            active,
            waited_ms,
        },
    );
    tracing::debug!("TCP echo: closed {peer}");
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
        let spec = LabSpec::tutorial(protocol::Transport::Tcp);
        let listener = bind("127.0.0.1:0".parse().unwrap(), &spec).unwrap();
        let fd = listener.as_raw_fd();
        assert_eq!(int_option(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR), 1);
        assert_eq!(int_option(fd, libc::SOL_SOCKET, libc::SO_ACCEPTCONN), 1);
        assert_eq!(
            int_option(fd, libc::SOL_SOCKET, libc::SO_TYPE),
            libc::SOCK_STREAM
        );
    }
}
