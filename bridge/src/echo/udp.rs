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

use super::{RECV_BUFFER, upper::upper};
use crate::observe::{Observers, Transport};
use protocol::ServerSide;
use std::time::Duration;
use tokio::net::UdpSocket;

/// Receives and echoes datagrams forever.
pub(crate) async fn serve(socket: UdpSocket, observers: Observers) {
    let mut buf = [0u8; RECV_BUFFER];
    loop {
        let (n, peer) = match socket.recv_from(&mut buf).await {
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
        });
        match socket.send_to(&upper(&buf[..n]), peer).await {
            Ok(len) => report(ServerSide::SendTo { peer, len }),
            Err(e) => tracing::warn!("UDP echo sendto({peer}) failed: {e}"),
        }
    }
}
