//! Netlink messages for netfilter (`NETLINK_NETFILTER`): the nf_tables rules that send a lab
//! server's packets to a queue, and the queue itself (NFQUEUE).
//!
//! Written out here because the crates that write nf_tables messages are GPL or wrap C libraries,
//! and what the lab needs is small: a message is a header, a `nfgenmsg`, and attributes, some
//! nested. The layouts are the kernel's (`linux/netlink.h`, `linux/netfilter/nfnetlink.h`);
//! `nft --debug=netlink list ruleset` shows what the kernel made of them.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

pub(crate) const NLM_F_REQUEST: u16 = 0x1;
pub(crate) const NLM_F_ACK: u16 = 0x4;
pub(crate) const NLM_F_CREATE: u16 = 0x400;
pub(crate) const NLM_F_APPEND: u16 = 0x800;
const NLMSG_ERROR: u16 = 2;
const NLA_F_NESTED: u16 = 0x8000;
const NLMSG_HDR: usize = 16;

/// One netlink message being written: header, `nfgenmsg`, attributes.
pub(crate) struct Msg {
    buf: Vec<u8>,
    /// Where each open nest's header is.
    nests: Vec<usize>,
}

impl Msg {
    /// A message of `kind` (subsystem << 8 | message) about `family`, with `res_id` (a queue
    /// number, or a subsystem for batch markers), big-endian as the kernel wants it.
    pub(crate) fn new(kind: u16, flags: u16, seq: u32, family: u8, res_id: u16) -> Msg {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set by `finish`
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
        buf.push(family);
        buf.push(0); // NFNETLINK_V0
        buf.extend_from_slice(&res_id.to_be_bytes());
        Msg { buf, nests: vec![] }
    }

    /// An attribute with raw bytes.
    pub(crate) fn attr(&mut self, kind: u16, data: &[u8]) -> &mut Msg {
        let len = 4 + data.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    /// A NUL-terminated string attribute.
    pub(crate) fn str(&mut self, kind: u16, s: &str) -> &mut Msg {
        let mut data = s.as_bytes().to_vec();
        data.push(0);
        self.attr(kind, &data)
    }

    /// A 32-bit big-endian attribute (netfilter's numbers are in network order).
    pub(crate) fn be32(&mut self, kind: u16, n: u32) -> &mut Msg {
        self.attr(kind, &n.to_be_bytes())
    }

    /// Opens a nested attribute; close it with [`Msg::end`].
    pub(crate) fn nest(&mut self, kind: u16) -> &mut Msg {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        self
    }

    pub(crate) fn end(&mut self) -> &mut Msg {
        let start = self.nests.pop().expect("a nest is open");
        let len = (self.buf.len() - start) as u16;
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        self
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    /// The finished message's bytes.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        debug_assert!(self.nests.is_empty());
        let len = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// A `NETLINK_NETFILTER` socket.
pub(crate) fn socket(nonblocking: bool) -> io::Result<OwnedFd> {
    let mut kind = libc::SOCK_RAW | libc::SOCK_CLOEXEC;
    if nonblocking {
        kind |= libc::SOCK_NONBLOCK;
    }
    // SAFETY: plain syscall; the fd is owned right away.
    let fd = unsafe { libc::socket(libc::AF_NETLINK, kind, libc::NETLINK_NETFILTER) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket() and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sends `bytes` (one or more messages) to the kernel.
pub(crate) fn send(fd: &impl AsRawFd, bytes: &[u8]) -> io::Result<()> {
    // SAFETY: a zeroed sockaddr_nl is the kernel's address (pid 0).
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as u16;
    // SAFETY: `bytes` and `addr` are valid for the lengths given.
    let n = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            bytes.as_ptr().cast(),
            bytes.len(),
            0,
            (&raw const addr).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as u32,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Receives one datagram of messages into `buf`; returns its length.
pub(crate) fn recv(fd: &impl AsRawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for its length.
    let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// One message of a received datagram: its type and its body after the `nlmsghdr`.
pub(crate) struct Received<'a> {
    pub(crate) kind: u16,
    pub(crate) seq: u32,
    pub(crate) body: &'a [u8],
}

impl Received<'_> {
    /// For an error message (`NLMSG_ERROR`): 0 for an acknowledgement, else the errno.
    pub(crate) fn error(&self) -> Option<i32> {
        (self.kind == NLMSG_ERROR && self.body.len() >= 4)
            .then(|| -i32::from_ne_bytes(self.body[..4].try_into().expect("4 bytes")))
    }
}

/// The messages in a received datagram.
pub(crate) fn messages(mut buf: &[u8]) -> impl Iterator<Item = Received<'_>> {
    std::iter::from_fn(move || {
        if buf.len() < NLMSG_HDR {
            return None;
        }
        let len = u32::from_ne_bytes(buf[..4].try_into().expect("4 bytes")) as usize;
        if len < NLMSG_HDR || len > buf.len() {
            return None;
        }
        let kind = u16::from_ne_bytes([buf[4], buf[5]]);
        let seq = u32::from_ne_bytes(buf[8..12].try_into().expect("4 bytes"));
        let message = Received {
            kind,
            seq,
            body: &buf[NLMSG_HDR..len],
        };
        buf = &buf[len.next_multiple_of(4).min(buf.len())..];
        Some(message)
    })
}

/// The attributes of a message body after its 4-byte `nfgenmsg`: (type, payload).
pub(crate) fn attributes(mut buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if buf.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([buf[0], buf[1]]) as usize;
        let kind = u16::from_ne_bytes([buf[2], buf[3]]) & !NLA_F_NESTED;
        if len < 4 || len > buf.len() {
            return None;
        }
        let data = &buf[4..len];
        buf = &buf[len.next_multiple_of(4).min(buf.len())..];
        Some((kind, data))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_nested_attributes_are_laid_out_as_the_kernel_reads_them() {
        let mut m = Msg::new(0x0a06, NLM_F_REQUEST | NLM_F_ACK, 7, 2, 0);
        m.str(1, "t").nest(4).be32(1, 3).end();
        let bytes = m.finish();
        assert_eq!(bytes.len(), 16 + 4 + 8 + 12);
        assert_eq!(u32::from_ne_bytes(bytes[..4].try_into().unwrap()), 40);
        let msg = messages(&bytes).next().unwrap();
        assert_eq!((msg.kind, msg.seq), (0x0a06, 7));
        let attrs: Vec<_> = attributes(&msg.body[4..]).collect();
        assert_eq!(attrs.len(), 2);
        assert_eq!(attrs[0], (1, &b"t\0"[..]));
        assert_eq!(attrs[1].0, 4);
        let inner: Vec<_> = attributes(attrs[1].1).collect();
        assert_eq!(inner, [(1, &3u32.to_be_bytes()[..])]);
    }
}
