//! Live packets: every TCP and UDP packet of the lab on the loopback interface, captured with a
//! raw packet socket and delivered to the session whose socket it belongs to.
//!
//! Why a raw `AF_PACKET` socket and not libpcap: it needs no C library at build or run time (so
//! `cargo run -p bridge` stays the only step), the kernel-side filter is a dozen instructions
//! (`bpf.rs`), and `PACKET_IGNORE_OUTGOING` removes loopback's duplicates in the kernel.
//!
//! A packet is matched to a session by address: the session registered its client socket's
//! address with the observer registry before the socket sent anything, so the SYN already finds
//! its owner. Packets of other clients reach nobody, unless `--show-other-clients`.
//!
//! Without `CAP_NET_RAW` opening the socket fails at once with EPERM; the bridge says once how
//! to allow it and everything else works as before.

mod bpf;
mod ring;
mod socket;

use crate::observe::Observers;
use protocol::{CaptureState, Transport};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};
use tokio::io::unix::AsyncFd;

/// How often the kernel's drop counter is read.
const STATS_EVERY: Duration = Duration::from_secs(1);

/// Starts capturing, if allowed. Returns what sessions should be told, and the capture task.
pub(crate) fn start(
    http_port: u16,
    observers: Observers,
) -> (CaptureState, Option<tokio::task::JoinHandle<()>>) {
    let registered = socket::open(http_port).and_then(|(fd, ring)| {
        // SAFETY: an OwnedFd's descriptor stays open and the same while the AsyncFd owns it.
        let fd = unsafe { AsyncFd::register(fd) }.map_err(io::Error::from)?;
        Ok((fd, ring))
    });
    match registered {
        Ok((fd, ring)) => (
            CaptureState::On,
            Some(tokio::spawn(run(fd, ring, observers))),
        ),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => (
            CaptureState::NoPermission {
                hint: permission_hint(),
            },
            None,
        ),
        Err(e) => (
            CaptureState::Failed {
                message: format!("packet capture failed: {e}"),
            },
            None,
        ),
    }
}

/// The exact command that allows this binary to capture.
pub(crate) fn permission_hint() -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "target/debug/bridge".into());
    format!(
        "live packets need root or the CAP_NET_RAW capability: run the bridge as root, or \
         `sudo setcap cap_net_raw+ep {exe}` and start it again (a rebuild drops the capability)"
    )
}

async fn run(fd: AsyncFd<std::os::fd::OwnedFd>, mut ring: ring::Ring, observers: Observers) {
    let mut stats = tokio::time::interval(STATS_EVERY);
    loop {
        tokio::select! {
            ready = fd.readable() => {
                let Ok(mut guard) = ready else { return };
                // One block the kernel has handed over at a time, letting other tasks run in
                // between (a full block is thousands of packets); when none is ready, wait. (A
                // block retired between the read and clear_ready wakes us again: the kernel
                // signals readiness per block.)
                if ring.read_one(|frame, at| route(&observers, frame, || at)) {
                    drop(guard);
                    tokio::task::yield_now().await;
                } else {
                    guard.clear_ready();
                }
            }
            _ = stats.tick() => {
                let dropped = socket::drops(fd.get_ref());
                if dropped > 0 {
                    observers.kernel_dropped_packets(dropped);
                }
            }
        }
    }
}

fn route(observers: &Observers, frame: &[u8], at: impl FnOnce() -> SystemTime) {
    if let Some((transport, src, dst)) = endpoints(frame) {
        observers.packet(transport, src, dst, frame, at);
    }
}

/// The protocol and the two ends of a captured Ethernet frame, if it is TCP or UDP over IP.
pub(crate) fn endpoints(frame: &[u8]) -> Option<(Transport, SocketAddr, SocketAddr)> {
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};
    let packet = SlicedPacket::from_ethernet(frame).ok()?;
    let (src, dst): (IpAddr, IpAddr) = match packet.net? {
        NetSlice::Ipv4(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        NetSlice::Ipv6(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        NetSlice::Arp(_) => return None,
    };
    let (transport, sport, dport) = match packet.transport? {
        TransportSlice::Tcp(tcp) => (Transport::Tcp, tcp.source_port(), tcp.destination_port()),
        TransportSlice::Udp(udp) => (Transport::Udp, udp.source_port(), udp.destination_port()),
        _ => return None,
    };
    Some((
        transport,
        SocketAddr::new(src, sport),
        SocketAddr::new(dst, dport),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_ends_of_a_tcp_segment() {
        let builder = etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .tcp(50000, 8080, 1, 65535)
            .syn();
        let mut frame = vec![];
        builder.write(&mut frame, &[]).unwrap();
        let (t, src, dst) = endpoints(&frame).unwrap();
        assert_eq!(t, Transport::Tcp);
        assert_eq!(src, "127.0.0.1:50000".parse().unwrap());
        assert_eq!(dst, "127.0.0.1:8080".parse().unwrap());
        assert!(endpoints(&frame[..10]).is_none());
    }
}
