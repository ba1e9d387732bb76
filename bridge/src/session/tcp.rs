//! One TCP client socket of a session: connect to the lab's TCP echo server, send, read, close.
//!
//! Every step is a real socket call and is reported when it returns, with the time it was
//! entered: `connect()` (the three-way handshake), each `send()`, each `recv()` chunk,
//! `shutdown()` (our FIN), and the end of the stream (`recv()` returning 0: the server's FIN).
//! Room for the report is taken before the call (an outbox [`Slot`](crate::outbox::Slot)), so
//! the report is stamped the moment the call returns.
//!
//! Reading and writing run side by side, because TCP is full duplex: a big send must not stop
//! the echoes from being read (if nobody read them, the server would block writing them, stop
//! reading, and both ends would wait forever).

use super::watch::KernelWatch;
use super::{SockCmd, refuse_waiting};
use crate::Shared;
use crate::clock;
use crate::kernel::{state_name, tcp_info};
use crate::observe::Transport;
use crate::os_error::{failed, refused};
use crate::outbox::{Outbox, SessionGone};
use protocol::{CloseBy, ErrorCode, EventBody, ServerId, SocketId};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::sync::mpsc;

/// How often TCP_INFO is read while the connection is open (one `getsockopt()` on our own
/// socket): often enough to see the congestion window move during an exchange.
const STATE_EVERY: Duration = Duration::from_millis(200);

/// The client's receive buffer. Larger than the server's 1024 on purpose: the console shows how
/// the *stream* arrives, and one read can hold several echoes.
const CLIENT_RECV_BUFFER: usize = 16 * 1024;

/// Where a connection goes: the address, and which of the session's lab servers it is, if one.
#[derive(Clone, Copy)]
pub(crate) struct To {
    pub(crate) addr: SocketAddr,
    pub(crate) lab: Option<ServerId>,
}

pub(crate) async fn run(
    id: SocketId,
    to: To,
    shared: &Shared,
    kernel: &KernelWatch,
    outbox: &std::sync::Arc<Outbox>,
    mut cmds: mpsc::Receiver<SockCmd>,
) -> Result<(), SessionGone> {
    let server = to.addr;
    // Bind first, so the observer registry knows our address before the server can accept us.
    let (socket, local) = match bound_socket(server) {
        Ok(pair) => pair,
        Err(e) => {
            outbox
                .push(failed(id, "could not open a TCP socket", &e))
                .await?;
            let why = format!("TCP connection {id} did not open");
            return refuse_waiting(&mut cmds, id, outbox, &why).await;
        }
    };
    let route = shared
        .observers
        .watch(Transport::Tcp, local, None, outbox.clone(), id);
    // The server's end of a connection to a lab server is watched from here (its accept queue,
    // its TIME_WAIT when the server closes first).
    let _lab_client = to.lab.map(|lab| kernel.lab_client(lab, server, local));

    let slot = outbox.slot().await?;
    let called = clock::now();
    let stream = match socket.connect(server).await {
        Ok(stream) => stream,
        Err(e) => {
            slot.send(
                Some(called),
                failed(id, format!("connect() to {server} failed"), &e),
            );
            // Sends and a close may already wait behind the connect: each is answered.
            let why = format!("TCP connection {id} did not open (its connect() failed)");
            return refuse_waiting(&mut cmds, id, outbox, &why).await;
        }
    };
    let connect_us = (clock::now() - called) / 1000;
    slot.send(
        Some(called),
        EventBody::TcpConnected {
            id,
            local,
            peer: server,
            connect_us,
        },
    );

    let (mut rd, mut wr) = stream.into_split();
    let fd = rd.as_ref().as_raw_fd();
    let we_closed = AtomicBool::new(false);

    // Every command is carried out as a real call until the connection ends, even after a
    // send() failed or our FIN went out: the kernel's answer (e.g. EPIPE for a send() after
    // shutdown(SHUT_WR)) is what the learner sees, never silence.
    let writer = async {
        let mut shut = false;
        while let Some(cmd) = cmds.recv().await {
            match cmd {
                SockCmd::Send(data) => {
                    let slot = outbox.slot().await?;
                    let called = clock::now();
                    match send(&mut wr, &data).await {
                        Ok(()) => {
                            let len = data.len();
                            slot.send(Some(called), EventBody::TcpSent { id, len });
                        }
                        Err(e) => slot.send(Some(called), failed(id, "send() failed", &e)),
                    }
                }
                // Back to back: room for every report first, then the send()s, each reported
                // as it returns (queueing a report is a lock, not a wait): no pause between.
                SockCmd::Burst(messages) => {
                    let mut slots = outbox.slots(messages.len()).await?;
                    // The burst stops at its first failed send(); its other messages are not
                    // sent (the error says which send() failed).
                    for (data, slot) in messages.iter().zip(slots.drain(..)) {
                        let called = clock::now();
                        match send(&mut wr, data).await {
                            Ok(()) => {
                                let len = data.len();
                                slot.send(Some(called), EventBody::TcpSent { id, len });
                            }
                            Err(e) => {
                                slot.send(Some(called), failed(id, "send() failed", &e));
                                break;
                            }
                        }
                    }
                }
                // Our FIN is already out: a second shutdown() would send nothing.
                SockCmd::Close if shut => {
                    let message = format!(
                        "tcp_close was already sent for TCP connection {id}: our FIN is out, \
                         and the connection ends when the server closes its side"
                    );
                    outbox
                        .push(refused(id, ErrorCode::BadCommand, message))
                        .await?;
                }
                SockCmd::Close => {
                    shut = true;
                    we_closed.store(true, Ordering::SeqCst);
                    // shutdown(SHUT_WR): our FIN goes out; we can still read the server's reply.
                    let slot = outbox.slot().await?;
                    let called = clock::now();
                    if let Err(e) = wr.shutdown().await {
                        outbox.push(failed(id, "shutdown() failed", &e)).await?;
                    }
                    slot.send(Some(called), EventBody::TcpClosing { id });
                }
            }
        }
        // The session let go of the queue: the reader decides when the connection is over.
        std::future::pending::<Result<(), SessionGone>>().await
    };

    let reader = async {
        let mut buf = vec![0u8; CLIENT_RECV_BUFFER];
        loop {
            // recv() is entered now and blocks until the server's bytes (or FIN) arrive; its
            // report's room is held meanwhile.
            let slot = outbox.slot().await?;
            let called = clock::now();
            match rd.read(&mut buf).await {
                Ok(0) => {
                    let by = if we_closed.load(Ordering::SeqCst) {
                        CloseBy::Client
                    } else {
                        CloseBy::Server
                    };
                    slot.send(Some(called), EventBody::TcpClosed { id, by });
                    return Ok(());
                }
                Ok(n) => slot.send(
                    Some(called),
                    EventBody::TcpReceived {
                        id,
                        data: buf[..n].into(),
                    },
                ),
                Err(e) => {
                    slot.send(Some(called), failed(id, "recv() failed", &e));
                    let by = CloseBy::Server;
                    return outbox.push(EventBody::TcpClosed { id, by }).await;
                }
            }
        }
    };

    // The kernel's view while the socket is open: TCP_INFO, reported when it changes.
    let kernel_state = async {
        let mut tick = tokio::time::interval(STATE_EVERY);
        let mut last = None;
        loop {
            tick.tick().await;
            if let Some((state, info)) = tcp_info::read(fd) {
                let key = (state, info.segs_out, info.segs_in, info.total_retrans);
                if last != Some(key) {
                    last = Some(key);
                    let state = state_name(state).to_string();
                    let event = EventBody::TcpState {
                        id,
                        state,
                        info: Some(info),
                        timer_ms: None,
                    };
                    outbox.push(event).await?;
                }
            }
        }
    };

    let ended = tokio::select! {
        r = reader => r,
        r = writer => r,
        r = kernel_state => r,
    };
    ended?;
    // The socket is closed: no more commands for it (its place in the session is free); those
    // already queued are answered. What is left of the connection in the kernel (TIME_WAIT when
    // we closed first) is watched by the session, which also keeps the route for the
    // teardown's last packets.
    let why = format!("TCP connection {id} has ended");
    refuse_waiting(&mut cmds, id, outbox, &why).await?;
    drop((rd, wr, cmds));
    kernel.closed(id, local, server, route);
    Ok(())
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
    crate::ports::bound_tcp(server.ip())
}
