//! Picking a TCP port for a new socket without the kernel's slow search.
//!
//! `bind(ip, 0)` asks the kernel for any free ephemeral port. It searches the range port by port,
//! and a port held by a connection in TIME_WAIT is not free for `bind()`. A class opening and
//! closing connections leaves tens of thousands of TIME_WAITs (each lasts a minute): measured
//! here, with 19,000 of them, one `bind(ip, 0)` took 3–4.5 ms of kernel time — and the bridge
//! makes one per connection, on the threads that serve everyone's echoes. Trying a few ports
//! picked at random costs a hash lookup each: with two thirds of the range held, three tries on
//! average. When [`TRIES`] random ports are all taken, the kernel's search is the fallback.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::net::TcpSocket;

/// Random ports tried before the kernel's own search: with 90% of the range held, 64 tries
/// find a free one 99.9% of the time.
pub(crate) const TRIES: usize = 64;

/// The kernel's ephemeral range (`net.ipv4.ip_local_port_range`), read once; the usual default
/// when it cannot be read.
fn range() -> (u16, u16) {
    static RANGE: OnceLock<(u16, u16)> = OnceLock::new();
    *RANGE.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|text| {
                let mut it = text.split_whitespace().map(|n| n.parse::<u16>().ok());
                Some((it.next()??, it.next()??))
            })
            .filter(|(lo, hi)| lo < hi)
            .unwrap_or((32768, 60999))
    })
}

/// A cheap, well-mixed random number (splitmix64 over a counter seeded by the clock): the
/// ports only need to be spread, not unpredictable.
fn next_random() -> u64 {
    static STATE: OnceLock<AtomicU64> = OnceLock::new();
    let state = STATE.get_or_init(|| {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x5eed);
        AtomicU64::new(seed ^ u64::from(std::process::id()) << 32)
    });
    let mut z = state.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Binds `socket` to a free ephemeral port of `ip`; returns the address.
pub(crate) fn bind_ephemeral(socket: &TcpSocket, ip: IpAddr) -> io::Result<SocketAddr> {
    let (lo, hi) = range();
    let span = u64::from(hi - lo) + 1;
    for _ in 0..TRIES {
        let port = lo + (next_random() % span) as u16;
        match socket.bind(SocketAddr::new(ip, port)) {
            Ok(()) => return socket.local_addr(),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(e),
        }
    }
    socket.bind(SocketAddr::new(ip, 0))?;
    socket.local_addr()
}

/// A new TCP socket for `ip`'s family, bound to a free ephemeral port.
pub(crate) fn bound_tcp(ip: IpAddr) -> io::Result<(TcpSocket, SocketAddr)> {
    let socket = if ip.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    let local = bind_ephemeral(&socket, ip)?;
    Ok((socket, local))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn binds_distinct_ports_in_the_kernels_range_and_steps_around_taken_ones() {
        let (lo, hi) = range();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let mut held = vec![];
        let mut ports = std::collections::HashSet::new();
        for _ in 0..200 {
            let (socket, addr) = bound_tcp(ip).unwrap();
            assert_eq!(addr.ip(), ip);
            assert!((lo..=hi).contains(&addr.port()), "{addr}");
            assert!(ports.insert(addr.port()), "{addr} given twice while held");
            held.push(socket);
        }
        // A held port is never given again: bind() itself refuses it.
        let taken = held[0].local_addr().unwrap();
        let again = TcpSocket::new_v4().unwrap();
        assert!(again.bind(taken).is_err());
    }
}
