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
mod whose;

use crate::clock::{Mono, WallToMono};
use crate::observe::Observers;
use protocol::CaptureState;
use std::io;
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
    // The kernel stamps packets with the wall clock; sessions count on the monotonic one.
    // Measured at start and again every STATS_EVERY (the wall clock may be adjusted).
    let mut wall_to_mono = WallToMono::measure();
    let mut fragments = whose::Fragments::default();
    loop {
        tokio::select! {
            ready = fd.readable() => {
                let Ok(mut guard) = ready else { return };
                // One block the kernel has handed over at a time, letting other tasks run in
                // between (a full block is thousands of packets); when none is ready, wait. (A
                // block retired between the read and clear_ready wakes us again: the kernel
                // signals readiness per block.)
                let to_mono = |at: SystemTime| {
                    let ns = at.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos() as u64);
                    wall_to_mono.to_mono(ns.unwrap_or(0))
                };
                let read = ring.read_one(|frame, at| {
                    route(&observers, &mut fragments, frame, to_mono(at))
                });
                if read {
                    drop(guard);
                    tokio::task::yield_now().await;
                } else {
                    guard.clear_ready();
                }
            }
            _ = stats.tick() => {
                wall_to_mono = WallToMono::measure();
                let dropped = socket::drops(fd.get_ref());
                if dropped > 0 {
                    observers.kernel_dropped_packets(dropped);
                }
            }
        }
    }
}

fn route(observers: &Observers, fragments: &mut whose::Fragments, frame: &[u8], at: Mono) {
    if let Some((transport, src, dst)) = whose::whose(frame, fragments) {
        observers.packet(transport, src, dst, frame, at);
    }
}

#[cfg(test)]
mod tests {
    use super::{ring, socket};
    use std::net::UdpSocket;
    use std::time::Duration;

    /// Sparse packets while nobody reads the ring (a bridge too busy to run its capture task):
    /// each packet's block is handed over on its own, so the ring must hold that many blocks.
    #[test]
    fn the_ring_rides_out_a_bridge_that_does_not_read_it_for_a_while() {
        let Ok((fd, mut ring)) = socket::open(0) else {
            eprintln!("skipped: capturing needs root or CAP_NET_RAW");
            return;
        };
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = rx.local_addr().unwrap();
        // One datagram every RETIRE_MS + 1 ms: a block apiece. 12 of them: more than the 8
        // blocks this ring used to have (which kept 8 of them), and room to spare in the 32 it
        // has for other tests' packets meanwhile.
        let sent = 12;
        assert!(sent > 8 && sent * 2 < ring::BLOCKS);
        for i in 0..sent {
            tx.send_to(format!("sparse {i}").as_bytes(), to).unwrap();
            std::thread::sleep(Duration::from_millis(u64::from(ring::RETIRE_MS) + 1));
        }
        std::thread::sleep(Duration::from_millis(10));
        let port = to.port().to_be_bytes();
        let mut seen = 0;
        while ring.read_one(|frame, _| {
            // Ethernet (14) + IPv4 (20) + the UDP destination port.
            if frame.get(36..38) == Some(&port[..]) {
                seen += 1;
            }
        }) {}
        assert_eq!(seen, sent, "every datagram kept");
        assert_eq!(socket::drops(&fd), 0);
    }
}
