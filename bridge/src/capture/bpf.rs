//! The kernel-side filter: a classic BPF program the kernel runs on every loopback frame before
//! it reaches our socket, so uninteresting packets are never even queued.
//!
//! It keeps TCP and UDP over IPv4 and IPv6 and drops everything to or from the bridge's own HTTP
//! port: capturing the WebSocket that carries the packets would feed itself. Which of the kept
//! packets belong to which session is decided in user space, by address (see `capture/mod.rs`),
//! because the lab servers' ports come and go.

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

fn stmt(code: u16, k: u32) -> Insn {
    Insn {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Insn {
    Insn { code, jt, jf, k }
}

/// Bytes of a packet kept: enough for any loopback frame (65,535 + headers).
const KEEP: u32 = 0x40000;

/// The program for "TCP or UDP, IPv4 or IPv6, not port `http_port`" on Ethernet frames.
pub(crate) fn program(http_port: u16) -> Vec<Insn> {
    let port = u32::from(http_port);
    // Jump offsets count instructions to skip after the current one.
    vec![
        /* 0 */ stmt(LD | H | ABS, 12), // ethertype
        /* 1 */ jump(JMP | JEQ | K, 0x0800, 0, 11), // IPv4? else → 13
        /* 2 */ stmt(LD | B | ABS, 23), // IPv4 protocol
        /* 3 */ jump(JMP | JEQ | K, 6, 1, 0), // TCP → 5
        /* 4 */ jump(JMP | JEQ | K, 17, 0, 17), // UDP, else → reject (22)
        /* 5 */ stmt(LD | H | ABS, 20), // flags + fragment offset
        /* 6 */
        jump(JMP | JSET | K, 0x1fff, 15, 0), // a later fragment: no ports → reject
        /* 7 */ stmt(LDX | B | MSH, 14), // X = IPv4 header length
        /* 8 */ stmt(LD | H | IND, 14), // source port
        /* 9 */ jump(JMP | JEQ | K, port, 12, 0), // → reject
        /* 10 */ stmt(LD | H | IND, 16), // destination port
        /* 11 */ jump(JMP | JEQ | K, port, 10, 0), // → reject
        /* 12 */ stmt(RET | K, KEEP),
        /* 13 */ jump(JMP | JEQ | K, 0x86dd, 0, 8), // IPv6? else → reject
        /* 14 */
        stmt(LD | B | ABS, 20), // next header (no extension headers on loopback)
        /* 15 */ jump(JMP | JEQ | K, 6, 1, 0), // TCP → 17
        /* 16 */ jump(JMP | JEQ | K, 17, 0, 5), // UDP, else → reject
        /* 17 */ stmt(LD | H | ABS, 54), // source port
        /* 18 */ jump(JMP | JEQ | K, port, 3, 0),
        /* 19 */ stmt(LD | H | ABS, 56), // destination port
        /* 20 */ jump(JMP | JEQ | K, port, 1, 0),
        /* 21 */ stmt(RET | K, KEEP),
        /* 22 */ stmt(RET | K, 0),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_jump_lands_inside_the_program_on_a_return() {
        let prog = program(8000);
        for (i, insn) in prog.iter().enumerate() {
            if insn.code & 0x07 == JMP {
                for off in [insn.jt, insn.jf] {
                    let to = i + 1 + off as usize;
                    assert!(to < prog.len(), "insn {i} jumps out");
                }
            }
        }
        assert_eq!(prog.last().unwrap().code, RET | K);
        assert_eq!(prog.last().unwrap().k, 0, "the last instruction rejects");
        // The reject targets of the port checks are the final "return 0".
        for i in [9, 11] {
            assert_eq!(i + 1 + prog[i].jt as usize, 22);
        }
        for i in [18, 20] {
            let to = i + 1 + prog[i].jt as usize;
            assert_eq!(to, 22);
        }
    }
}
