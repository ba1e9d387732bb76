//! The wire view's model: the session's captured packets, decoded, and what the learner selected.
//!
//! Packets arrive as raw frames (`packet` events); each is decoded once on arrival and kept, at
//! most [`MAX_PACKETS`], with its time in microseconds since the Unix epoch (so that packets of
//! sessions before a reconnect keep their place, and the pcap file has real dates).

pub(crate) mod decode;
pub(crate) mod flow;
pub(crate) mod layers;
pub(crate) mod pcap;

#[cfg(test)]
mod captured_tests;

use crate::vec_map::VecMap;
use flow::{Arrow, Captured};
use protocol::{CaptureState, SocketId, TcpInfo};
use std::collections::VecDeque;

/// Packets kept; the oldest go first.
pub(crate) const MAX_PACKETS: usize = 2000;

/// The kernel's last word on one of the session's TCP connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KernelState {
    pub(crate) state: String,
    pub(crate) info: Option<TcpInfo>,
    pub(crate) timer_ms: Option<u64>,
}

#[derive(Debug)]
pub(crate) struct WireState {
    packets: VecDeque<Captured>,
    next: u64,
    /// What the bridge said about capture; `None` until its `hello` (say nothing before).
    pub(crate) capture: Option<CaptureState>,
    pub(crate) started_unix_us: u64,
    pub(crate) relative: bool,
    states: VecMap<SocketId, KernelState>,
}

impl Default for WireState {
    fn default() -> Self {
        WireState {
            packets: VecDeque::new(),
            next: 0,
            capture: None,
            started_unix_us: 0,
            relative: true,
            states: VecMap::new(),
        }
    }
}

impl WireState {
    pub(crate) fn push(&mut self, at_us: u64, socket: Option<SocketId>, frame: Vec<u8>) {
        if self.packets.len() == MAX_PACKETS {
            self.packets.pop_front();
        }
        let segment = decode::decode(&frame);
        self.packets.push_back(Captured {
            number: self.next,
            at_us: self.started_unix_us + at_us,
            socket,
            frame,
            segment,
        });
        self.next += 1;
    }

    /// How many packets arrived so far (also the next packet's number).
    pub(crate) fn count(&self) -> u64 {
        self.next
    }

    pub(crate) fn arrows(&self) -> Vec<Arrow> {
        flow::arrows(&self.packets, self.relative)
    }

    pub(crate) fn packet(&self, number: u64) -> Option<&Captured> {
        self.packets.iter().find(|p| p.number == number)
    }

    pub(crate) fn pcap(&self) -> Vec<u8> {
        pcap::write(&self.packets)
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

    /// Packets of `socket` whose payload is exactly `data` (a message in the log ↔ its segments).
    pub(crate) fn carrying(&self, socket: SocketId, data: &[u8]) -> Vec<u64> {
        self.packets
            .iter()
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
