//! From captured segments to the arrows of a sequence diagram.
//!
//! For each TCP connection it finds the client (who sent the first SYN), each side's initial
//! sequence number (to show relative numbers, as Wireshark does), each side's window-scale
//! option (a window is scaled only when both SYNs carried the option, and never on the SYNs
//! themselves), and which segments are the handshake and the teardown. It also checks the
//! relations the tutorial teaches on the real numbers: the SYN-ACK's ack is the client's
//! sequence number + 1, and the third segment's ack is the server's + 1.
//!
//! On a lossy link it also marks what TCP does about loss, as Wireshark's analysis does: a
//! segment whose bytes were sent before is a retransmission (after duplicate ACKs: a fast
//! retransmit; after none: a timer fired, and how long the sender waited since it last sent
//! those bytes); a bare ACK repeating the previous one while data is outstanding is a duplicate
//! ACK. A packet the link dropped (`lost`) counts as sent — it did leave the sender.

use super::decode::{Other, Proto, Segment};
use crate::vec_map::VecMap;
use protocol::SocketId;
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

/// What part of a conversation a segment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Step 1, 2 or 3 of the three-way handshake.
    Handshake(u8),
    Data,
    /// A segment of the teardown (a FIN, or an ACK after one).
    Teardown,
    /// A reset: the connection is refused or aborted.
    Reset,
    /// Anything else (a bare ACK while data flows).
    Other,
    /// A UDP datagram: no handshake, no teardown.
    Datagram,
    /// An ICMP or ICMPv6 error about one of the session's packets.
    Icmp,
    /// A piece of a datagram larger than the link's MTU.
    Fragment,
}

/// A relation the lesson points out, checked on the real numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Note {
    /// This ack is the peer's initial sequence number + 1 (the SYN counts as one byte).
    AckIsSeqPlusOne,
    /// These bytes were sent before: `dupacks` duplicate ACKs came first (a fast retransmit
    /// when there were some), and the sender last sent them `waited_us` ago.
    Retransmission { dupacks: u32, waited_us: u64 },
    /// The `n`th bare ACK in a row with the same number while data is outstanding: the
    /// receiver is telling the sender that a segment is missing.
    DupAck(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Arrow {
    /// Which captured packet (its number in the wire list).
    pub(crate) packet: u64,
    /// When the kernel saw it, on the console's clock (µs).
    pub(crate) at_us: u64,
    pub(crate) proto: Proto,
    /// Client → server (or the reverse).
    pub(crate) to_server: bool,
    pub(crate) client: SocketAddr,
    pub(crate) server: SocketAddr,
    /// "SYN", "SYN-ACK", "PSH-ACK", … "UDP", "ICMP".
    pub(crate) label: String,
    /// The sequence and acknowledgement numbers as sent.
    pub(crate) seq: u32,
    pub(crate) ack: Option<u32>,
    /// The initial sequence numbers they count from (the sender's, the peer's), once known.
    pub(crate) bases: (Option<u32>, Option<u32>),
    pub(crate) len: usize,
    /// The window in bytes, scaled when the handshake agreed on scaling.
    pub(crate) window: Option<u32>,
    pub(crate) phase: Phase,
    pub(crate) note: Option<Note>,
    pub(crate) socket: Option<SocketId>,
    /// An ICMP error's (type, code), or a fragment's (offset, more fragments).
    pub(crate) detail: Option<(u32, u32)>,
    /// The impaired link dropped it: it never reached the other end.
    pub(crate) lost: bool,
}

impl Arrow {
    /// The sequence number, relative to the sender's initial one (as Wireshark shows it) or
    /// as sent.
    pub(crate) fn seq(&self, relative: bool) -> u32 {
        rel(self.seq, self.bases.0, relative)
    }

    /// The acknowledgement number, relative to the peer's initial one or as sent.
    pub(crate) fn ack(&self, relative: bool) -> Option<u32> {
        self.ack.map(|a| rel(a, self.bases.1, relative))
    }
}

fn rel(n: u32, base: Option<u32>, relative: bool) -> u32 {
    match (relative, base) {
        (true, Some(b)) => n.wrapping_sub(b),
        _ => n,
    }
}

/// One packet as the wire view keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Captured {
    pub(crate) number: u64,
    /// When the kernel saw it, on the console's clock (µs).
    pub(crate) at_us: u64,
    pub(crate) socket: Option<SocketId>,
    pub(crate) frame: Vec<u8>,
    pub(crate) segment: Option<Segment>,
    /// What it is when it is not a segment (an ICMP error, a fragment).
    pub(crate) other: Option<Other>,
    /// Dropped by the session's impaired link (not captured on the wire: reported by the
    /// bridge with the kernel's bytes).
    pub(crate) lost: bool,
}

#[derive(Default)]
struct Conn {
    client: Option<SocketAddr>,
    /// Initial sequence numbers: (client's, server's).
    isn: (Option<u32>, Option<u32>),
    /// Window-scale options of the SYNs: (client's, server's).
    wscale: (Option<u8>, Option<u8>),
    handshake_done: bool,
    fin_seen: bool,
    /// Per direction (to the server, to the client): what TCP's loss analysis needs.
    dir: [Direction; 2],
    /// When the client's last SYN went (a SYN sent again means the first got no answer: a
    /// full accept queue, or a lossy link).
    syn_at: Option<u64>,
}

/// One direction of a connection.
#[derive(Default)]
struct Direction {
    /// The end of the highest byte sent so far (sequence number space).
    high: Option<u32>,
    /// The latest transmissions, (seq, end, when): to find when bytes were last sent.
    sent: VecDeque<(u32, u32, u64)>,
    /// The last bare ACK's number and window, and how many repeated it.
    last_ack: Option<(u32, u32)>,
    dupacks: u32,
}

/// Transmissions remembered per direction, to time a retransmission against the last sending
/// of the same bytes; older ones are forgotten (the wait is then left out).
const MAX_SENT: usize = 64;

/// `a` is before `b` in sequence space (which wraps at 2^32).
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

fn key(s: &Segment) -> (Proto, SocketAddr, SocketAddr) {
    let (a, b) = if s.src <= s.dst {
        (s.src, s.dst)
    } else {
        (s.dst, s.src)
    };
    (s.proto, a, b)
}

/// Connections followed at once: a session has at most a few dozen; the oldest is forgotten
/// first (its later packets are then drawn as if caught midway).
const MAX_CONNECTIONS: usize = 256;

/// Fragmented datagrams remembered (their first piece's ends), for their later pieces.
const MAX_FRAGMENTED: usize = 64;

/// The conversations seen so far: each packet's arrow is worked out once, on arrival, from what
/// its connection did before (the handshake's numbers, window scaling, a FIN).
#[derive(Default)]
pub(crate) struct Flow {
    conns: VecMap<Ends, Conn>,
    /// Oldest first, to forget the oldest connection past [`MAX_CONNECTIONS`].
    order: VecDeque<Ends>,
    /// A fragmented datagram's (source, destination, IP id), and whose it is.
    fragments: VecDeque<((IpAddr, IpAddr, u32), Ends)>,
}

/// A conversation's protocol and its two ends (client first).
type Ends = (Proto, SocketAddr, SocketAddr);

impl Flow {
    /// The arrow of packet `p`, if it is one the diagram draws.
    pub(crate) fn arrow(&mut self, p: &Captured) -> Option<Arrow> {
        if let Some(other) = &p.other {
            return self.other(p, other);
        }
        let s = p.segment.as_ref()?;
        let k = key(s);
        if self.conns.get(&k).is_none() {
            if self.order.len() == MAX_CONNECTIONS
                && let Some(old) = self.order.pop_front()
            {
                self.conns.remove(&old);
            }
            self.order.push_back(k);
        }
        let c = self.conns.get_or_default(k);
        // The client is who sent the first SYN (or, for UDP and connections caught midway, who
        // sent first).
        let client = *c.client.get_or_insert(if s.flags.syn && s.flags.ack {
            s.dst
        } else {
            s.src
        });
        let to_server = s.src == client;
        let server = if to_server { s.dst } else { s.src };
        let mut arrow = Arrow {
            packet: p.number,
            at_us: p.at_us,
            proto: s.proto,
            to_server,
            client,
            server,
            label: "UDP".into(),
            seq: 0,
            ack: None,
            bases: (None, None),
            len: s.payload.len(),
            window: None,
            phase: Phase::Datagram,
            note: None,
            socket: p.socket,
            detail: None,
            lost: p.lost,
        };
        if s.proto == Proto::Udp {
            return Some(arrow);
        }
        let mut syn_again = None;
        if s.flags.syn && !s.flags.ack && to_server {
            if c.isn.0 == Some(s.seq) {
                let waited_us = c.syn_at.map_or(0, |at| p.at_us.saturating_sub(at));
                syn_again = Some(Note::Retransmission {
                    dupacks: 0,
                    waited_us,
                });
            }
            c.syn_at = Some(p.at_us);
        }
        if s.flags.syn {
            if to_server {
                c.isn.0 = Some(s.seq);
                c.wscale.0 = s.wscale;
            } else {
                c.isn.1 = Some(s.seq);
                c.wscale.1 = s.wscale;
            }
        }
        let (own_isn, peer_isn) = if to_server {
            (c.isn.0, c.isn.1)
        } else {
            (c.isn.1, c.isn.0)
        };
        let mut note = None;
        let phase = if s.flags.rst {
            Phase::Reset
        } else if s.flags.syn && !s.flags.ack {
            Phase::Handshake(1)
        } else if s.flags.syn {
            if Some(s.ack) == peer_isn.map(|i| i.wrapping_add(1)) {
                note = Some(Note::AckIsSeqPlusOne);
            }
            Phase::Handshake(2)
        } else if !c.handshake_done && to_server && c.isn.1.is_some() && s.payload.is_empty() {
            c.handshake_done = true;
            if Some(s.ack) == peer_isn.map(|i| i.wrapping_add(1)) {
                note = Some(Note::AckIsSeqPlusOne);
            }
            Phase::Handshake(3)
        } else if s.flags.fin || c.fin_seen {
            c.fin_seen = true;
            Phase::Teardown
        } else if !s.payload.is_empty() {
            Phase::Data
        } else {
            Phase::Other
        };
        if !s.flags.syn && !matches!(phase, Phase::Handshake(_)) {
            c.handshake_done = true;
        }
        // Scaling applies only if both SYNs offered it, and never to the SYNs themselves.
        let shift = match (c.wscale, to_server) {
            ((Some(cs), Some(_)), true) => cs,
            ((Some(_), Some(ss)), false) => ss,
            _ => 0,
        };
        let window = if s.flags.syn {
            u32::from(s.window)
        } else {
            u32::from(s.window) << shift
        };
        arrow.label = s.flags.name();
        arrow.seq = s.seq;
        arrow.ack = s.flags.ack.then_some(s.ack);
        arrow.bases = (own_isn, peer_isn);
        arrow.window = Some(window);
        arrow.phase = phase;
        if !s.flags.syn && !s.flags.rst {
            note = loss_note(c, s, to_server, window, p.at_us).or(note);
        }
        note = syn_again.or(note);
        arrow.note = note;
        Some(arrow)
    }

    /// The arrow of an ICMP error (from the side that refused, to the sender of the packet it
    /// quotes) or of a fragment (in the direction of its datagram).
    fn other(&mut self, p: &Captured, other: &Other) -> Option<Arrow> {
        let (proto, client, server, to_server, label, len, phase, detail) = match other {
            Other::Icmp {
                kind, quoted, v6, ..
            } => {
                let (proto, sender, receiver) = (*quoted)?;
                let label = if *v6 { "ICMPv6" } else { "ICMP" };
                let detail = (u32::from(kind.0), u32::from(kind.1));
                (
                    proto,
                    sender,
                    receiver,
                    false,
                    label,
                    0,
                    Phase::Icmp,
                    Some(detail),
                )
            }
            Other::Fragment {
                from,
                to,
                id,
                offset,
                more,
                len,
                ends,
            } => {
                let key = (*from, *to, *id);
                let ends = match ends {
                    Some(e) => {
                        if self.fragments.len() == MAX_FRAGMENTED {
                            self.fragments.pop_front();
                        }
                        self.fragments.push_back((key, *e));
                        *e
                    }
                    None => self.fragments.iter().rev().find(|(k, _)| *k == key)?.1,
                };
                let (proto, src, dst) = ends;
                // Who is the client: whoever the conversation says, else the sender.
                let k = key_of(proto, src, dst);
                let client = self.conns.get(&k).and_then(|c| c.client).unwrap_or(src);
                let to_server = src == client;
                let server = if to_server { dst } else { src };
                let detail = (*offset, u32::from(*more));
                (
                    proto,
                    client,
                    server,
                    to_server,
                    "IP",
                    *len,
                    Phase::Fragment,
                    Some(detail),
                )
            }
        };
        Some(Arrow {
            packet: p.number,
            at_us: p.at_us,
            proto,
            to_server,
            client,
            server,
            label: label.into(),
            seq: 0,
            ack: None,
            bases: (None, None),
            len,
            window: None,
            phase,
            note: None,
            socket: p.socket,
            detail,
            lost: p.lost,
        })
    }
}

/// A retransmission or a duplicate ACK, from what this direction and the other did before.
fn loss_note(c: &mut Conn, s: &Segment, to_server: bool, window: u32, at: u64) -> Option<Note> {
    let (d, o) = if to_server { (0, 1) } else { (1, 0) };
    let len = s.payload.len() as u32 + u32::from(s.flags.fin);
    if len > 0 {
        let end = s.seq.wrapping_add(len);
        let dir = &mut c.dir[d];
        let mut note = None;
        if dir.high.is_some_and(|high| before(s.seq, high)) {
            let last = dir
                .sent
                .iter()
                .rev()
                .find(|&&(from, to, _)| !before(s.seq, from) && before(s.seq, to))
                .map(|&(_, _, when)| when);
            note = Some(Note::Retransmission {
                dupacks: c.dir[o].dupacks,
                waited_us: last.map_or(0, |when| at.saturating_sub(when)),
            });
            c.dir[o].dupacks = 0;
        }
        let dir = &mut c.dir[d];
        if dir.high.is_none_or(|high| before(high, end)) {
            dir.high = Some(end);
        }
        if dir.sent.len() == MAX_SENT {
            dir.sent.pop_front();
        }
        dir.sent.push_back((s.seq, end, at));
        return note;
    }
    if !s.flags.ack {
        return None;
    }
    // A bare ACK: the same number and window as the previous one, with the other side's data
    // beyond it still unacknowledged, is a duplicate.
    let outstanding = c.dir[o].high.is_some_and(|high| before(s.ack, high));
    let dir = &mut c.dir[d];
    let repeat = dir.last_ack == Some((s.ack, window));
    dir.last_ack = Some((s.ack, window));
    if repeat && outstanding {
        dir.dupacks += 1;
        Some(Note::DupAck(dir.dupacks))
    } else {
        dir.dupacks = 0;
        None
    }
}

fn key_of(proto: Proto, a: SocketAddr, b: SocketAddr) -> (Proto, SocketAddr, SocketAddr) {
    if a <= b { (proto, a, b) } else { (proto, b, a) }
}

/// The arrows of `packets`, in order (tests and one-off uses; the wire view keeps a [`Flow`]).
#[cfg(test)]
pub(crate) fn arrows<'a>(packets: impl IntoIterator<Item = &'a Captured>) -> Vec<Arrow> {
    let mut flow = Flow::default();
    packets.into_iter().filter_map(|p| flow.arrow(p)).collect()
}

#[cfg(test)]
mod tests {
    use super::super::decode::{build, decode};
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn captured(frames: Vec<Vec<u8>>) -> Vec<Captured> {
        frames
            .into_iter()
            .enumerate()
            .map(|(i, frame)| Captured {
                number: i as u64,
                at_us: 100 + i as u64 * 10,
                socket: Some(1),
                segment: decode(&frame),
                other: None,
                frame,
                lost: false,
            })
            .collect()
    }

    /// A handshake, one message each way, and Linux's three-segment teardown.
    fn conversation() -> Vec<Captured> {
        let (c, s) = (50000, 8080);
        let (x, y) = (1_000_000, 7_000);
        captured(vec![
            build::tcp(c, s, x, None, "S", Some(7), b""),
            build::tcp(s, c, y, Some(x + 1), "S", Some(7), b""),
            build::tcp(c, s, x + 1, Some(y + 1), "", None, b""),
            build::tcp(c, s, x + 1, Some(y + 1), "P", None, b"hi"),
            build::tcp(s, c, y + 1, Some(x + 3), "P", None, b"HI"),
            build::tcp(c, s, x + 3, Some(y + 3), "F", None, b""),
            build::tcp(s, c, y + 3, Some(x + 4), "F", None, b""),
            build::tcp(c, s, x + 4, Some(y + 4), "", None, b""),
        ])
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn the_handshake_is_labelled_and_its_acks_are_seq_plus_one() {
        let a = arrows(&conversation());
        let phases: Vec<Phase> = a.iter().map(|a| a.phase).collect();
        assert_eq!(
            phases,
            [
                Phase::Handshake(1),
                Phase::Handshake(2),
                Phase::Handshake(3),
                Phase::Data,
                Phase::Data,
                Phase::Teardown,
                Phase::Teardown,
                Phase::Teardown
            ]
        );
        let labels: Vec<&str> = a.iter().map(|a| a.label.as_str()).collect();
        assert_eq!(labels[..3], ["SYN", "SYN-ACK", "ACK"]);
        assert_eq!(a[1].note, Some(Note::AckIsSeqPlusOne));
        assert_eq!(a[2].note, Some(Note::AckIsSeqPlusOne));
        // Relative numbers: both sides start at 0; the SYN counts as one.
        assert_eq!(
            (a[0].seq(true), a[1].seq(true), a[1].ack(true)),
            (0, 0, Some(1))
        );
        assert_eq!((a[3].seq(true), a[3].len, a[4].ack(true)), (1, 2, Some(3)));
        assert!(a[0].to_server && !a[1].to_server);
        assert_eq!(a[7].at_us, 170, "the packet's own time");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_lost_segment_brings_duplicate_acks_then_its_retransmission() {
        let (c, s) = (50000, 8080);
        let (x, y) = (1_000_000, 7_000);
        let mut packets = captured(vec![
            build::tcp(c, s, x, None, "S", None, b""),
            build::tcp(s, c, y, Some(x + 1), "S", None, b""),
            build::tcp(c, s, x + 1, Some(y + 1), "", None, b""),
            build::tcp(c, s, x + 1, Some(y + 1), "P", None, b"aaaa"), // 3: lost on the link
            build::tcp(c, s, x + 5, Some(y + 1), "P", None, b"bbbb"),
            build::tcp(s, c, y + 1, Some(x + 1), "", None, b""), // 5: "still waiting for x+1"
            build::tcp(c, s, x + 9, Some(y + 1), "P", None, b"cccc"),
            build::tcp(s, c, y + 1, Some(x + 1), "", None, b""), // 7: duplicate ACK 1
            build::tcp(s, c, y + 1, Some(x + 1), "", None, b""), // 8: duplicate ACK 2
            build::tcp(c, s, x + 1, Some(y + 1), "P", None, b"aaaa"), // 9: fast retransmit
            build::tcp(s, c, y + 1, Some(x + 13), "", None, b""),
            build::tcp(c, s, x + 13, Some(y + 1), "P", None, b"dddd"), // 11: lost too
            build::tcp(c, s, x + 13, Some(y + 1), "P", None, b"dddd"), // 12: after a timeout
        ]);
        packets[3].lost = true;
        packets[11].lost = true;
        packets[12].at_us = packets[11].at_us + 200_000;
        let a = arrows(&packets);
        assert!(a[3].lost && !a[4].lost);
        let notes: Vec<Option<Note>> = a.iter().map(|a| a.note).collect();
        assert_eq!(
            notes[5], None,
            "the first ACK of a number is not a duplicate"
        );
        assert_eq!(notes[7], Some(Note::DupAck(1)));
        assert_eq!(notes[8], Some(Note::DupAck(2)));
        assert_eq!(
            notes[9],
            Some(Note::Retransmission {
                dupacks: 2,
                waited_us: 60
            })
        );
        assert_eq!(notes[10], None, "a new ACK");
        assert_eq!(
            notes[12],
            Some(Note::Retransmission {
                dupacks: 0,
                waited_us: 200_000
            })
        );
        assert!(notes[3..=4].iter().all(Option::is_none), "first sendings");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_syn_sent_again_is_marked_with_the_wait() {
        let (c, s) = (50000, 8080);
        let mut packets = captured(vec![
            build::tcp(c, s, 77, None, "S", None, b""),
            build::tcp(c, s, 77, None, "S", None, b""),
        ]);
        packets[1].at_us = packets[0].at_us + 1_000_000;
        let a = arrows(&packets);
        assert_eq!(a[0].note, None);
        assert_eq!(
            a[1].note,
            Some(Note::Retransmission {
                dupacks: 0,
                waited_us: 1_000_000
            })
        );
        assert_eq!(a[1].phase, Phase::Handshake(1));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn absolute_numbers_and_scaled_windows_on_a_toggle() {
        let a = arrows(&conversation());
        assert_eq!(
            (a[0].seq(false), a[1].ack(false)),
            (1_000_000, Some(1_000_001))
        );
        // 512 on the wire; both SYNs offered scale 7 → 512 << 7 after the handshake.
        assert_eq!(a[0].window, Some(512), "a SYN's window is never scaled");
        assert_eq!(a[3].window, Some(512 << 7));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_wrong_ack_gets_no_note_and_udp_has_no_handshake() {
        let mut bad = conversation();
        bad[1] = captured(vec![build::tcp(
            8080,
            50000,
            7_000,
            Some(5),
            "S",
            None,
            b"",
        )])
        .remove(0);
        bad[1].number = 1;
        assert_eq!(arrows(&bad)[1].note, None);
        let udp = captured(vec![
            build::udp(40000, 8081, b"x"),
            build::udp(8081, 40000, b"X"),
        ]);
        let a = arrows(&udp);
        assert!(
            a.iter()
                .all(|a| a.phase == Phase::Datagram && a.label == "UDP")
        );
        assert!(a[0].to_server && !a[1].to_server);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_refused_connect_is_a_syn_answered_by_a_reset() {
        let a = arrows(&captured(vec![
            build::tcp(50000, 9, 42, None, "S", None, b""),
            build::tcp(9, 50000, 0, Some(43), "R", None, b""),
        ]));
        assert_eq!(a[1].phase, Phase::Reset);
        assert_eq!(a[1].label, "RST-ACK");
    }
}
