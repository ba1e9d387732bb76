//! Logging refusals without letting a client fill the log.
//!
//! The bridge logs why it refused a request (a foreign Host or Origin, an address over its
//! share, the bridge full), so the person running it can see what learners meet. A client that
//! retries in a loop would make that a line per attempt: thousands a second into journald or a
//! disk. So at most one refusal line is written per [`EVERY`], and the next one says how many
//! were left out meanwhile.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most one refusal line this often: a person reading the log still sees each kind of
/// refusal as it happens, and a loop of them costs one line a second.
pub(crate) const EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
pub(crate) struct Refusals {
    /// When a line was last written, and how many refusals were not written since.
    state: Mutex<(Option<Instant>, u64)>,
}

impl Refusals {
    /// Logs `what` (at INFO) unless a refusal was logged less than [`EVERY`] ago.
    pub(crate) fn log(&self, what: impl std::fmt::Display) {
        if let Some(skipped) = self.admit(Instant::now()) {
            if skipped > 0 {
                tracing::info!("{what} (and {skipped} more refusals not logged)");
            } else {
                tracing::info!("{what}");
            }
        }
    }

    /// May a line be written `now`? If so, how many refusals were left out before it.
    fn admit(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (last, skipped) = &mut *state;
        if last.is_some_and(|at| now.duration_since(at) < EVERY) {
            *skipped += 1;
            return None;
        }
        *last = Some(now);
        Some(std::mem::take(skipped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loop_of_refusals_is_one_line_a_second_saying_how_many_were_left_out() {
        let r = Refusals::default();
        let start = Instant::now();
        assert_eq!(r.admit(start), Some(0), "the first is written");
        for i in 1..1000 {
            let now = start + Duration::from_micros(i);
            assert_eq!(r.admit(now), None, "not within a second");
        }
        assert_eq!(
            r.admit(start + EVERY),
            Some(999),
            "then one, with the count"
        );
        assert_eq!(r.admit(start + EVERY), None);
        assert_eq!(r.admit(start + EVERY * 3), Some(1));
    }
}
