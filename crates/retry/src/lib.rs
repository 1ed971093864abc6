//! The one retry policy the relayer's chain client, the indexer's RPC source and its database
//! writer share: exponential backoff from `initial` to at most `max`, each delay plus a random
//! jitter within `(0, delay)` ([`backon`]), so many clients that failed together do not retry
//! together.
//!
//! ```
//! use std::time::Duration;
//! let delays: Vec<_> = veil_retry::Policy::new(Duration::from_millis(100), Duration::from_secs(2), 3)
//!     .delays()
//!     .collect();
//! assert_eq!(delays.len(), 3);
//! assert!(delays[0] >= Duration::from_millis(100) && delays[0] < Duration::from_millis(200));
//! ```

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// How a call is retried: the first delay, the longest, and how many retries at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The first retry's base delay; each retry doubles it.
    pub initial: Duration,
    /// The longest base delay.
    pub max: Duration,
    /// Retries after the first attempt (0: none).
    pub retries: u32,
}

impl Policy {
    /// A policy.
    pub const fn new(initial: Duration, max: Duration, retries: u32) -> Self {
        Self {
            initial,
            max,
            retries,
        }
    }

    /// The backon builder of this policy, for `Retryable::retry`.
    pub fn builder(&self) -> ExponentialBuilder {
        ExponentialBuilder::new()
            .with_min_delay(self.initial)
            .with_max_delay(self.max)
            .with_max_times(self.retries as usize)
            .with_jitter()
    }

    /// The delays before each retry, in order; the iterator ends when the retries are spent.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + Send {
        self.builder().build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_with_jitter_and_stop_after_the_retries() {
        let policy = Policy::new(Duration::from_millis(100), Duration::from_millis(800), 6);
        let runs: Vec<Vec<Duration>> = (0..20).map(|_| policy.delays().collect()).collect();
        for delays in &runs {
            assert_eq!(delays.len(), 6);
            for (i, delay) in delays.iter().enumerate() {
                let base = Duration::from_millis(100 * (1 << i)).min(Duration::from_millis(800));
                assert!(
                    *delay >= base && *delay < base * 2,
                    "retry {i}: {delay:?} not in [{base:?}, {:?})",
                    base * 2
                );
            }
        }
        // Jitter: twenty runs do not all wait the same.
        assert!(runs.iter().any(|r| r != &runs[0]), "no jitter in {runs:?}");
        assert_eq!(
            Policy::new(Duration::from_millis(1), Duration::from_millis(1), 0)
                .delays()
                .count(),
            0
        );
    }
}
