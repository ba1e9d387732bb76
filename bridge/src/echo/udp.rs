//! The UDP echo server, as in the tutorial:
//!
//! ```python
//! server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
//! server.bind(('127.0.0.1', 8081))
//! while True:
//!     data, client_addr = server.recvfrom(1024)
//!     server.sendto(data.upper(), client_addr)
//! ```
//!
//! No `listen`, no `accept`, no connection: every datagram stands alone and carries its
//! sender's address. An empty datagram is a real datagram: it is received (0 bytes, with an
//! address) and echoed as an empty datagram.

use super::upper::upper;
use crate::observe::{Observers, Transport};
use protocol::{LabSpec, ServerSide};
use socket2::SockRef;
use std::io;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Receives and echoes datagrams forever.
pub(crate) async fn serve(socket: UdpSocket, observers: Observers, spec: LabSpec) {
    let delay = Duration::from_millis(spec.read_delay_ms.into());
    let mut buf = vec![0u8; spec.recv_buffer];
    loop {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let (n, size, peer) = match recv_from_truncating(&socket, &mut buf).await {
            Ok(got) => got,
            Err(e) => {
                tracing::warn!("UDP echo recvfrom() failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let report = |op| observers.report(Transport::Udp, peer, op);
        report(ServerSide::RecvFrom {
            peer,
            data: buf[..n].into(),
            size,
        });
        match socket.send_to(&upper(&buf[..n]), peer).await {
            Ok(len) => report(ServerSide::SendTo { peer, len }),
            Err(e) => tracing::warn!("UDP echo sendto({peer}) failed: {e}"),
        }
    }
}

/// `recvfrom(buf, MSG_TRUNC)`: like the tutorial's `recvfrom(1024)`, a datagram longer than the
/// buffer is cut and the rest discarded by the kernel; with `MSG_TRUNC` the kernel also tells us
/// the datagram's real size, so the learner can see what was lost. Returns (bytes in `buf`,
/// real size, sender).
async fn recv_from_truncating(
    socket: &UdpSocket,
    buf: &mut [u8],
) -> io::Result<(usize, usize, SocketAddr)> {
    let (size, from) = socket
        .async_io(Interest::READABLE, || {
            // SAFETY: u8 and MaybeUninit<u8> have the same layout, and recv only writes bytes.
            let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
            SockRef::from(socket).recv_from_with_flags(uninit, libc::MSG_TRUNC)
        })
        .await?;
    let from = from
        .as_socket()
        .ok_or_else(|| io::Error::other("recvfrom() returned a non-IP address"))?;
    Ok((size.min(buf.len()), size, from))
}
