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
//!
//! UDP has no flow control: when datagrams come faster than the server reads them, the kernel
//! queues them in the socket's receive buffer, and when that is full it drops the newcomers and
//! counts them. The server reads that count — with each datagram (`SO_RXQ_OVFL`: the kernel
//! attaches its running total as of the moment the datagram was queued) and whenever its queue
//! runs dry (`SO_MEMINFO`) — and tells the sessions whose datagrams were in flight: losses are
//! UDP's lesson, and they are shown, never hidden.

use super::upper::upper;
use crate::clock;
use crate::observe::{Observers, Transport};
use protocol::{LabSpec, ServerSide};
use std::io;
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;
use std::time::Duration;
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// The shared UDP echo server's receive buffer. The kernel's default (212,992 bytes) holds about
/// 270 small datagrams (each costs ~768 bytes of kernel memory, whatever its payload): a class
/// of 100 learners each sending a burst of a few datagrams overflows it. 8 MiB holds ~10,000.
/// Asked with `SO_RCVBUFFORCE` (root or `CAP_NET_ADMIN`), else capped by `net.core.rmem_max`.
pub(crate) const SHARED_RCVBUF: usize = 8 * 1024 * 1024;

/// Sets a socket's receive buffer (with `SO_RCVBUFFORCE` when allowed) and turns on the drop
/// counter; returns the size the kernel really gave (it doubles what is asked, for its own
/// bookkeeping, and reports the doubled value).
pub(crate) fn prepare(socket: &UdpSocket, rcvbuf: Option<usize>) -> io::Result<usize> {
    let fd = socket.as_raw_fd();
    if let Some(size) = rcvbuf {
        let size = size as libc::c_int;
        if setsockopt(fd, libc::SO_RCVBUFFORCE, size).is_err() {
            setsockopt(fd, libc::SO_RCVBUF, size)?;
        }
    }
    setsockopt(fd, libc::SO_RXQ_OVFL, 1)?;
    socket2::SockRef::from(socket).recv_buffer_size()
}

fn setsockopt(fd: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: a valid fd and an int of the size we pass.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Receives and echoes datagrams forever. `socket` must have been [`prepare`]d.
pub(crate) async fn serve(socket: UdpSocket, observers: Observers, spec: LabSpec) {
    let delay = Duration::from_millis(spec.read_delay_ms.into());
    let server = socket.local_addr().ok();
    let rcvbuf = socket2::SockRef::from(&socket)
        .recv_buffer_size()
        .unwrap_or(0);
    let mut buf = vec![0u8; spec.recv_buffer];
    let mut drops_seen = 0u32;
    let mut drops = |total: Option<u32>| {
        if let (Some(total), Some(server)) = (total, server)
            && total != drops_seen
        {
            let dropped = total.wrapping_sub(drops_seen);
            drops_seen = total;
            observers.udp_dropped(server, u64::from(dropped), rcvbuf);
        }
    };
    // When the current recvfrom() was entered (it "blocks" until a datagram comes).
    let mut recv_called = None;
    loop {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let called = *recv_called.get_or_insert_with(clock::now);
        let got = match socket.try_io(Interest::READABLE, || recvmsg(socket.as_raw_fd(), &mut buf))
        {
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                // The queue ran dry: the drops of a burst that ended show now, not with the
                // next datagram (which may never come).
                drops(dropped_so_far(&socket));
                if let Err(e) = socket.readable().await {
                    tracing::warn!("UDP echo: waiting for datagrams failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                continue;
            }
            Err(e) => {
                tracing::warn!("UDP echo recvfrom() failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let (n, size, peer) = (got.len, got.size, got.from);
        // The kernel's running total of datagrams it dropped at this socket, as of this one.
        drops(got.drops);
        recv_called = None;
        let report = |called, op| observers.report(Transport::Udp, peer, called, op);
        report(
            called,
            ServerSide::RecvFrom {
                peer,
                data: buf[..n].into(),
                size,
            },
        );
        let send_called = clock::now();
        match socket.send_to(&upper(&buf[..n]), peer).await {
            Ok(len) => report(send_called, ServerSide::SendTo { peer, len }),
            Err(e) => tracing::warn!("UDP echo sendto({peer}) failed: {e}"),
        }
    }
}

/// One datagram, as `recvmsg()` returned it.
struct Datagram {
    /// Bytes in the buffer.
    len: usize,
    /// The datagram's real size (`MSG_TRUNC`): larger than `len` when the rest was discarded.
    size: usize,
    from: SocketAddr,
    /// `SO_RXQ_OVFL`: datagrams the kernel dropped at this socket so far (absent while none).
    drops: Option<u32>,
}

/// The kernel's count of datagrams dropped at this socket so far (`SO_MEMINFO`, what `ss -m`
/// shows as `d<N>`).
fn dropped_so_far(socket: &UdpSocket) -> Option<u32> {
    // SK_MEMINFO_VARS: the kernel fills in as many as it has (9 since Linux 4.? ).
    let mut info = [0u32; 16];
    let mut len = std::mem::size_of_val(&info) as libc::socklen_t;
    // SAFETY: a valid fd and a buffer of the length we pass.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_MEMINFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    (rc == 0 && len as usize > libc::SK_MEMINFO_DROPS as usize * 4)
        .then(|| info[libc::SK_MEMINFO_DROPS as usize])
}

/// `recvmsg(MSG_TRUNC)`: like the tutorial's `recvfrom(1024)`, a datagram longer than the buffer
/// is cut and the rest discarded by the kernel; with `MSG_TRUNC` the kernel also tells us the
/// datagram's real size, so the learner can see what was lost. The control message carries the
/// kernel's drop counter. Non-blocking: `WouldBlock` when the queue is empty.
fn recvmsg(fd: libc::c_int, buf: &mut [u8]) -> io::Result<Datagram> {
    // SAFETY: plain data; zeroed is valid.
    let mut from: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // Room for one `SO_RXQ_OVFL` message (a u32), aligned as cmsghdr wants.
    let mut control = [MaybeUninit::<u64>::uninit(); 8];
    // SAFETY: plain data; zeroed is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut from as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: every pointer in `msg` points at a live buffer of the length given.
    let size = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_TRUNC) };
    if size < 0 {
        return Err(io::Error::last_os_error());
    }
    let size = size as usize;
    let mut drops = None;
    // SAFETY: the kernel filled `msg_controllen` bytes of `control` with well-formed messages.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SO_RXQ_OVFL {
                drops = Some(std::ptr::read_unaligned(
                    libc::CMSG_DATA(cmsg).cast::<u32>(),
                ));
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok(Datagram {
        len: size.min(buf.len()),
        size,
        from: socket_addr(&from)
            .ok_or_else(|| io::Error::other("recvmsg() returned a non-IP address"))?,
        drops,
    })
}

fn socket_addr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says it is a sockaddr_in, which fits in sockaddr_storage.
            let a =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddrV4::new(ip, u16::from_be(a.sin_port)).into())
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let a = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            let port = u16::from_be(a.sin6_port);
            Some(SocketAddrV6::new(ip, port, a.sin6_flowinfo, a.sin6_scope_id).into())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn recv_datagram(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<Datagram> {
        socket
            .async_io(Interest::READABLE, || recvmsg(socket.as_raw_fd(), buf))
            .await
    }

    #[tokio::test]
    async fn the_kernels_drop_count_comes_with_the_next_datagram_and_ss_agrees() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // The smallest buffer the kernel allows: a few datagrams fill it.
        let given = prepare(&server, Some(1)).unwrap();
        let addr = server.local_addr().unwrap();
        let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..200u32 {
            client.send_to(&i.to_be_bytes(), addr).unwrap();
        }
        // `ss -uam` prints the same counter as `d<N>` (a reference nobody here wrote).
        let ss = std::process::Command::new("ss")
            .args(["-Huamn", &format!("sport = :{}", addr.port())])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string());
        let mut buf = [0u8; 16];
        let first = recv_datagram(&server, &mut buf).await.unwrap();
        assert_eq!(
            (first.len, first.size, first.from),
            (4, 4, client.local_addr().unwrap())
        );
        assert_eq!(
            &buf[..4],
            &0u32.to_be_bytes(),
            "the first datagram was kept"
        );
        // The first datagram was queued before any drop: no count yet.
        assert_eq!(first.drops, None);
        let mut kept = 1;
        while let Ok(Ok(d)) =
            tokio::time::timeout(Duration::from_millis(50), recv_datagram(&server, &mut buf)).await
        {
            kept += 1;
            assert_eq!(d.drops, None, "queued before the buffer filled");
        }
        // The queue is empty: SO_MEMINFO has the count now.
        let dropped = dropped_so_far(&server).expect("SO_MEMINFO");
        assert!(
            dropped > 0,
            "a {given}-byte buffer cannot hold 200 datagrams"
        );
        assert_eq!(
            kept + dropped,
            200,
            "every datagram was either kept or counted as dropped"
        );
        if let Some(ss) = ss {
            assert!(ss.contains(&format!(",d{dropped})")), "ss says {ss}");
        }
        // A datagram queued after the drops carries the kernel's running total with it.
        client.send_to(b"late", addr).unwrap();
        let late = recv_datagram(&server, &mut buf).await.unwrap();
        assert_eq!((&buf[..4], late.drops), (&b"late"[..], Some(dropped)));
    }
}
