//! One TCP client socket of a session: connect to the lab's TCP echo server, send, read, close.
//!
//! Every step is a real socket call and is reported when it returns:
//! `connect()` (the three-way handshake), each `send()`, each `recv()` chunk, `shutdown()` (our
//! FIN), and the end of the stream (`recv()` returning 0: the server's FIN).
//!
//! Reading and writing run side by side, because TCP is full duplex: a big send must not stop
//! the echoes from being read (if nobody read them, the server would block writing them, stop
//! reading, and both ends would wait forever).

use super::SockCmd;
use crate::Shared;
use crate::observe::Transport;
use crate::os_error::os_error;
use crate::outbox::{Outbox, SessionGone};
use protocol::{CloseBy, ErrorCode, EventBody, SocketId};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::sync::mpsc;

/// The client's receive buffer. Larger than the server's 1024 on purpose: the console shows how
/// the *stream* arrives, and one read can hold several echoes.
const CLIENT_RECV_BUFFER: usize = 16 * 1024;

pub(crate) async fn run(
    id: SocketId,
    server: SocketAddr,
    shared: &Shared,
    outbox: &std::sync::Arc<Outbox>,
    mut cmds: mpsc::Receiver<SockCmd>,
) -> Result<(), SessionGone> {
    let os_fail = |what: String, e: std::io::Error| EventBody::Error {
        id: Some(id),
        server: None,
        code: ErrorCode::Os,
        message: format!("{what}: {e}"),
        os: Some(os_error(&e)),
    };

    // Bind first, so the observer registry knows our address before the server can accept us.
    let (socket, local) = match bound_socket(server) {
        Ok(pair) => pair,
        Err(e) => {
            return outbox
                .push(os_fail("could not open a TCP socket".into(), e))
                .await;
        }
    };
    let _watch = shared
        .observers
        .watch(Transport::Tcp, local, outbox.clone(), id);

    let started = Instant::now();
    let stream = match socket.connect(server).await {
        Ok(stream) => stream,
        Err(e) => {
            return outbox
                .push(os_fail(format!("connect() to {server} failed"), e))
                .await;
        }
    };
    outbox
        .push(EventBody::TcpConnected {
            id,
            local,
            peer: server,
            connect_us: started.elapsed().as_micros() as u64,
        })
        .await?;

    let (mut rd, mut wr) = stream.into_split();
    let we_closed = AtomicBool::new(false);

    let writer = async {
        while let Some(cmd) = cmds.recv().await {
            match cmd {
                SockCmd::Send(data) => {
                    if let Err(e) = send(&mut wr, &data).await {
                        outbox.push(os_fail("send() failed".into(), e)).await?;
                        break;
                    }
                    let len = data.len();
                    outbox.push(EventBody::TcpSent { id, len }).await?;
                }
                // Back to back: every send() first, then the reports, so no pause separates them.
                SockCmd::Burst(messages) => {
                    let mut sent = vec![];
                    let mut failed = None;
                    for data in &messages {
                        match send(&mut wr, data).await {
                            Ok(()) => sent.push(data.len()),
                            Err(e) => {
                                failed = Some(e);
                                break;
                            }
                        }
                    }
                    for len in sent {
                        outbox.push(EventBody::TcpSent { id, len }).await?;
                    }
                    if let Some(e) = failed {
                        outbox.push(os_fail("send() failed".into(), e)).await?;
                        break;
                    }
                }
                SockCmd::Close => {
                    we_closed.store(true, Ordering::SeqCst);
                    // shutdown(SHUT_WR): our FIN goes out; we can still read the server's reply.
                    if let Err(e) = wr.shutdown().await {
                        outbox.push(os_fail("shutdown() failed".into(), e)).await?;
                    }
                    outbox.push(EventBody::TcpClosing { id }).await?;
                    break;
                }
            }
        }
        // Nothing more to write; the reader decides when the connection is over.
        std::future::pending::<Result<(), SessionGone>>().await
    };

    let reader = async {
        let mut buf = vec![0u8; CLIENT_RECV_BUFFER];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) => {
                    let by = if we_closed.load(Ordering::SeqCst) {
                        CloseBy::Client
                    } else {
                        CloseBy::Server
                    };
                    return outbox.push(EventBody::TcpClosed { id, by }).await;
                }
                Ok(n) => {
                    outbox
                        .push(EventBody::TcpReceived {
                            id,
                            data: buf[..n].into(),
                        })
                        .await?
                }
                Err(e) => {
                    outbox.push(os_fail("recv() failed".into(), e)).await?;
                    let by = CloseBy::Server;
                    return outbox.push(EventBody::TcpClosed { id, by }).await;
                }
            }
        }
    };

    tokio::select! {
        r = reader => r,
        r = writer => r,
    }
}

/// `send()` all of `data`. An empty message is a real `send()` of 0 bytes (it returns 0 and
/// puts nothing on the wire), not skipped: the empty-message experiment shows exactly that.
async fn send(wr: &mut tokio::net::tcp::OwnedWriteHalf, data: &[u8]) -> std::io::Result<()> {
    if data.is_empty() {
        wr.write(data).await.map(drop)
    } else {
        wr.write_all(data).await
    }
}

/// A TCP socket bound to an ephemeral port on the server's own address (so it reaches the server
/// the same way whatever interface it listens on).
fn bound_socket(server: SocketAddr) -> std::io::Result<(TcpSocket, SocketAddr)> {
    let socket = if server.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.bind(SocketAddr::new(server.ip(), 0))?;
    let local = socket.local_addr()?;
    Ok((socket, local))
}
