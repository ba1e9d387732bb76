//! Waiting after a failed `accept()` without spinning and without giving up.
//!
//! `accept()` fails for reasons that pass: `EMFILE`/`ENFILE` (out of file descriptors until some
//! connection closes), `ENOBUFS`, `ECONNABORTED`. Retrying at once would spin a core at 100%
//! while the cause lasts; sleeping a fixed second would make every hiccup cost a second. The
//! wait doubles from [`FIRST`] to [`LAST`] while failures continue, and starts over after a
//! success.

use std::time::Duration;

/// The first wait: short, because most failures are momentary.
pub(crate) const FIRST: Duration = Duration::from_millis(5);
/// The longest wait: a server out of descriptors retries once a second at most.
pub(crate) const LAST: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub(crate) struct Backoff {
    next: Option<Duration>,
}

impl Backoff {
    /// How long the next wait will be.
    pub(crate) fn delay(&self) -> Duration {
        self.next.unwrap_or(FIRST)
    }

    /// Waits, and makes the next wait longer.
    pub(crate) async fn wait(&mut self) {
        let delay = self.delay();
        self.next = Some((delay * 2).min(LAST));
        tokio::time::sleep(delay).await;
    }

    /// A success: the next failure waits [`FIRST`] again.
    pub(crate) fn reset(&mut self) {
        self.next = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn doubles_up_to_a_second_and_starts_over_after_a_success() {
        let mut b = Backoff::default();
        let mut waits = vec![];
        for _ in 0..10 {
            let start = tokio::time::Instant::now();
            b.wait().await;
            waits.push(start.elapsed().as_millis());
        }
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        b.reset();
        assert_eq!(b.delay(), FIRST);
    }
}
