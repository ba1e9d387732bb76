//! One UDP client socket of a session: `sendto()` the lab's UDP echo server, `recvfrom()` replies.
//!
//! There is no connect and no close on the wire: the socket is bound to a port, each datagram is
//! sent on its own with the server's address, and each reply arrives on its own with the
//! sender's address. Closing only frees the port.

use super::SockCmd;
use crate::Shared;
use crate::observe::Transport;
use crate::os_error::os_error;
use crate::outbox::{Outbox, SessionGone};
use protocol::{ErrorCode, EventBody, SocketId};
use std::net::SocketAddr;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Big enough for the largest possible UDP payload, so the client never truncates a reply.
const CLIENT_RECV_BUFFER: usize = 65_536;

pub(crate) async fn run(
    id: SocketId,
    shared: &Shared,
    outbox: &std::sync::Arc<Outbox>,
    mut cmds: mpsc::Receiver<SockCmd>,
) -> Result<(), SessionGone> {
    let server = shared.udp_target;
    let os_fail = |what: String, e: std::io::Error| EventBody::Error {
        id: Some(id),
        code: ErrorCode::Os,
        message: format!("{what}: {e}"),
        os: Some(os_error(&e)),
    };

    let socket = match UdpSocket::bind(SocketAddr::new(server.ip(), 0)).await {
        Ok(socket) => socket,
        Err(e) => {
            return outbox
                .push(os_fail("could not open a UDP socket".into(), e))
                .await;
        }
    };
    let local = match socket.local_addr() {
        Ok(local) => local,
        Err(e) => return outbox.push(os_fail("getsockname() failed".into(), e)).await,
    };
    let _watch = shared
        .observers
        .watch(Transport::Udp, local, outbox.clone(), id);

    let mut buf = vec![0u8; CLIENT_RECV_BUFFER];
    loop {
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                Some(SockCmd::Send(data)) => match socket.send_to(&data, server).await {
                    Ok(len) => {
                        outbox.push(EventBody::UdpSent { id, local, peer: server, len }).await?
                    }
                    // E.g. EMSGSIZE for a datagram over 65,507 bytes.
                    Err(e) => outbox.push(os_fail(format!("sendto() {server} failed"), e)).await?,
                },
                Some(SockCmd::Close) => return outbox.push(EventBody::UdpClosed { id }).await,
                None => return Ok(()),
            },
            got = socket.recv_from(&mut buf) => match got {
                Ok((n, from)) => {
                    let data = buf[..n].into();
                    outbox.push(EventBody::UdpReceived { id, from, data }).await?
                }
                Err(e) => outbox.push(os_fail("recvfrom() failed".into(), e)).await?,
            },
        }
    }
}
