//! The console's log: what happened, as structured entries (text comes later, from the
//! presenter, in the learner's language).
//!
//! The log is bounded: past [`MAX_ENTRIES`] the oldest entries go. Each entry has a sequence
//! number, so the view can append only what is new and drop only what is gone.

use super::facts::Failure;
use protocol::{CloseBy, SocketId};
use std::collections::VecDeque;
use std::net::SocketAddr;

/// Entries kept: as many as the timeline keeps rows (the log is its transcript). The log's DOM
/// holds only the newest few hundred (see the view).
pub(crate) const MAX_ENTRIES: usize = super::timeline::MAX_ROWS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proto {
    Tcp,
    Udp,
}

impl From<protocol::Transport> for Proto {
    fn from(t: protocol::Transport) -> Proto {
        match t {
            protocol::Transport::Tcp => Proto::Tcp,
            protocol::Transport::Udp => Proto::Udp,
        }
    }
}

/// Whose call this was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The session's client socket (in the bridge, on the learner's behalf).
    Client,
    /// The echo server.
    Server,
    /// The bridge link itself, or the console.
    Bridge,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// When it happened (a call returned), in µs on the console's clock, for events that came
    /// from the bridge.
    pub(crate) t_us: Option<u64>,
    /// When the call was entered, on the same clock, for a call.
    pub(crate) called_us: Option<u64>,
    /// The call was entered before its session began (then `called_us` is the session's start
    /// and the call waited longer than the timeline can show).
    pub(crate) began_before: bool,
    pub(crate) proto: Option<Proto>,
    pub(crate) side: Side,
    pub(crate) what: What,
    /// The session's socket it is about, if any (to link it with that socket's packets).
    pub(crate) socket: Option<SocketId>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum What {
    Connected {
        local: SocketAddr,
        peer: SocketAddr,
        connect_us: u64,
    },
    /// A `send()`/`sendto()` of `len` bytes (the bridge's count), with the bytes when the console
    /// knows them (it typed them); experiments' sends show their count only. `connected`: a UDP
    /// socket `connect()`ed first, so the call was `send()`, not `sendto()`.
    Sent {
        len: usize,
        data: Option<Vec<u8>>,
        from: SocketAddr,
        to: SocketAddr,
        connected: bool,
    },
    Echo {
        data: Vec<u8>,
        from: SocketAddr,
        to: SocketAddr,
        rtt_us: Option<u64>,
    },
    Closing,
    Closed {
        by: CloseBy,
    },
    UdpClosed,
    ServerAccept {
        peer: SocketAddr,
    },
    ServerRecv {
        data: Vec<u8>,
    },
    ServerSend {
        len: usize,
    },
    ServerClose {
        error: Option<String>,
        /// The server closed because nothing came for this many seconds.
        idle_s: Option<u32>,
        /// The server closed first (told to), not after the client's FIN.
        active: bool,
        /// It waited this long after the client's FIN before `close()`.
        waited_ms: Option<u32>,
    },
    /// The kernel dropped datagrams at a UDP server (its buffer was full).
    UdpDropped {
        dropped: u64,
        rcvbuf: usize,
    },
    /// The bridge closed the session after `seconds` without a command.
    SessionIdle {
        seconds: u32,
    },
    /// The bridge closed the WebSocket: 1009 (a frame too large) or another `code`.
    BridgeClosed {
        code: u16,
    },
    ServerRecvFrom {
        peer: SocketAddr,
        data: Vec<u8>,
        /// The datagram's real size; more than `data.len()` when the buffer cut it.
        size: usize,
    },
    ServerMessage {
        data: Vec<u8>,
    },
    NoReply {
        waited_ms: u64,
    },
    ServerSendTo {
        peer: SocketAddr,
        len: usize,
    },
    Error {
        failure: Failure,
    },
    BridgeUp {
        url: String,
    },
    BridgeDown {
        url: String,
    },
    NoBridge,
    /// A click that needs a bridge while a recording plays: nothing is sent.
    NotLive,
    /// A recording (from URL or file `from`) plays instead of a live session; `unreachable` is
    /// the bridge URL that could not be reached, when that is why.
    Replay {
        from: String,
        unreachable: Option<String>,
    },
    ReplayFailed {
        from: String,
        why: String,
    },
    ReplayEnded,
    /// An experiment's number control out of its range: nothing was sent.
    OutOfRange(crate::experiments::OutOfRange),
    TooLarge {
        len: usize,
        max: usize,
    },
    BadFrame {
        reason: String,
    },
    /// A browser API the console called failed; `error` is the browser's error name
    /// (`NotReadableError`, `SyntaxError`, …), the same in every language.
    Browser {
        failed: BrowserCall,
        error: String,
    },
}

/// Which of the browser's calls failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BrowserCall {
    /// Reading a file the learner picked.
    ReadFile { file: String },
    /// `WebSocket.send()`.
    Send,
    /// `new WebSocket(url)`.
    Open { url: String },
}

#[derive(Debug, Default)]
pub(crate) struct Log {
    entries: VecDeque<Entry>,
    /// Sequence number of `entries[0]`.
    first_seq: u64,
    /// Entries dropped to keep [`MAX_ENTRIES`] (not those cleared by the learner).
    dropped: u64,
}

impl Log {
    /// Appends `entry`; returns its sequence number.
    pub(crate) fn push(&mut self, entry: Entry) -> u64 {
        if self.entries.len() == MAX_ENTRIES {
            self.entries.pop_front();
            self.first_seq += 1;
            self.dropped += 1;
        }
        self.entries.push_back(entry);
        self.end_seq() - 1
    }

    /// Entry `seq`, if kept.
    pub(crate) fn get(&self, seq: u64) -> Option<&Entry> {
        self.entries.get(seq.checked_sub(self.first_seq)? as usize)
    }

    /// Entries dropped to stay within [`MAX_ENTRIES`].
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Sequence number of the oldest entry kept.
    pub(crate) fn first_seq(&self) -> u64 {
        self.first_seq
    }

    /// Sequence number the next entry will get.
    pub(crate) fn end_seq(&self) -> u64 {
        self.first_seq + self.entries.len() as u64
    }

    /// The entries from sequence number `seq` on (clamped to what is kept).
    pub(crate) fn since(&self, seq: u64) -> impl Iterator<Item = (u64, &Entry)> {
        let skip = seq.saturating_sub(self.first_seq) as usize;
        (self.first_seq..).zip(self.entries.iter()).skip(skip)
    }

    pub(crate) fn clear(&mut self) {
        self.first_seq = self.end_seq();
        self.entries.clear();
    }

    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn entry(n: usize) -> Entry {
        Entry {
            t_us: None,
            called_us: None,
            began_before: false,
            socket: None,
            proto: None,
            side: Side::Bridge,
            what: What::ServerSend { len: n },
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn keeps_the_newest_entries_with_stable_sequence_numbers() {
        let mut log = Log::default();
        for n in 0..MAX_ENTRIES + 2 {
            log.push(entry(n));
        }
        assert_eq!(log.first_seq(), 2);
        assert_eq!(log.end_seq(), MAX_ENTRIES as u64 + 2);
        let (seq, first) = log.since(0).next().unwrap();
        assert_eq!((seq, first), (2, &entry(2)));
        assert_eq!(log.since(MAX_ENTRIES as u64 + 1).count(), 1);
        log.clear();
        assert_eq!(log.since(0).count(), 0);
        assert_eq!(log.first_seq(), log.end_seq());
    }
}
