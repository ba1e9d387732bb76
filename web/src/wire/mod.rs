//! The wire view's model: the session's captured packets, decoded, each with its arrow of the
//! sequence diagram worked out once on arrival.
//!
//! Packets arrive as raw frames (`packet` events); each is decoded once, analysed with what its
//! connection did before ([`flow::Flow`]), and kept, at most [`MAX_PACKETS`], with its time on the
//! console's clock (µs since the console's first session began: packets of sessions before a
//! reconnect keep their place).

pub(crate) mod decode;
pub(crate) mod flow;
pub(crate) mod layers;
pub(crate) mod pcap;
pub(crate) mod pcapng;

#[cfg(test)]
mod captured_tests;

use crate::vec_map::VecMap;
use flow::{Arrow, Captured, Flow};
use protocol::{CaptureState, SocketId, TcpInfo};
use std::collections::VecDeque;

/// Packets kept; the oldest go first (and the timeline says how many went). 10,000 are a long
/// lesson's worth (a few hundred KB) and what the pcap download holds.
pub(crate) const MAX_PACKETS: usize = 10_000;

/// The kernel's last word on one of the session's TCP connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KernelState {
    pub(crate) state: String,
    pub(crate) info: Option<TcpInfo>,
    pub(crate) timer_ms: Option<u64>,
}

/// What the timeline marked on one connection (see [`WireState::loss_marks`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LossMarks {
    pub(crate) lost: u64,
    pub(crate) fast: u64,
    pub(crate) timer: u64,
    pub(crate) dupacks: u64,
}

/// How long a packet the impaired link dropped waits for the captured packets sent before it.
/// The bridge reports a drop the moment its link decides it, but captured packets reach it in
/// blocks up to 2 ms old (the bridge's `capture::ring::RETIRE_MS`) and may wait 1 ms more to
/// share a write (`session::FLUSH_DELAY`): a dropped data segment used to overtake the SYN-ACK
/// before it, and was then read without the handshake (an absolute ack, the third handshake
/// packet no longer named). 50 ms covers both delays many times over on a busy bridge.
pub(crate) const LOST_WAIT_US: u64 = 50_000;

/// Dropped packets held back at once (a 100 % loss link drops at the sender's pace; beyond this
/// the oldest goes in as it is).
const MAX_HELD: usize = 64;

/// A packet the link dropped, waiting for its place in time.
struct Held {
    at_us: u64,
    socket: Option<SocketId>,
    frame: Vec<u8>,
}

#[derive(Default)]
pub(crate) struct WireState {
    packets: VecDeque<(Captured, Option<Arrow>)>,
    /// Dropped packets not yet in `packets`, oldest first (see [`LOST_WAIT_US`]).
    held: VecDeque<Held>,
    next: u64,
    flow: Flow,
    /// What the bridge said about capture; `None` until its `hello` (say nothing before).
    pub(crate) capture: Option<CaptureState>,
    pub(crate) relative: bool,
    states: VecMap<SocketId, KernelState>,
}

impl WireState {
    pub(crate) fn new() -> WireState {
        WireState {
            relative: true,
            ..WireState::default()
        }
    }

    /// A packet, at `at_us` on the console's clock (`lost`: the impaired link dropped it);
    /// returns the numbers of the packets taken in, in time order.
    ///
    /// Packets are analysed in the order they were sent, so that each is read with what its
    /// connection did before: a dropped packet (reported at once) is held until a captured packet
    /// sent after it arrives, or [`LOST_WAIT_US`] has passed (see [`WireState::release`]).
    pub(crate) fn push(
        &mut self,
        at_us: u64,
        socket: Option<SocketId>,
        frame: Vec<u8>,
        lost: bool,
    ) -> Vec<u64> {
        let mut numbers = vec![];
        if lost {
            let at = self.held.partition_point(|h| h.at_us <= at_us);
            self.held.insert(
                at,
                Held {
                    at_us,
                    socket,
                    frame,
                },
            );
            if self.held.len() > MAX_HELD
                && let Some(h) = self.held.pop_front()
            {
                numbers.push(self.take_in(h.at_us, h.socket, h.frame, true));
            }
            return numbers;
        }
        numbers.extend(self.release_before(at_us));
        numbers.push(self.take_in(at_us, socket, frame, false));
        numbers
    }

    /// Takes in the dropped packets held for [`LOST_WAIT_US`] by `now_us` (the console's clock,
    /// as the bridge's latest event says it); returns their numbers.
    pub(crate) fn release(&mut self, now_us: u64) -> Vec<u64> {
        self.release_before(now_us.saturating_sub(LOST_WAIT_US).saturating_add(1))
    }

    /// Takes in the held packets sent before `at_us`.
    fn release_before(&mut self, at_us: u64) -> Vec<u64> {
        let mut numbers = vec![];
        while self.held.front().is_some_and(|h| h.at_us < at_us) {
            let Some(h) = self.held.pop_front() else {
                break;
            };
            numbers.push(self.take_in(h.at_us, h.socket, h.frame, true));
        }
        numbers
    }

    fn take_in(&mut self, at_us: u64, socket: Option<SocketId>, frame: Vec<u8>, lost: bool) -> u64 {
        if self.packets.len() == MAX_PACKETS {
            self.packets.pop_front();
        }
        let segment = decode::decode(&frame);
        let other = segment
            .is_none()
            .then(|| decode::decode_other(&frame))
            .flatten();
        let captured = Captured {
            number: self.next,
            at_us,
            socket,
            frame,
            segment,
            other,
            lost,
        };
        let arrow = self.flow.arrow(&captured);
        self.packets.push_back((captured, arrow));
        self.next += 1;
        self.next - 1
    }

    /// What TCP did about loss on the connection whose client is `client`, from the arrows
    /// kept: (packets the link dropped, fast retransmits, retransmissions after a timer,
    /// duplicate ACKs).
    pub(crate) fn loss_marks(&self, client: std::net::SocketAddr) -> LossMarks {
        let mut marks = LossMarks::default();
        for a in self.packets.iter().filter_map(|(_, a)| a.as_ref()) {
            if a.client != client {
                continue;
            }
            marks.lost += u64::from(a.lost);
            match a.note {
                Some(flow::Note::Retransmission { dupacks, .. }) if dupacks > 0 => marks.fast += 1,
                Some(flow::Note::Retransmission { .. }) => marks.timer += 1,
                Some(flow::Note::DupAck(_)) => marks.dupacks += 1,
                _ => {}
            }
        }
        marks
    }

    /// The packet numbered `number`, if kept.
    pub(crate) fn packet(&self, number: u64) -> Option<&Captured> {
        self.entry(number).map(|(p, _)| p)
    }

    /// The arrow of packet `number`, if kept and drawn.
    pub(crate) fn arrow(&self, number: u64) -> Option<&Arrow> {
        self.entry(number).and_then(|(_, a)| a.as_ref())
    }

    fn entry(&self, number: u64) -> Option<&(Captured, Option<Arrow>)> {
        let first = self.packets.front()?.0.number;
        self.packets.get(number.checked_sub(first)? as usize)
    }

    /// Every packet kept, oldest first.
    pub(crate) fn packets(&self) -> impl Iterator<Item = &Captured> {
        self.packets.iter().map(|(p, _)| p)
    }

    pub(crate) fn pcap(&self, epoch_us: u64) -> Vec<u8> {
        // The file holds what the capture saw: not the packets the link dropped before the wire.
        pcap::write(
            epoch_us,
            self.packets.iter().map(|(p, _)| p).filter(|p| !p.lost),
        )
    }

    pub(crate) fn set_state(&mut self, id: SocketId, state: KernelState) {
        self.states.insert(id, state);
        while self.states.len() > 32 {
            self.states.pop_first();
        }
    }

    pub(crate) fn states(&self) -> impl Iterator<Item = (&SocketId, &KernelState)> {
        self.states.iter()
    }

    pub(crate) fn state(&self, id: SocketId) -> Option<&KernelState> {
        self.states.get(&id)
    }

    /// Forgets the kernel states (the connections are gone with their session).
    pub(crate) fn clear_states(&mut self) {
        self.states.clear();
    }

    /// Whether a packet of `socket` in `phase` was captured (an ICMP error, a reset, …).
    pub(crate) fn saw(&self, socket: SocketId, phase: flow::Phase) -> bool {
        self.packets
            .iter()
            .any(|(p, a)| p.socket == Some(socket) && a.as_ref().is_some_and(|a| a.phase == phase))
    }

    /// Packets of `socket` whose payload is exactly `data` (a message in the log ↔ its segments).
    pub(crate) fn carrying(&self, socket: SocketId, data: &[u8]) -> Vec<u64> {
        self.packets
            .iter()
            .map(|(p, _)| p)
            .filter(|p| p.socket == Some(socket))
            .filter(|p| {
                p.segment
                    .as_ref()
                    .is_some_and(|s| !s.payload.is_empty() && s.payload == data)
            })
            .map(|p| p.number)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::decode::build;
    use super::flow::{Note, Phase};
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn a_dropped_segment_reported_before_the_handshake_is_read_after_it() {
        let (c, s) = (50000, 8080);
        let (x, y) = (1_000_000, 7_000);
        let mut w = WireState::new();
        let data = |at| (at, build::tcp(c, s, x + 1, Some(y + 1), "P", None, b"hi"));
        assert_eq!(
            w.push(
                100,
                Some(1),
                build::tcp(c, s, x, None, "S", None, b""),
                false
            ),
            [0]
        );
        // The link dropped the first data segment: the bridge says so before the SYN-ACK and
        // the ACK, captured earlier, reach the console.
        let (lost_at, lost) = data(130);
        assert!(w.push(lost_at, Some(1), lost, true).is_empty(), "held back");
        let syn_ack = build::tcp(s, c, y, Some(x + 1), "S", None, b"");
        assert_eq!(w.push(110, Some(1), syn_ack, false), [1]);
        let ack = build::tcp(c, s, x + 1, Some(y + 1), "", None, b"");
        assert_eq!(w.push(120, Some(1), ack, false), [2]);
        // The retransmission, captured 200 ms later, lets the dropped segment in first.
        let (again_at, again) = data(200_130);
        assert_eq!(w.push(again_at, Some(1), again, false), [3, 4]);

        let times: Vec<u64> = w.packets().map(|p| p.at_us).collect();
        assert_eq!(
            times,
            [100, 110, 120, 130, 200_130],
            "numbered in the order sent"
        );
        let third = w.arrow(2).unwrap();
        assert_eq!(
            (third.phase, third.note),
            (Phase::Handshake(3), Some(Note::AckIsSeqPlusOne))
        );
        let dropped = w.arrow(3).unwrap();
        assert!(dropped.lost);
        assert_eq!(
            (dropped.seq(true), dropped.ack(true)),
            (1, Some(1)),
            "relative to the ISNs"
        );
        assert!(matches!(
            w.arrow(4).unwrap().note,
            Some(Note::Retransmission { .. })
        ));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_dropped_packet_with_nothing_after_it_goes_in_once_its_wait_is_over() {
        let mut w = WireState::new();
        let datagram = build::udp(50000, 8081, b"7");
        assert!(w.push(1_000, Some(2), datagram, true).is_empty());
        assert!(w.release(1_000 + LOST_WAIT_US - 1).is_empty());
        assert_eq!(w.release(1_000 + LOST_WAIT_US), [0]);
        assert!(w.packet(0).is_some_and(|p| p.lost && p.at_us == 1_000));
        assert!(w.release(u64::MAX).is_empty(), "taken in once");
    }
}
