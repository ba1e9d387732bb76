//! One clock for everything a session shows: `CLOCK_MONOTONIC`, in nanoseconds.
//!
//! The calls are timed by the tasks that make them; the packets by the kernel, which stamps them
//! with the *wall* clock (`CLOCK_REALTIME`: what a pcap file needs). The two clocks tick at the
//! same rate but start apart, so a packet's time is moved onto the monotonic clock by one offset,
//! measured here as closely as two clock reads allow ([`WallToMono`]). Then the order the
//! physics imposes holds on the numbers the bridge sends: a `send()` is entered before its
//! segment is on the wire, and the segment is on the wire before the `recv()` that read it
//! returns.

/// A point on the monotonic clock, in nanoseconds (what `Instant` counts, as a number).
pub(crate) type Mono = u64;

fn read(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Now, on the monotonic clock.
pub(crate) fn now() -> Mono {
    read(libc::CLOCK_MONOTONIC)
}

/// Moves wall-clock times (the kernel's packet timestamps) onto the monotonic clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WallToMono {
    /// wall − mono, in nanoseconds.
    offset: i128,
}

/// Pairs of clock reads taken to measure the offset; the tightest pair wins.
const SAMPLES: usize = 16;

impl WallToMono {
    /// Measures the offset: of several (mono, wall, mono) triples, the one whose two monotonic
    /// reads are closest brackets the wall read best; the wall read is placed at their middle.
    pub(crate) fn measure() -> WallToMono {
        let mut best: Option<(u64, i128)> = None;
        for _ in 0..SAMPLES {
            let before = now();
            let wall = read(libc::CLOCK_REALTIME);
            let after = now();
            let width = after - before;
            let middle = before + width / 2;
            let offset = i128::from(wall) - i128::from(middle);
            if best.is_none_or(|(w, _)| width < w) {
                best = Some((width, offset));
            }
        }
        WallToMono {
            offset: best.map(|(_, o)| o).unwrap_or(0),
        }
    }

    /// `wall_ns` (since the Unix epoch) on the monotonic clock.
    pub(crate) fn to_mono(self, wall_ns: u64) -> Mono {
        (i128::from(wall_ns) - self.offset).max(0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wall_time_taken_between_two_monotonic_reads_lands_between_them() {
        let offset = WallToMono::measure();
        for _ in 0..1000 {
            let before = now();
            let wall = read(libc::CLOCK_REALTIME);
            let after = now();
            let mono = offset.to_mono(wall);
            // Within a few microseconds (the measurement's own width), never far outside.
            assert!(
                mono + 20_000 >= before && mono <= after + 20_000,
                "{before} ≤ {mono} ≤ {after}"
            );
        }
    }
}
