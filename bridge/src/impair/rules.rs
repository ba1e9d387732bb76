//! The nf_tables rules that hand a lab server's packets to the bridge's queue.
//!
//! The bridge keeps two tables of its own, `socket_lab_<queue>` in the `ip` and `ip6` families
//! (named after its queue number, which is its HTTP port, so two bridges on one machine never
//! share one). An impaired lab server gets a chain of its own in its family's table, hooked on
//! `output` — on loopback every packet, in either direction, leaves through `output` exactly
//! once — with two rules:
//!
//! ```text
//! oif "lo" <tcp|udp> dport <port> queue num <queue> bypass
//! oif "lo" <tcp|udp> sport <port> queue num <queue> bypass
//! ```
//!
//! so only the packets to and from that server's port are queued; nothing else is touched.
//! `bypass` lets packets through should the bridge stop listening. The queueing is xtables'
//! `NFQUEUE` target through nf_tables' compatibility layer, because this kernel's nf_tables has
//! no native `queue` (CONFIG_NFT_QUEUE unset) — the same thing `iptables-nft -j NFQUEUE` writes.
//! The tables are deleted when the bridge starts (whatever a crash left) and when it stops.

use super::netlink::{self, Msg, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REQUEST};
use protocol::{Family, Transport};
use std::io;
use std::os::fd::OwnedFd;
use std::time::Duration;

const SUBSYS_NFTABLES: u16 = 10;
const BATCH_BEGIN: u16 = 0x10;
const BATCH_END: u16 = 0x11;
const NEWTABLE: u16 = 0;
const DELTABLE: u16 = 2;
const NEWCHAIN: u16 = 3;
const DELCHAIN: u16 = 5;
const NEWRULE: u16 = 6;
const DELRULE: u16 = 8;

const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;
const NF_INET_LOCAL_OUT: u32 = 3;
const NF_ACCEPT: u32 = 1;
const NFT_REG_1: u32 = 1;
const NFT_META_OIF: u32 = 5;
const NFT_META_L4PROTO: u32 = 16;
const NFT_PAYLOAD_TRANSPORT_HEADER: u32 = 2;
const NFT_CMP_EQ: u32 = 0;
/// `NFQ_FLAG_BYPASS`: accept the packet when nobody listens on the queue.
const NFQ_FLAG_BYPASS: u16 = 0x01;

/// A netlink reply should come at once; this bounds a wait that would otherwise hang.
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// The bridge's nf_tables tables.
pub(crate) struct Rules {
    fd: OwnedFd,
    queue: u16,
    seq: u32,
    loopback: u32,
}

impl Rules {
    /// Opens a netlink socket for rule changes (blocking, with a timeout: rule changes are rare
    /// and quick, and run on a blocking thread).
    pub(crate) fn open(queue: u16) -> io::Result<Rules> {
        let fd = netlink::socket(false)?;
        let timeout = libc::timeval {
            tv_sec: REPLY_TIMEOUT.as_secs() as libc::time_t,
            tv_usec: 0,
        };
        // SAFETY: a valid timeval for SO_RCVTIMEO.
        unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&raw const timeout).cast(),
                std::mem::size_of::<libc::timeval>() as u32,
            )
        };
        // SAFETY: a NUL-terminated name.
        let loopback = unsafe { libc::if_nametoindex(c"lo".as_ptr()) };
        if loopback == 0 {
            return Err(io::Error::other("there is no loopback interface"));
        }
        Ok(Rules {
            fd,
            queue,
            seq: 0,
            loopback,
        })
    }

    /// The table's name (the same in both families).
    pub(crate) fn table(&self) -> String {
        format!("socket_lab_{}", self.queue)
    }

    /// Deletes both tables if they exist (what a crashed bridge on this port left), then creates
    /// them empty.
    pub(crate) fn reset(&mut self) -> io::Result<()> {
        self.delete_tables();
        let table = self.table();
        let msgs = [NFPROTO_IPV4, NFPROTO_IPV6]
            .map(|family| self.msg(NEWTABLE, NLM_F_CREATE, family, |m| m.str(1, &table)));
        self.batch(msgs.into())
    }

    /// Deletes both tables and everything in them (no error if they are gone already).
    pub(crate) fn delete_tables(&mut self) {
        let table = self.table();
        for family in [NFPROTO_IPV4, NFPROTO_IPV6] {
            let msg = self.msg(DELTABLE, 0, family, |m| m.str(1, &table));
            let _ = self.batch(vec![msg]);
        }
    }

    /// The chain's name for a lab server's port.
    fn chain(transport: Transport, port: u16) -> String {
        match transport {
            Transport::Tcp => format!("tcp_{port}"),
            Transport::Udp => format!("udp_{port}"),
        }
    }

    /// Queues every packet to and from `port` (TCP or UDP, on loopback, in `family`).
    pub(crate) fn add(
        &mut self,
        family: Family,
        transport: Transport,
        port: u16,
    ) -> io::Result<()> {
        let (table, chain) = (self.table(), Self::chain(transport, port));
        let nfproto = nfproto(family);
        let mut msgs = vec![self.msg(NEWCHAIN, NLM_F_CREATE, nfproto, |m| {
            m.str(1, &table) // NFTA_CHAIN_TABLE
                .str(3, &chain) // NFTA_CHAIN_NAME
                .nest(4) // NFTA_CHAIN_HOOK
                .be32(1, NF_INET_LOCAL_OUT)
                .be32(2, 0) // priority: filter
                .end()
                .be32(5, NF_ACCEPT) // NFTA_CHAIN_POLICY
                .str(7, "filter") // NFTA_CHAIN_TYPE
        })];
        let l4 = match transport {
            Transport::Tcp => libc::IPPROTO_TCP as u8,
            Transport::Udp => libc::IPPROTO_UDP as u8,
        };
        let (queue, loopback) = (self.queue, self.loopback);
        for offset in [2, 0] {
            // dport is at offset 2 of the TCP/UDP header, sport at 0.
            msgs.push(
                self.msg(NEWRULE, NLM_F_CREATE | NLM_F_APPEND, nfproto, |m| {
                    m.str(1, &table).str(2, &chain).nest(4); // NFTA_RULE_EXPRESSIONS
                    meta(m, NFT_META_OIF);
                    cmp(m, &loopback.to_ne_bytes());
                    meta(m, NFT_META_L4PROTO);
                    cmp(m, &[l4]);
                    payload(m, offset);
                    cmp(m, &port.to_be_bytes());
                    nfqueue(m, queue);
                    m.end()
                }),
            );
        }
        self.batch(msgs)
    }

    /// Removes a port's chain and its rules.
    pub(crate) fn remove(
        &mut self,
        family: Family,
        transport: Transport,
        port: u16,
    ) -> io::Result<()> {
        let (table, chain) = (self.table(), Self::chain(transport, port));
        let nfproto = nfproto(family);
        let msgs = vec![
            // A rule message naming only the chain deletes all its rules.
            self.msg(DELRULE, 0, nfproto, |m| m.str(1, &table).str(2, &chain)),
            self.msg(DELCHAIN, 0, nfproto, |m| m.str(1, &table).str(3, &chain)),
        ];
        self.batch(msgs)
    }

    fn msg(
        &mut self,
        kind: u16,
        flags: u16,
        family: u8,
        attrs: impl FnOnce(&mut Msg) -> &mut Msg,
    ) -> (u32, Vec<u8>) {
        self.seq = self.seq.wrapping_add(1);
        let mut m = Msg::new(
            SUBSYS_NFTABLES << 8 | kind,
            NLM_F_REQUEST | NLM_F_ACK | flags,
            self.seq,
            family,
            0,
        );
        attrs(&mut m);
        (self.seq, m.finish())
    }

    /// Sends messages as one transaction (all or nothing) and waits for each one's answer;
    /// returns the first error.
    fn batch(&mut self, msgs: Vec<(u32, Vec<u8>)>) -> io::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let begin = Msg::new(BATCH_BEGIN, NLM_F_REQUEST, self.seq, 0, SUBSYS_NFTABLES).finish();
        self.seq = self.seq.wrapping_add(1);
        let end = Msg::new(BATCH_END, NLM_F_REQUEST, self.seq, 0, SUBSYS_NFTABLES).finish();
        let mut bytes = begin;
        let mut waiting: Vec<u32> = vec![];
        for (seq, msg) in msgs {
            bytes.extend_from_slice(&msg);
            waiting.push(seq);
        }
        bytes.extend_from_slice(&end);
        netlink::send(&self.fd, &bytes)?;
        let mut first_error = None;
        let mut buf = vec![0u8; 16 * 1024];
        while !waiting.is_empty() {
            let n = netlink::recv(&self.fd, &mut buf)?;
            for msg in netlink::messages(&buf[..n]) {
                if let Some(errno) = msg.error() {
                    waiting.retain(|&s| s != msg.seq);
                    if errno != 0 && first_error.is_none() {
                        first_error = Some(io::Error::from_raw_os_error(errno));
                    }
                }
            }
            // After an error the kernel aborts the transaction and answers no further message.
            if first_error.is_some() {
                break;
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

fn nfproto(family: Family) -> u8 {
    match family {
        Family::Ipv4 => NFPROTO_IPV4,
        Family::Ipv6 => NFPROTO_IPV6,
    }
}

/// `[ meta load <key> => reg 1 ]`
fn meta(m: &mut Msg, key: u32) {
    expr(m, "meta", |m| m.be32(1, NFT_REG_1).be32(2, key));
}

/// `[ cmp eq reg 1 <value> ]`
fn cmp(m: &mut Msg, value: &[u8]) {
    expr(m, "cmp", |m| {
        m.be32(1, NFT_REG_1)
            .be32(2, NFT_CMP_EQ)
            .nest(3)
            .attr(1, value)
            .end()
    });
}

/// `[ payload load 2b @ transport header + <offset> => reg 1 ]`
fn payload(m: &mut Msg, offset: u32) {
    expr(m, "payload", |m| {
        m.be32(1, NFT_REG_1)
            .be32(2, NFT_PAYLOAD_TRANSPORT_HEADER)
            .be32(3, offset)
            .be32(4, 2)
    });
}

/// `[ target name NFQUEUE rev 3 ]` with `struct xt_NFQ_info_v3` (host byte order, padded to 8).
fn nfqueue(m: &mut Msg, queue: u16) {
    let mut info = [0u8; 8];
    info[..2].copy_from_slice(&queue.to_ne_bytes());
    info[2..4].copy_from_slice(&1u16.to_ne_bytes()); // queues_total
    info[4..6].copy_from_slice(&NFQ_FLAG_BYPASS.to_ne_bytes());
    expr(m, "target", |m| {
        m.str(1, "NFQUEUE").be32(2, 3).attr(3, &info)
    });
}

fn expr(m: &mut Msg, name: &str, data: impl FnOnce(&mut Msg) -> &mut Msg) {
    m.nest(1).str(1, name).nest(2); // NFTA_LIST_ELEM { NFTA_EXPR_NAME, NFTA_EXPR_DATA }
    data(m);
    m.end().end();
}
