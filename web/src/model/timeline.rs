//! The timeline: every call, packet and kernel state change of the console's sessions on one
//! clock, in time order — the one sequence the diagram draws and the log transcribes.
//!
//! Events reach the console in the order the bridge recorded them, but a packet's time is the
//! kernel's (a segment is on the wire *before* the `recv()` that reads it returns, and the
//! capture hands packets over a moment later), so each row is placed by its time, not appended.
//! Rows name what they show (a log entry, a packet, a state change); the stores keep the data.
//! The timeline is bounded ([`MAX_ROWS`]); it counts what it dropped, and the view says so.

use std::collections::VecDeque;

/// Rows kept. A long lesson (10,000 echoes: ~60,000 calls and packets) keeps its newest third;
/// each row is 16 bytes, the view draws only the visible ones.
pub(crate) const MAX_ROWS: usize = 20_000;

/// What one row of the timeline shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Row {
    /// Log entry `seq`: a call on one side, a note, an error.
    Entry(u64),
    /// Captured packet `number`.
    Packet(u64),
    /// A connection's kernel state changed: state change `n` (see [`Timeline::state`]).
    State(u64),
    /// A session with the bridge began (the first, or after a reconnect): the clock's origin
    /// moves with it, and the view marks it.
    Session,
}

/// A connection's kernel state, as it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StateChange {
    pub(crate) socket: protocol::SocketId,
    pub(crate) state: String,
    /// TIME_WAIT's time left, in ms.
    pub(crate) timer_ms: Option<u64>,
}

#[derive(Debug, Default)]
pub(crate) struct Timeline {
    /// (time in µs on the console's clock, row), sorted by time; equal times keep arrival order.
    rows: VecDeque<(u64, Row)>,
    dropped: u64,
    states: VecDeque<StateChange>,
    /// The number of `states[0]`.
    first_state: u64,
}

impl Timeline {
    /// Places `row` at `at_us`.
    pub(crate) fn insert(&mut self, at_us: u64, row: Row) {
        // Nearly always at the end; a packet lands a few rows back.
        let i = self.rows.partition_point(|&(t, _)| t <= at_us);
        self.rows.insert(i, (at_us, row));
        if self.rows.len() > MAX_ROWS {
            if let Some((_, Row::State(n))) = self.rows.pop_front() {
                // State changes go with their rows (they are in time order too).
                while self.first_state <= n && self.states.pop_front().is_some() {
                    self.first_state += 1;
                }
            }
            self.dropped += 1;
        }
    }

    /// A kernel state change at `at_us`.
    pub(crate) fn state_changed(&mut self, at_us: u64, change: StateChange) {
        let n = self.first_state + self.states.len() as u64;
        self.states.push_back(change);
        self.insert(at_us, Row::State(n));
    }

    pub(crate) fn state(&self, n: u64) -> Option<&StateChange> {
        self.states.get(n.checked_sub(self.first_state)? as usize)
    }

    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Row `i` (0 = the oldest kept) and its time.
    pub(crate) fn get(&self, i: usize) -> Option<(u64, Row)> {
        self.rows.get(i).copied()
    }

    /// The time of the newest row.
    pub(crate) fn last_time(&self) -> u64 {
        self.rows.back().map(|&(t, _)| t).unwrap_or(0)
    }

    /// Rows dropped to keep [`MAX_ROWS`].
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The index of the row showing `row`, if kept.
    #[cfg(test)]
    pub(crate) fn position(&self, row: Row) -> Option<usize> {
        self.rows.iter().rposition(|&(_, r)| r == row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn rows_are_placed_by_time_not_by_arrival() {
        let mut t = Timeline::default();
        t.insert(100, Row::Entry(0)); // send() returned
        t.insert(300, Row::Entry(1)); // the server's recv() returned
        t.insert(200, Row::Packet(0)); // the segment, captured at 200, handed over later
        t.insert(300, Row::Entry(2)); // same time: after the one that came first
        let rows: Vec<Row> = (0..t.len()).map(|i| t.get(i).unwrap().1).collect();
        assert_eq!(
            rows,
            [Row::Entry(0), Row::Packet(0), Row::Entry(1), Row::Entry(2)]
        );
        assert_eq!(t.position(Row::Packet(0)), Some(1));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_bounded_timeline_counts_what_it_dropped() {
        let mut t = Timeline::default();
        for i in 0..MAX_ROWS as u64 + 5 {
            if i % 2 == 0 {
                t.state_changed(
                    i,
                    StateChange {
                        socket: 1,
                        state: "ESTABLISHED".into(),
                        timer_ms: None,
                    },
                );
            } else {
                t.insert(i, Row::Entry(i));
            }
        }
        assert_eq!(t.len(), MAX_ROWS);
        assert_eq!(t.dropped(), 5);
        assert_eq!(t.get(0).unwrap().0, 5, "the oldest rows went");
        // The first kept state row still finds its change.
        let (_, row) = (0..t.len())
            .map(|i| t.get(i).unwrap())
            .find(|(_, r)| matches!(r, Row::State(_)))
            .unwrap();
        let Row::State(n) = row else { unreachable!() };
        assert!(t.state(n).is_some());
    }
}
