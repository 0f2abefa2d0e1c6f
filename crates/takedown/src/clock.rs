//! The worker's clock. Re-checks are days apart; a test cannot wait days, so the worker reads
//! the time from a [`Clock`] the test can move.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Unix milliseconds, from wherever the worker is told to read them.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> i64;
}

/// The system's clock: what production runs on.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
            })
    }
}

/// A clock that stands still until moved: clones share one time, so a test keeps one and
/// hands another to the worker.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn at(now: i64) -> ManualClock {
        ManualClock(Arc::new(AtomicI64::new(now)))
    }

    /// Moves the time on by `ms` milliseconds.
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_its_clones_follow() {
        let clock = ManualClock::at(1_000);
        let shared = clock.clone();
        assert_eq!(shared.now(), 1_000);
        clock.advance(86_400_000);
        assert_eq!(shared.now(), 86_401_000);
    }
}
