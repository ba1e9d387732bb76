//! One UDP client socket of a session: `sendto()` the lab's UDP echo server, `recvfrom()` replies.
//!
//! There is no connect and no close on the wire: the socket is bound to a port, each datagram is
//! sent on its own with the server's address, and each reply arrives on its own with the
//! sender's address. Closing only frees the port.

use super::{SockCmd, refuse_waiting};
use crate::Shared;
use crate::clock;
use crate::observe::Transport;
use crate::os_error::failed;
use crate::outbox::{Outbox, SessionGone};
use protocol::{EventBody, SocketId};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// How long a sent datagram may go unanswered before the socket reports "no reply". UDP itself
/// never says a datagram was lost; only silence does.
const NO_REPLY_AFTER: Duration = Duration::from_secs(2);

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Big enough for the largest possible UDP payload, so the client never truncates a reply.
const CLIENT_RECV_BUFFER: usize = 65_536;

pub(crate) async fn run(
    id: SocketId,
    server: SocketAddr,
    connected: bool,
    shared: &Shared,
    outbox: &std::sync::Arc<Outbox>,
    mut cmds: mpsc::Receiver<SockCmd>,
) -> Result<(), SessionGone> {
    let socket = match UdpSocket::bind(SocketAddr::new(server.ip(), 0)).await {
        Ok(socket) => socket,
        Err(e) => {
            outbox
                .push(failed(id, "could not open a UDP socket", &e))
                .await?;
            let why = format!("UDP socket {id} did not open");
            return refuse_waiting(&mut cmds, id, outbox, &why).await;
        }
    };
    let local = match socket.local_addr() {
        Ok(local) => local,
        Err(e) => {
            outbox.push(failed(id, "getsockname() failed", &e)).await?;
            let why = format!("UDP socket {id} did not open");
            return refuse_waiting(&mut cmds, id, outbox, &why).await;
        }
    };
    let route = shared
        .observers
        .watch(Transport::Udp, local, Some(server), outbox.clone(), id);
    // A connected UDP socket only talks to `server`, and the kernel reports ICMP errors for it
    // (e.g. "port unreachable" becomes ECONNREFUSED on the next call). An unconnected one hears
    // nothing of the kind.
    if connected && let Err(e) = socket.connect(server).await {
        outbox
            .push(failed(id, format!("connect() to {server} failed"), &e))
            .await?;
        let why = format!("UDP socket {id} did not open (its connect() failed)");
        return refuse_waiting(&mut cmds, id, outbox, &why).await;
    }
    let call = if connected { "send()" } else { "sendto()" };

    let mut buf = vec![0u8; CLIENT_RECV_BUFFER];
    // When the last datagram left, while no reply has come since.
    let mut waiting: Option<Instant> = None;
    // Datagrams sent and not answered yet (an echo server answers each once; a duplicating
    // link may answer twice, hence saturating). Silence counts only while some are unanswered.
    let mut unanswered: u32 = 0;
    // The pending recvfrom(): when it was entered (after the last send or receive: the
    // tutorial's client sends, then waits), and the room for its report.
    let mut recv_called = clock::now();
    let mut recv_slot = None;
    loop {
        let deadline = waiting.map(|since| since + NO_REPLY_AFTER);
        if recv_slot.is_none() {
            recv_slot = Some(outbox.slot().await?);
        }
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                Some(SockCmd::Send(data)) => {
                    let slot = outbox.slot().await?;
                    let called = clock::now();
                    let sent = if connected {
                        socket.send(&data).await
                    } else {
                        socket.send_to(&data, server).await
                    };
                    match sent {
                        Ok(len) => {
                            route.sent_datagram();
                            unanswered = unanswered.saturating_add(1);
                            waiting.get_or_insert_with(Instant::now);
                            let body = EventBody::UdpSent {
                                id,
                                local,
                                peer: server,
                                len,
                                connected,
                            };
                            slot.send(Some(called), body);
                        }
                        // E.g. EMSGSIZE for a datagram over 65,507 bytes.
                        Err(e) => {
                            let body = failed(id, format!("{call} to {server} failed"), &e);
                            slot.send(Some(called), body);
                        }
                    }
                    recv_called = clock::now();
                }
                Some(SockCmd::Burst(_)) => {}
                Some(SockCmd::Close) => {
                    outbox.push(EventBody::UdpClosed { id }).await?;
                    let why = format!("UDP socket {id} is closed");
                    return refuse_waiting(&mut cmds, id, outbox, &why).await;
                }
                None => return Ok(()),
            },
            got = socket.recv_from(&mut buf) => {
                // Every datagram answered: no silence to report; otherwise the wait starts
                // again from this answer (a lossy link loses some and not others).
                unanswered = unanswered.saturating_sub(1);
                waiting = (unanswered > 0).then(Instant::now);
                let slot = recv_slot.take().expect("taken above");
                match got {
                    Ok((n, from)) => {
                        let data = buf[..n].into();
                        slot.send(Some(recv_called), EventBody::UdpReceived { id, from, data });
                    }
                    // A connected socket: the ICMP "port unreachable" for an earlier datagram.
                    Err(e) => slot.send(Some(recv_called), failed(id, "recv() failed", &e)),
                }
                recv_called = clock::now();
            }
            () = sleep_until(deadline) => {
                waiting = None;
                unanswered = 0;
                let waited_ms = NO_REPLY_AFTER.as_millis() as u64;
                outbox.push(EventBody::UdpNoReply { id, waited_ms }).await?;
            }
        }
    }
}
