//! The kernel-side filter: a classic BPF program the kernel runs on every loopback frame before
//! it reaches our ring, so uninteresting packets are never even copied.
//!
//! It keeps what a session's sockets can cause on the wire — TCP and UDP over IPv4 and IPv6,
//! the ICMP and ICMPv6 errors about them ("port unreachable"), IP fragments (a datagram over the
//! MTU: the later fragments carry no ports), IPv6 with extension headers — and drops everything
//! to or from the bridge's own HTTP port: capturing the WebSocket that carries the packets would
//! feed itself. Which of the kept packets belong to which session is decided in user space, by
//! address (see `capture/mod.rs`), because the lab servers' ports come and go.
//!
//! The program is written with labels ([`Op`]) and assembled into jump offsets by [`assemble`],
//! so that adding a check cannot silently break a hand-counted jump; the tests run it, with a
//! small interpreter, over real frames.

/// One BPF instruction (`struct sock_filter`).
pub(crate) type Insn = libc::sock_filter;

// The instruction classes and modes of classic BPF (linux/filter.h).
const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const H: u16 = 0x08;
const B: u16 = 0x10;
const ABS: u16 = 0x20;
const IND: u16 = 0x40;
const MSH: u16 = 0xa0;
const JEQ: u16 = 0x10;
const JSET: u16 = 0x40;
const K: u16 = 0x00;

/// Bytes of a packet kept: enough for any loopback frame (65,535 + headers).
const KEEP: u32 = 0x40000;

/// Where a jump goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum To {
    Next,
    Label(&'static str),
}

/// One instruction, with symbolic jump targets.
enum Op {
    Label(&'static str),
    Load(u16, u32),
    /// Jump to `yes` if the accumulator `code`-compares true with `k`, else to `no`.
    Jump(u16, u32, To, To),
    Ret(u32),
}

use Op::*;
use To::{Label as L, Next};

/// The program for "TCP, UDP, ICMP(v6) or a fragment, over IPv4 or IPv6, not port `http_port`"
/// on Ethernet frames.
pub(crate) fn program(http_port: u16) -> Vec<Insn> {
    let port = u32::from(http_port);
    assemble(&[
        Load(LD | H | ABS, 12), // ethertype
        Jump(JEQ, 0x0800, Next, L("ipv6")),
        // IPv4
        Load(LD | B | ABS, 23),        // protocol
        Jump(JEQ, 1, L("keep"), Next), // ICMP: errors about our sockets
        Jump(JEQ, 6, L("v4 ports"), Next),
        Jump(JEQ, 17, L("v4 ports"), L("drop")),
        Label("v4 ports"),
        Load(LD | H | ABS, 20),              // flags + fragment offset
        Jump(JSET, 0x1fff, L("keep"), Next), // a later fragment: no ports to check
        Load(LDX | B | MSH, 14),             // X = IPv4 header length
        Load(LD | H | IND, 14),              // source port
        Jump(JEQ, port, L("drop"), Next),
        Load(LD | H | IND, 16), // destination port
        Jump(JEQ, port, L("drop"), L("keep")),
        // IPv6
        Label("ipv6"),
        Jump(JEQ, 0x86dd, Next, L("drop")),
        Load(LD | B | ABS, 20), // next header
        Jump(JEQ, 6, L("v6 ports"), Next),
        // UDP has ports to check; anything else (ICMPv6, a fragment header, other extension
        // headers) is kept and sorted out in user space.
        Jump(JEQ, 17, L("v6 ports"), L("keep")),
        Label("v6 ports"),
        Load(LD | H | ABS, 54),
        Jump(JEQ, port, L("drop"), Next),
        Load(LD | H | ABS, 56),
        Jump(JEQ, port, L("drop"), L("keep")),
        Label("keep"),
        Ret(KEEP),
        Label("drop"),
        Ret(0),
    ])
}

/// Resolves labels into the offsets classic BPF jumps by (instructions to skip, forward only).
fn assemble(ops: &[Op]) -> Vec<Insn> {
    let mut at = std::collections::HashMap::new();
    let mut n = 0usize;
    for op in ops {
        match op {
            Label(name) => {
                at.insert(*name, n);
            }
            _ => n += 1,
        }
    }
    let mut out = Vec::with_capacity(n);
    for op in ops {
        let here = out.len();
        let offset = |to: To| -> u8 {
            match to {
                Next => 0,
                L(name) => {
                    let target = at[name];
                    assert!(target > here, "BPF jumps only forward: {name}");
                    u8::try_from(target - here - 1).expect("a jump fits in a byte")
                }
            }
        };
        match *op {
            Label(_) => {}
            Load(code, k) => out.push(Insn {
                code,
                jt: 0,
                jf: 0,
                k,
            }),
            Jump(cmp, k, yes, no) => out.push(Insn {
                code: JMP | cmp | K,
                jt: offset(yes),
                jf: offset(no),
                k,
            }),
            Ret(k) => out.push(Insn {
                code: RET | K,
                jt: 0,
                jf: 0,
                k,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    /// Runs `prog` over `frame` as the kernel would (the subset of classic BPF used above);
    /// returns how many bytes it keeps.
    fn run(prog: &[Insn], frame: &[u8]) -> u32 {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let byte = |i: usize| u32::from(*frame.get(i).unwrap_or(&0));
        let half = |i: usize| byte(i) << 8 | byte(i + 1);
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                c if c == LD | H | ABS => a = half(i.k as usize),
                c if c == LD | B | ABS => a = byte(i.k as usize),
                c if c == LD | H | IND => a = half((x + i.k) as usize),
                c if c == LDX | B | MSH => x = (byte(i.k as usize) & 0xf) * 4,
                c if c == JMP | JEQ | K => {
                    pc += usize::from(if a == i.k { i.jt } else { i.jf });
                }
                c if c == JMP | JSET | K => {
                    pc += usize::from(if a & i.k != 0 { i.jt } else { i.jf });
                }
                c if c == RET | K => return i.k,
                other => panic!("unexpected instruction {other:#x}"),
            }
        }
    }

    const HTTP: u16 = 8000;

    fn tcp4(src: u16, dst: u16) -> Vec<u8> {
        let mut f = vec![];
        PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .tcp(src, dst, 1, 65535)
            .write(&mut f, b"hi")
            .unwrap();
        f
    }

    fn udp6(src: u16, dst: u16) -> Vec<u8> {
        let mut f = vec![];
        PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv6([0; 16], [0; 16], 64)
            .udp(src, dst)
            .write(&mut f, b"hi")
            .unwrap();
        f
    }

    #[test]
    fn keeps_the_labs_traffic_and_drops_the_bridges_own_web_traffic() {
        let prog = program(HTTP);
        assert_eq!(run(&prog, &tcp4(40000, 8080)), KEEP);
        assert_eq!(
            run(&prog, &tcp4(40000, HTTP)),
            0,
            "the WebSocket to the bridge"
        );
        assert_eq!(run(&prog, &tcp4(HTTP, 40000)), 0, "and back");
        assert_eq!(run(&prog, &udp6(40000, 8081)), KEEP);
        assert_eq!(run(&prog, &udp6(HTTP, 40000)), 0);
        let mut tcp6 = vec![];
        PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv6([0; 16], [0; 16], 64)
            .tcp(40000, HTTP, 1, 100)
            .write(&mut tcp6, b"")
            .unwrap();
        assert_eq!(run(&prog, &tcp6), 0);
        // An ARP frame, or anything that is not IP, is not ours.
        let mut arp = tcp4(1, 2);
        arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        assert_eq!(run(&prog, &arp), 0);
    }

    #[test]
    fn keeps_icmp_errors_and_fragments_which_carry_no_ports() {
        let prog = program(HTTP);
        // ICMP port unreachable (IPv4 protocol 1): kept whatever it quotes.
        let mut icmp = vec![];
        PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
                etherparse::icmpv4::DestUnreachableHeader::Port,
            ))
            .write(&mut icmp, &[0; 28])
            .unwrap();
        assert_eq!(run(&prog, &icmp), KEEP);
        // An IPv4 later fragment: offset ≠ 0, its payload is not a UDP header.
        let mut later = tcp4(HTTP, HTTP);
        later[23] = 17;
        later[20..22].copy_from_slice(&0x00b9u16.to_be_bytes()); // offset 185 × 8 bytes
        assert_eq!(run(&prog, &later), KEEP);
        // IPv6: ICMPv6 (58) and a fragment header (44) are kept.
        for next in [58u8, 44] {
            let mut f = udp6(HTTP, HTTP);
            f[20] = next;
            assert_eq!(run(&prog, &f), KEEP, "next header {next}");
        }
    }

    #[test]
    fn every_jump_lands_inside_the_program() {
        let prog = program(8000);
        for (i, insn) in prog.iter().enumerate() {
            if insn.code & 0x07 == JMP {
                for off in [insn.jt, insn.jf] {
                    assert!(i + 1 + (off as usize) < prog.len(), "insn {i} jumps out");
                }
            }
        }
        assert_eq!(prog.last().unwrap().code, RET | K);
        assert_eq!(prog.last().unwrap().k, 0, "the last instruction drops");
    }
}
