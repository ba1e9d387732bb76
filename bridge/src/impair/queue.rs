//! The bridge's NFQUEUE: every packet of an impaired lab server waits here, in the kernel, for
//! the bridge's verdict — drop it, let it go now, or let it go later (delay, jitter, reordering).
//!
//! The packet never leaves the kernel: the kernel keeps it queued and sends the bridge a copy to
//! decide on; the verdict (`NF_ACCEPT`/`NF_DROP`, by packet id) releases or frees it. So a
//! "lost" segment is really lost on the kernel's path, and the kernel's TCP really retransmits
//! it; a delayed one really arrives late, and TCP's RTT estimate really grows. A duplicate is a
//! byte-for-byte copy sent back into the kernel through a raw socket, marked so that the queue
//! lets it through at once.
//!
//! ```text
//! → CONFIG{BIND queue}, CONFIG{PARAMS copy 65535}, CONFIG{MAXLEN}, CONFIG{FLAGS fail-open}
//! ← PACKET{hdr: id, mark, payload: the IP packet}     (one per queued packet)
//! → VERDICT{hdr: NF_ACCEPT | NF_DROP, id}
//! ```
//! One task for the whole bridge reads the queue (non-blocking, with tokio) and keeps the held
//! packets in a heap ordered by when they are due.

use super::netlink::{self, Msg, NLM_F_ACK, NLM_F_REQUEST};
use super::{Key, Link, Registry};
use protocol::{Family, Transport};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use tokio::io::unix::AsyncFd;
use tokio::time::Instant;

const SUBSYS_QUEUE: u16 = 3;
const MSG_PACKET: u16 = 0;
const MSG_VERDICT: u16 = 1;
const MSG_CONFIG: u16 = 2;
const CFG_CMD: u16 = 1;
const CFG_PARAMS: u16 = 2;
const CFG_QUEUE_MAXLEN: u16 = 3;
const CFG_MASK: u16 = 4;
const CFG_FLAGS: u16 = 5;
const CMD_BIND: u8 = 1;
const COPY_PACKET: u8 = 2;
const F_FAIL_OPEN: u32 = 1;
const ATTR_PACKET_HDR: u16 = 1;
const ATTR_VERDICT_HDR: u16 = 2;
const ATTR_MARK: u16 = 3;
const ATTR_PAYLOAD: u16 = 10;
const NF_DROP: u32 = 0;
const NF_ACCEPT: u32 = 1;

/// The mark on the duplicates the bridge sends, so the queue lets them through.
pub(crate) const DUP_MARK: u32 = 0x5150_1ab0;

/// Packets the kernel keeps queued for the bridge. Past it the kernel lets packets through
/// unimpaired (fail-open) rather than dropping them unaccounted.
const KERNEL_QUEUE: u32 = 4096;

/// Packets the bridge holds back (delayed) at once, all links together, and per link: a flood
/// through one learner's link fills only its share; past it, packets go on at once and are
/// counted as `overflow`.
const MAX_HELD: usize = 2048;
pub(crate) const MAX_HELD_PER_LINK: usize = 512;

/// Bytes of packet copies kept for duplicates that wait for their original's delay.
const MAX_DUP_BYTES: usize = 8 << 20;

/// One datagram of queued packets: up to a 64 KiB packet (loopback's MTU) and its headers.
const READ_BUFFER: usize = 70 * 1024;

/// Receive buffer of the queue's netlink socket: room for bursts of copies.
const SOCKET_BUFFER: usize = 4 << 20;

/// A packet held back until `due`.
struct Held {
    due: Instant,
    /// Arrival order, so equal due times keep it.
    n: u64,
    id: u32,
    link: Arc<Link>,
    /// The packet again, when a copy goes out after it.
    dup: Option<(SocketAddr, Vec<u8>)>,
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.n) == (other.due, other.n)
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Held {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.n).cmp(&(other.due, other.n))
    }
}

pub(crate) struct Queue {
    fd: AsyncFd<OwnedFd>,
    queue: u16,
    dup4: Option<OwnedFd>,
    dup6: Option<OwnedFd>,
}

impl Queue {
    /// Binds queue `queue` (fails with `EPERM` without `CAP_NET_ADMIN`, `EBUSY` if another
    /// program has it).
    pub(crate) fn open(queue: u16) -> io::Result<Queue> {
        let fd = netlink::socket(false)?;
        set_int(
            &fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            SOCKET_BUFFER as i32,
        )
        .or_else(|_| set_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, SOCKET_BUFFER as i32))?;
        // Lost copies must not stop the queue: the kernel fails open when it is full.
        set_int(&fd, libc::SOL_NETLINK, libc::NETLINK_NO_ENOBUFS, 1)?;
        let configs: [&dyn Fn(&mut Msg); 4] = [
            &|m| {
                m.attr(CFG_CMD, &[CMD_BIND, 0, 0, 0]);
            },
            &|m| {
                let mut params = 0xffffu32.to_be_bytes().to_vec();
                params.push(COPY_PACKET);
                m.attr(CFG_PARAMS, &params);
            },
            &|m| {
                m.be32(CFG_QUEUE_MAXLEN, KERNEL_QUEUE);
            },
            &|m| {
                m.be32(CFG_MASK, F_FAIL_OPEN).be32(CFG_FLAGS, F_FAIL_OPEN);
            },
        ];
        for (seq, config) in configs.iter().enumerate() {
            let mut m = Msg::new(
                SUBSYS_QUEUE << 8 | MSG_CONFIG,
                NLM_F_REQUEST | NLM_F_ACK,
                seq as u32 + 1,
                libc::AF_UNSPEC as u8,
                queue,
            );
            config(&mut m);
            netlink::send(&fd, &m.finish())?;
            let mut buf = [0u8; 1024];
            let n = netlink::recv(&fd, &mut buf)?;
            if let Some(errno) = netlink::messages(&buf[..n]).find_map(|m| m.error())
                && errno != 0
            {
                return Err(io::Error::from_raw_os_error(errno));
            }
        }
        // SAFETY: plain fcntl on our own descriptor.
        unsafe {
            let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
        // SAFETY: an OwnedFd's descriptor stays open and the same while the AsyncFd owns it.
        let fd = unsafe { AsyncFd::register(fd) }.map_err(io::Error::from)?;
        Ok(Queue {
            fd,
            queue,
            dup4: raw_socket(libc::AF_INET).ok(),
            dup6: raw_socket(libc::AF_INET6).ok(),
        })
    }

    /// Whether duplicates can be sent (raw sockets need `CAP_NET_RAW`).
    pub(crate) fn can_duplicate(&self) -> bool {
        self.dup4.is_some() && self.dup6.is_some()
    }

    /// Reads the queue and gives verdicts, until the bridge stops.
    pub(crate) async fn run(self, links: Arc<Registry>) {
        let mut held: BinaryHeap<Reverse<Held>> = BinaryHeap::new();
        let mut dup_bytes = 0usize;
        let mut arrivals = 0u64;
        let mut buf = vec![0u8; READ_BUFFER];
        loop {
            let next = held.peek().map(|Reverse(h)| h.due);
            tokio::select! {
                ready = self.fd.readable() => {
                    let Ok(mut guard) = ready else { return };
                    loop {
                        let n = match netlink::recv(self.fd.get_ref(), &mut buf) {
                            Ok(n) => n,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                guard.clear_ready();
                                break;
                            }
                            Err(e) => {
                                tracing::warn!("impairment queue: {e}");
                                guard.clear_ready();
                                break;
                            }
                        };
                        for msg in netlink::messages(&buf[..n]) {
                            if msg.kind != SUBSYS_QUEUE << 8 | MSG_PACKET {
                                continue;
                            }
                            let Some(packet) = Packet::parse(msg.body) else { continue };
                            arrivals += 1;
                            self.decide(packet, &links, &mut held, &mut dup_bytes, arrivals);
                        }
                    }
                }
                () = sleep_until(next), if next.is_some() => {}
            }
            let now = Instant::now();
            while held.peek().is_some_and(|Reverse(h)| h.due <= now) {
                let Reverse(h) = held.pop().expect("peeked");
                h.link.release();
                self.verdict(h.id, NF_ACCEPT);
                if let Some((to, bytes)) = h.dup {
                    dup_bytes -= bytes.len();
                    self.duplicate(to, &bytes);
                }
            }
        }
    }

    fn decide(
        &self,
        packet: Packet<'_>,
        links: &Registry,
        held: &mut BinaryHeap<Reverse<Held>>,
        dup_bytes: &mut usize,
        arrivals: u64,
    ) {
        // Our own duplicates, and anything that is no impaired server's (a chain outliving its
        // link for a moment), go on untouched.
        let link = (packet.mark != DUP_MARK)
            .then(|| classify(packet.payload))
            .flatten()
            .and_then(|(key_dst, key_src, _)| links.find(key_dst).or_else(|| links.find(key_src)));
        let Some(link) = link else {
            self.verdict(packet.id, NF_ACCEPT);
            return;
        };
        let choice = link.choose();
        if choice.drop {
            self.verdict(packet.id, NF_DROP);
            link.lost(packet.payload);
            return;
        }
        let dup = (choice.duplicate && self.can_duplicate())
            .then(|| classify(packet.payload).map(|(_, _, to)| (to, packet.payload.to_vec())))
            .flatten();
        if choice.hold.is_zero() {
            self.verdict(packet.id, NF_ACCEPT);
            if let Some((to, bytes)) = dup {
                self.duplicate(to, &bytes);
            }
            return;
        }
        let dup_size = dup.as_ref().map_or(0, |(_, b)| b.len());
        if held.len() >= MAX_HELD || !link.hold() || *dup_bytes + dup_size > MAX_DUP_BYTES {
            link.overflowed();
            self.verdict(packet.id, NF_ACCEPT);
            return;
        }
        *dup_bytes += dup_size;
        held.push(Reverse(Held {
            due: Instant::now() + choice.hold,
            n: arrivals,
            id: packet.id,
            link,
            dup,
        }));
    }

    fn verdict(&self, id: u32, verdict: u32) {
        let mut m = Msg::new(
            SUBSYS_QUEUE << 8 | MSG_VERDICT,
            NLM_F_REQUEST,
            0,
            libc::AF_UNSPEC as u8,
            self.queue,
        );
        let mut hdr = verdict.to_be_bytes().to_vec();
        hdr.extend_from_slice(&id.to_be_bytes());
        m.attr(ATTR_VERDICT_HDR, &hdr);
        if let Err(e) = netlink::send(self.fd.get_ref(), &m.finish()) {
            tracing::warn!("impairment verdict for packet {id}: {e}");
        }
    }

    /// Sends a copy of an IP packet back into the kernel, marked to pass the queue.
    fn duplicate(&self, to: SocketAddr, bytes: &[u8]) {
        let fd = match to {
            SocketAddr::V4(_) => self.dup4.as_ref(),
            SocketAddr::V6(_) => self.dup6.as_ref(),
        };
        let Some(fd) = fd else { return };
        // A raw socket's destination has no port (the packet's own header has it).
        let to = socket2::SockAddr::from(SocketAddr::new(to.ip(), 0));
        // SAFETY: `bytes` and `to` are valid for the lengths given.
        let n = unsafe {
            libc::sendto(
                fd.as_raw_fd(),
                bytes.as_ptr().cast(),
                bytes.len(),
                0,
                to.as_ptr().cast(),
                to.len(),
            )
        };
        if n < 0 {
            tracing::debug!("duplicate: {}", io::Error::last_os_error());
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// One queued packet, as the kernel sent it.
struct Packet<'a> {
    id: u32,
    mark: u32,
    payload: &'a [u8],
}

impl<'a> Packet<'a> {
    fn parse(body: &'a [u8]) -> Option<Packet<'a>> {
        let mut id = None;
        let mut mark = 0;
        let mut payload: &[u8] = &[];
        for (kind, data) in netlink::attributes(body.get(4..)?) {
            match kind {
                ATTR_PACKET_HDR if data.len() >= 4 => {
                    id = Some(u32::from_be_bytes(data[..4].try_into().ok()?));
                }
                ATTR_MARK if data.len() >= 4 => {
                    mark = u32::from_be_bytes(data[..4].try_into().ok()?)
                }
                ATTR_PAYLOAD => payload = data,
                _ => {}
            }
        }
        Some(Packet {
            id: id?,
            mark,
            payload,
        })
    }
}

/// An IP packet's (destination key, source key, destination address) for TCP and UDP; `None`
/// for anything else (and for IP fragments after the first: they carry no ports).
fn classify(ip: &[u8]) -> Option<(Key, Key, SocketAddr)> {
    let (family, proto, l4, src, dst): (Family, u8, &[u8], IpAddr, IpAddr) = match ip.first()? >> 4
    {
        4 => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let fragment_offset = u16::from_be_bytes([*ip.get(6)?, *ip.get(7)?]) & 0x1fff;
            if fragment_offset != 0 {
                return None;
            }
            let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            (
                Family::Ipv4,
                *ip.get(9)?,
                ip.get(ihl..)?,
                Ipv4Addr::from(src).into(),
                Ipv4Addr::from(dst).into(),
            )
        }
        6 => {
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            (
                Family::Ipv6,
                *ip.get(6)?,
                ip.get(40..)?,
                Ipv6Addr::from(src).into(),
                Ipv6Addr::from(dst).into(),
            )
        }
        _ => return None,
    };
    let transport = match i32::from(proto) {
        libc::IPPROTO_TCP => Transport::Tcp,
        libc::IPPROTO_UDP => Transport::Udp,
        _ => return None,
    };
    let sport = u16::from_be_bytes([*l4.first()?, *l4.get(1)?]);
    let dport = u16::from_be_bytes([*l4.get(2)?, *l4.get(3)?]);
    Some((
        (family, transport, dport),
        (family, transport, sport),
        SocketAddr::new(dst, dport),
    ))
    .filter(|_| src.is_loopback() || dst.is_loopback())
}

fn set_int(fd: &impl AsRawFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: an int option of the size given.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            std::mem::size_of::<i32>() as u32,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A raw socket that sends whole IP packets (header included), marked with [`DUP_MARK`].
fn raw_socket(family: i32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; the fd is owned right away.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::IPPROTO_RAW,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket() and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    set_int(&fd, libc::SOL_SOCKET, libc::SO_MARK, DUP_MARK as i32)?;
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_tcp_and_udp_by_both_ports_and_skips_later_fragments() {
        let mut v4 = vec![0u8; 28];
        v4[0] = 0x45;
        v4[9] = libc::IPPROTO_UDP as u8;
        v4[12..16].copy_from_slice(&[127, 0, 0, 1]);
        v4[16..20].copy_from_slice(&[127, 0, 0, 1]);
        v4[20..22].copy_from_slice(&40000u16.to_be_bytes());
        v4[22..24].copy_from_slice(&8081u16.to_be_bytes());
        let (dst, src, to) = classify(&v4).unwrap();
        assert_eq!(dst, (Family::Ipv4, Transport::Udp, 8081));
        assert_eq!(src, (Family::Ipv4, Transport::Udp, 40000));
        assert_eq!(to, "127.0.0.1:8081".parse().unwrap());
        v4[7] = 8; // fragment offset 64 bytes: no ports here
        assert!(classify(&v4).is_none());
        let mut v6 = vec![0u8; 60];
        v6[0] = 0x60;
        v6[6] = libc::IPPROTO_TCP as u8;
        v6[23] = 1;
        v6[39] = 1;
        v6[40..42].copy_from_slice(&8080u16.to_be_bytes());
        v6[42..44].copy_from_slice(&50000u16.to_be_bytes());
        let (dst, src, _) = classify(&v6).unwrap();
        assert_eq!(dst, (Family::Ipv6, Transport::Tcp, 50000));
        assert_eq!(src, (Family::Ipv6, Transport::Tcp, 8080));
    }
}
