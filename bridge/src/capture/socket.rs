//! The packet socket itself: `socket(AF_PACKET, SOCK_RAW)` on the loopback interface.
//!
//! - The filter is attached before `bind()`, so not one unfiltered packet is queued.
//! - `PACKET_IGNORE_OUTGOING`: on `lo` every packet passes twice (sent, then received); keeping
//!   only the received copy removes the duplicates.
//! - Packets arrive in a ring of memory shared with the kernel (`ring.rs`), each with its kernel
//!   timestamp; a burst of connections makes thousands of packets at once, and what overflows
//!   the ring is counted by the kernel (`PACKET_STATISTICS`) and reported, never hidden.

use super::bpf;
use super::ring::Ring;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

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

/// Opens the packet socket on `lo`, filtered, with its ring. Fails with `PermissionDenied`
/// without `CAP_NET_RAW`.
pub(crate) fn open(http_port: u16) -> io::Result<(OwnedFd, Ring)> {
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
    let ring = Ring::new(&fd)?;

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
    Ok((fd, ring))
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
