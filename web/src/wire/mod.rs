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

#[derive(Default)]
pub(crate) struct WireState {
    packets: VecDeque<(Captured, Option<Arrow>)>,
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
    /// returns its number.
    pub(crate) fn push(
        &mut self,
        at_us: u64,
        socket: Option<SocketId>,
        frame: Vec<u8>,
        lost: bool,
    ) -> u64 {
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
