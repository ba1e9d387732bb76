//! `getsockopt(TCP_INFO)`: the kernel's own figures for one open TCP connection — its state,
//! round-trip time, congestion window, segments in and out, retransmissions. Unprivileged.

use protocol::TcpInfo;
use std::os::fd::RawFd;

/// The connection's state number (as in `/proc/net/tcp`) and figures, or `None` if the call
/// failed or the kernel returned too little.
pub(crate) fn read(fd: RawFd) -> Option<(u8, TcpInfo)> {
    // SAFETY: tcp_info is plain data; zeroed is valid.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: a valid fd and a buffer of the length we pass.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    // Older kernels return a shorter struct: trust only what they filled in.
    let needed = std::mem::offset_of!(libc::tcp_info, tcpi_segs_in) + 4;
    if rc != 0 || (len as usize) < needed {
        return None;
    }
    Some((
        info.tcpi_state,
        TcpInfo {
            rtt_us: info.tcpi_rtt,
            rttvar_us: info.tcpi_rttvar,
            cwnd: info.tcpi_snd_cwnd,
            segs_out: info.tcpi_segs_out,
            segs_in: info.tcpi_segs_in,
            total_retrans: info.tcpi_total_retrans,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn an_open_connection_is_established_and_counts_segments() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (state, info) = read(client.as_raw_fd()).unwrap();
        assert_eq!(crate::kernel::proc_net::state_name(state), "ESTABLISHED");
        assert!(info.segs_out >= 2, "SYN and ACK went out: {info:?}");
        assert!(info.cwnd > 0);
    }
}
