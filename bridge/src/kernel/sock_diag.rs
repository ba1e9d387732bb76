//! `sock_diag` (`NETLINK_INET_DIAG`): ask the kernel about *one* TCP socket, by its four-tuple.
//!
//! This is how `ss` talks to the kernel. Unlike reading `/proc/net/tcp`, which makes the kernel
//! walk its whole established-connection hash table (262,144 buckets here: ≈ 8 ms of kernel time
//! per read, however few sockets there are), a request that names one connection is a hash
//! lookup: microseconds. It also finds connections that no longer have a file descriptor — a
//! socket in TIME_WAIT after `close()` — which `getsockopt(TCP_INFO)` cannot reach. Unprivileged.
//!
//! One request, one reply:
//! ```text
//! → nlmsghdr{SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST} inet_diag_req_v2{family, TCP, id: the 4-tuple}
//! ← nlmsghdr{SOCK_DIAG_BY_FAMILY} inet_diag_msg{state, timer, expires (ms), …}
//!   or nlmsghdr{NLMSG_ERROR} with -ENOENT: the kernel has no such socket
//! ```
//! The socket is non-blocking and waited on with tokio, so a lookup never blocks a worker.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use tokio::io::unix::AsyncFd;

/// `SOCK_DIAG_BY_FAMILY` (linux/sock_diag.h).
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `INET_DIAG_NOCOOKIE`: "any socket with this four-tuple".
const NO_COOKIE: u32 = !0;
/// `idiag_timer` values (linux/inet_diag.h): which timer runs.
const TIMER_TIME_WAIT: u8 = 3;

const NLMSG_HDR: usize = 16;
const REQ_V2: usize = 56;
/// `struct inet_diag_msg`: family, state, timer, retrans, sockid (48), expires, rqueue, wqueue,
/// uid, inode.
const DIAG_MSG: usize = 72;
/// A reply is one message; a little room for an error's echoed request.
const REPLY_BUFFER: usize = 512;

/// What the kernel says about one TCP socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    /// The TCP state number (as in `TCP_INFO` and `/proc/net/tcp`: 6 = TIME_WAIT).
    pub(crate) state: u8,
    /// Time left on TIME_WAIT's timer, in ms.
    pub(crate) time_wait_ms: Option<u64>,
}

/// A `NETLINK_INET_DIAG` socket of our own.
pub(crate) struct SockDiag {
    fd: AsyncFd<OwnedFd>,
    seq: u32,
}

impl SockDiag {
    pub(crate) fn open() -> io::Result<SockDiag> {
        // SAFETY: plain syscall; the fd is owned right away.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                libc::NETLINK_SOCK_DIAG,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by socket() and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: an OwnedFd's descriptor stays open and the same while the AsyncFd owns it.
        let fd = unsafe { AsyncFd::register(fd) }.map_err(io::Error::from)?;
        Ok(SockDiag { fd, seq: 0 })
    }

    /// The TCP socket whose local address is `local` and whose peer is `remote`, if the kernel
    /// still has it (in any state, TIME_WAIT included).
    pub(crate) async fn lookup(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> io::Result<Option<Found>> {
        self.seq = self.seq.wrapping_add(1);
        let request = request(self.seq, local, remote);
        // SAFETY: a valid fd and buffer. A netlink request is handled inside send().
        let sent = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                request.as_ptr().cast(),
                request.len(),
                0,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buf = [0u8; REPLY_BUFFER];
        loop {
            let mut guard = self.fd.readable().await?;
            let got = guard.try_io(|fd| {
                // SAFETY: a valid fd and buffer.
                let n =
                    unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            let n = match got {
                Ok(result) => result?,
                Err(_would_block) => continue,
            };
            match parse_reply(&buf[..n], self.seq) {
                // A reply to an earlier, abandoned request (a cancelled lookup): skip it.
                Reply::Stale => continue,
                Reply::Found(found) => {
                    return Ok(found.filter(|f| f.remote == remote).map(|f| f.found));
                }
                Reply::Missing => return Ok(None),
                Reply::Error(e) => return Err(e),
            }
        }
    }
}

/// The request for one socket, as the kernel lays out `nlmsghdr` + `inet_diag_req_v2`.
fn request(seq: u32, local: SocketAddr, remote: SocketAddr) -> Vec<u8> {
    let mut m = Vec::with_capacity(NLMSG_HDR + REQ_V2);
    m.extend(((NLMSG_HDR + REQ_V2) as u32).to_ne_bytes());
    m.extend(SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    m.extend((libc::NLM_F_REQUEST as u16).to_ne_bytes());
    m.extend(seq.to_ne_bytes());
    m.extend(0u32.to_ne_bytes()); // port id: the kernel fills it in
    let family = if local.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    m.push(family as u8);
    m.push(libc::IPPROTO_TCP as u8);
    m.push(0); // no extensions
    m.push(0); // pad
    m.extend((!0u32).to_ne_bytes()); // every state
    m.extend(sockid(local, remote));
    m
}

/// `struct inet_diag_sockid`: ports and addresses in network byte order, from the socket's own
/// point of view (source = local).
fn sockid(local: SocketAddr, remote: SocketAddr) -> Vec<u8> {
    let mut id = Vec::with_capacity(48);
    id.extend(local.port().to_be_bytes());
    id.extend(remote.port().to_be_bytes());
    id.extend(addr16(local.ip()));
    id.extend(addr16(remote.ip()));
    id.extend(0u32.to_ne_bytes()); // any interface
    id.extend(NO_COOKIE.to_ne_bytes());
    id.extend(NO_COOKIE.to_ne_bytes());
    id
}

/// An address as the sockid's four 32-bit words (IPv4 in the first).
fn addr16(ip: IpAddr) -> [u8; 16] {
    let mut out = [0u8; 16];
    match ip {
        IpAddr::V4(v4) => out[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => out = v6.octets(),
    }
    out
}

struct FoundAt {
    found: Found,
    remote: SocketAddr,
}

enum Reply {
    Found(Option<FoundAt>),
    Missing,
    Stale,
    Error(io::Error),
}

fn parse_reply(buf: &[u8], seq: u32) -> Reply {
    let bad = || Reply::Error(io::Error::other("sock_diag: short or malformed reply"));
    let Some(header) = buf.get(..NLMSG_HDR) else {
        return bad();
    };
    let kind = u16::from_ne_bytes([header[4], header[5]]);
    let got_seq = u32::from_ne_bytes(header[8..12].try_into().expect("4 bytes"));
    if got_seq != seq {
        return Reply::Stale;
    }
    let body = &buf[NLMSG_HDR..];
    if kind == libc::NLMSG_ERROR as u16 {
        let Some(errno) = body.get(..4) else {
            return bad();
        };
        let errno = -i32::from_ne_bytes(errno.try_into().expect("4 bytes"));
        return if errno == libc::ENOENT || errno == 0 {
            Reply::Missing
        } else {
            Reply::Error(io::Error::from_raw_os_error(errno))
        };
    }
    if kind != SOCK_DIAG_BY_FAMILY {
        return bad();
    }
    let Some(msg) = body.get(..DIAG_MSG) else {
        return bad();
    };
    let (family, state, timer) = (msg[0], msg[1], msg[2]);
    let id = &msg[4..52];
    let dport = u16::from_be_bytes([id[2], id[3]]);
    let dst: IpAddr = if i32::from(family) == libc::AF_INET {
        let o: [u8; 4] = id[20..24].try_into().expect("4 bytes");
        o.into()
    } else {
        let o: [u8; 16] = id[20..36].try_into().expect("16 bytes");
        o.into()
    };
    let expires = u32::from_ne_bytes(msg[52..56].try_into().expect("4 bytes"));
    let found = Found {
        state,
        time_wait_ms: (timer == TIMER_TIME_WAIT).then_some(u64::from(expires)),
    };
    Reply::Found(Some(FoundAt {
        found,
        remote: SocketAddr::new(dst, dport),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::state_name;

    #[tokio::test]
    async fn finds_an_open_connection_from_both_ends_and_nothing_else() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let server = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(server).unwrap();
        let local = client.local_addr().unwrap();
        let mut diag = SockDiag::open().unwrap();

        let mine = diag.lookup(local, server).await.unwrap().unwrap();
        assert_eq!(state_name(mine.state), "ESTABLISHED");
        assert_eq!(mine.time_wait_ms, None);
        // The server's end of it, still in the accept queue.
        let theirs = diag.lookup(server, local).await.unwrap().unwrap();
        assert_eq!(state_name(theirs.state), "ESTABLISHED");
        // A four-tuple nobody has: even with a listener on the local port, no match.
        let stranger: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(diag.lookup(server, stranger).await.unwrap(), None);
    }

    #[tokio::test]
    async fn sees_time_wait_after_the_active_close_with_about_a_minute_left() {
        let listener = std::net::TcpListener::bind("[::1]:0").unwrap();
        let server = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(server).unwrap();
        let local = client.local_addr().unwrap();
        let (accepted, _) = listener.accept().unwrap();
        // The client closes first (the active close): its end goes to TIME_WAIT once the
        // server's FIN comes back.
        drop(client);
        drop(accepted);
        let mut diag = SockDiag::open().unwrap();
        let mut seen = None;
        for _ in 0..100 {
            seen = diag.lookup(local, server).await.unwrap();
            if seen.is_some_and(|f| state_name(f.state) == "TIME_WAIT") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let found = seen.expect("the kernel keeps the closed connection");
        assert_eq!(state_name(found.state), "TIME_WAIT");
        let left = found.time_wait_ms.expect("TIME_WAIT's timer runs");
        assert!((50_000..=60_000).contains(&left), "{left} ms left");
        // `ss` agrees (a reference nobody here wrote), when it is installed.
        if let Ok(out) = std::process::Command::new("ss")
            .args(["-Htan", "state", "time-wait"])
            .output()
        {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains(&local.to_string()), "{text}");
        }
    }
}
