//! The packet socket itself: `socket(AF_PACKET, SOCK_RAW)` on the loopback interface.
//!
//! - The filter is attached before `bind()`, so not one unfiltered packet is queued.
//! - `PACKET_IGNORE_OUTGOING`: on `lo` every packet passes twice (sent, then received); keeping
//!   only the received copy removes the duplicates.
//! - A large receive buffer (`SO_RCVBUFFORCE`, as root), because a burst of connections makes
//!   thousands of packets at once; what still overflows is counted by the kernel
//!   (`PACKET_STATISTICS`) and reported, never hidden.
//! - Each packet's kernel timestamp comes from `SIOCGSTAMPNS` right after it is read.

use super::bpf;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, SystemTime};

/// `SIOCGSTAMPNS` (linux/sockios.h): the last packet's receive time.
const SIOCGSTAMPNS: libc::c_ulong = 0x8907;

/// The capture buffer asked for.
const RCVBUF: libc::c_int = 8 * 1024 * 1024;

/// `struct tpacket_stats`.
#[repr(C)]
#[derive(Default)]
struct TpacketStats {
    packets: u32,
    drops: u32,
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn setsockopt<T>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: a valid fd and a value of the size we pass.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// Opens the packet socket on `lo`, filtered. Fails with `PermissionDenied` without
/// `CAP_NET_RAW`.
pub(crate) fn open(http_port: u16) -> io::Result<OwnedFd> {
    let protocol = (libc::ETH_P_ALL as u16).to_be() as libc::c_int;
    // SAFETY: plain syscall; the fd is owned right away.
    let fd = check(unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            protocol,
        )
    })?;
    // SAFETY: `fd` was just returned by socket() and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };

    let program = bpf::program(http_port);
    let fprog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    setsockopt(&fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog)?;
    setsockopt(
        &fd,
        libc::SOL_PACKET,
        libc::PACKET_IGNORE_OUTGOING,
        &1 as &libc::c_int,
    )?;
    if setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &RCVBUF).is_err() {
        setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &RCVBUF)?;
    }

    let name = std::ffi::CString::new("lo").expect("no NUL");
    // SAFETY: a valid C string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: sockaddr_ll is plain data; zeroed is a valid start.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = protocol as u16;
    addr.sll_ifindex = index as libc::c_int;
    // SAFETY: a valid fd and a sockaddr_ll of the size we pass.
    check(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    })?;
    Ok(fd)
}

/// Reads one packet into `buf` (non-blocking) and returns its length.
pub(crate) fn recv(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: a valid fd and buffer.
    let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// The kernel's receive time of the packet read last. Asked only for packets someone wants:
/// one syscall less for every packet that belongs to nobody.
pub(crate) fn timestamp(fd: &OwnedFd) -> SystemTime {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: SIOCGSTAMPNS writes one timespec.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), SIOCGSTAMPNS as _, &mut ts) };
    if rc == 0 {
        SystemTime::UNIX_EPOCH + Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    } else {
        SystemTime::now()
    }
}

/// Packets the kernel dropped since the last call (the counters reset when read).
pub(crate) fn drops(fd: &OwnedFd) -> u64 {
    let mut stats = TpacketStats::default();
    let mut len = std::mem::size_of::<TpacketStats>() as libc::socklen_t;
    // SAFETY: a valid fd and a buffer of the length we pass.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            (&mut stats as *mut TpacketStats).cast(),
            &mut len,
        )
    };
    if rc == 0 { stats.drops.into() } else { 0 }
}
