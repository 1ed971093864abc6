//! Wall-clock time behind a trait, so that tests pin it to the time of a recorded drand round
//! and production uses the system clock.

use std::{
    sync::atomic::{AtomicI64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

/// A source of Unix time.
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now_unix(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
    }
}

/// The system clock shifted by a fixed, adjustable offset (tests and replays of recorded data).
#[derive(Debug, Default)]
pub struct OffsetClock {
    offset: AtomicI64,
}

impl OffsetClock {
    /// A clock that reads `unix_time` now and advances in real time.
    pub fn starting_at(unix_time: u64) -> Self {
        let now = SystemClock.now_unix() as i64;
        Self {
            offset: AtomicI64::new(unix_time as i64 - now),
        }
    }

    /// Moves the clock by `seconds` (negative goes back).
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now_unix(&self) -> u64 {
        let now = SystemClock.now_unix() as i64;
        now.saturating_add(self.offset.load(Ordering::SeqCst))
            .max(0) as u64
    }
}
