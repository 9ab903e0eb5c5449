//! The low-speed floor, as curl's `--speed-limit`/`--speed-time`: a body that
//! keeps delivering a byte now and then never trips the idle timeout, so a
//! trickling server would hold its download slot forever without it.
//!
//! The body's time is cut into windows of `time`; a window that ends having
//! averaged below `bytes_per_second` breaks the body. A slowdown is therefore
//! caught at most two windows after it began. Time spent waiting for the disk
//! (the pipeline's back-pressure) is not the network's and is left out.

use std::time::Duration;

use tokio::time::Instant;

/// A window that averaged below the floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TooSlow {
    /// The floor, in bytes per second.
    pub(super) bytes_per_second: u64,
    /// Bytes received in the window.
    pub(super) got: u64,
    /// How long the window lasted.
    pub(super) over: Duration,
}

/// Tracks one body's speed against a floor.
#[derive(Debug)]
pub(super) struct SpeedFloor {
    bytes_per_second: u64,
    window: Duration,
    start: Instant,
    bytes: u64,
}

impl SpeedFloor {
    /// A floor of `bytes_per_second` averaged over windows of `window`, the
    /// first starting at `now`.
    pub(super) fn new(bytes_per_second: u64, window: Duration, now: Instant) -> Self {
        Self {
            bytes_per_second,
            window,
            start: now,
            bytes: 0,
        }
    }

    /// When the current window ends, i.e. when to [`check`](Self::check) again
    /// if no data comes.
    pub(super) fn window_end(&self) -> Instant {
        self.start + self.window
    }

    /// Counts `bytes` that arrived at `now`, then checks.
    pub(super) fn record(&mut self, bytes: u64, now: Instant) -> Result<(), TooSlow> {
        self.bytes = self.bytes.saturating_add(bytes);
        self.check(now)
    }

    /// Judges the window if it is over: too slow, or a new window starts.
    pub(super) fn check(&mut self, now: Instant) -> Result<(), TooSlow> {
        let over = now.saturating_duration_since(self.start);
        if over < self.window {
            return Ok(());
        }
        // bytes / seconds < floor, without a float or an overflow.
        let needed = u128::from(self.bytes_per_second) * over.as_millis();
        if u128::from(self.bytes) * 1000 < needed {
            return Err(TooSlow {
                bytes_per_second: self.bytes_per_second,
                got: self.bytes,
                over,
            });
        }
        self.start = now;
        self.bytes = 0;
        Ok(())
    }

    /// Leaves `waited` (time the body was not being read) out of the window.
    pub(super) fn pause(&mut self, waited: Duration) {
        self.start += waited;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_trickle_is_too_slow_once_a_window_is_over() {
        let t0 = Instant::now();
        let mut floor = SpeedFloor::new(1024, 10 * SECOND, t0);
        assert_eq!(floor.window_end(), t0 + 10 * SECOND);
        // One byte every 2 s: fine until the window ends.
        for n in 1..5 {
            assert_eq!(floor.record(1, t0 + 2 * n * SECOND), Ok(()));
        }
        assert_eq!(
            floor.record(1, t0 + 10 * SECOND),
            Err(TooSlow {
                bytes_per_second: 1024,
                got: 5,
                over: 10 * SECOND
            })
        );
        // With no data at all, the timer's check says the same.
        let mut silent = SpeedFloor::new(1, SECOND, t0);
        assert_eq!(silent.check(t0 + SECOND / 2), Ok(()));
        assert!(silent.check(t0 + 2 * SECOND).is_err());
    }

    #[test]
    fn a_fast_window_starts_the_next_one() {
        let t0 = Instant::now();
        let mut floor = SpeedFloor::new(1000, SECOND, t0);
        assert_eq!(floor.record(1000, t0 + SECOND), Ok(()));
        assert_eq!(floor.window_end(), t0 + 2 * SECOND);
        // The next window is judged on its own bytes: 999 in 1 s is too few.
        assert_eq!(
            floor.record(999, t0 + 2 * SECOND),
            Err(TooSlow {
                bytes_per_second: 1000,
                got: 999,
                over: SECOND
            })
        );
    }

    #[test]
    fn time_waiting_for_the_disk_does_not_count() {
        let t0 = Instant::now();
        let mut floor = SpeedFloor::new(1000, SECOND, t0);
        floor.pause(5 * SECOND);
        assert_eq!(floor.record(1000, t0 + 6 * SECOND), Ok(()));
    }
}
