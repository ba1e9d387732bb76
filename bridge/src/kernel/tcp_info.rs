//! `getsockopt(TCP_INFO)`: the kernel's own figures for one TCP socket the bridge holds — for a
//! connection its state, round-trip time, congestion window, segments in and out,
//! retransmissions; for a listening socket its accept queue. Unprivileged, and a single call.

use protocol::TcpInfo;
use std::os::fd::RawFd;

/// The connection's state number (see [`state_name`](super::state_name)) and figures, or `None`
/// if the call failed or the kernel returned too little.
pub(crate) fn read(fd: RawFd) -> Option<(u8, TcpInfo)> {
    let info = raw(fd)?;
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

/// A listening socket's accept queue: (connections that completed the handshake and wait for
/// `accept()`, the backlog). On a LISTEN socket the kernel reports them in `tcpi_unacked` and
/// `tcpi_sacked` (what `ss -lnt` shows as Recv-Q and Send-Q).
pub(crate) fn listen_queue(fd: RawFd) -> Option<(u32, u32)> {
    let info = raw(fd)?;
    (info.tcpi_state == LISTEN).then_some((info.tcpi_unacked, info.tcpi_sacked))
}

/// `TCP_LISTEN` in the kernel's numbering.
const LISTEN: u8 = 0x0A;

fn raw(fd: RawFd) -> Option<libc::tcp_info> {
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
    Some(info)
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
        assert_eq!(crate::kernel::state_name(state), "ESTABLISHED");
        assert!(info.segs_out >= 2, "SYN and ACK went out: {info:?}");
        assert!(info.cwnd > 0);
    }

    #[test]
    fn a_listener_reports_its_accept_queue_and_backlog_as_ss_does() {
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket
            .bind(
                &"127.0.0.1:0"
                    .parse::<std::net::SocketAddr>()
                    .unwrap()
                    .into(),
            )
            .unwrap();
        socket.listen(5).unwrap();
        let addr = socket.local_addr().unwrap().as_socket().unwrap();
        assert_eq!(listen_queue(socket.as_raw_fd()), Some((0, 5)));
        let _waiting: Vec<_> = (0..3)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        assert_eq!(listen_queue(socket.as_raw_fd()), Some((3, 5)));
        // `ss -lnt` shows the same Recv-Q and Send-Q (a reference nobody here wrote).
        if let Ok(out) = std::process::Command::new("ss")
            .args(["-Hlnt", &format!("sport = :{}", addr.port())])
            .output()
        {
            let text = String::from_utf8_lossy(&out.stdout);
            let fields: Vec<&str> = text.split_whitespace().collect();
            assert_eq!(fields.get(1..3), Some(&["3", "5"][..]), "{text}");
        }
        let client = std::net::TcpStream::connect(addr).unwrap();
        assert_eq!(listen_queue(client.as_raw_fd()), None, "not a listener");
    }
}
