//! Rate limiting with the generic cell rate algorithm (GCRA), keyed by any string: the
//! relayer's API keys, and every service's client addresses ([`crate::client`]).
//!
//! A [`Quota`] of `rate_per_sec` with `burst` allows `burst` requests at once, then one every
//! emission interval `T = 1 s / rate_per_sec`. The only state per key is its *theoretical
//! arrival time* (TAT): the moment the key would be back to an empty bucket if requests
//! arrived exactly at the rate. A request at `now` is allowed iff
//! `max(TAT, now) + T - burst·T <= now`; if so the TAT becomes `max(TAT, now) + T`, and if not,
//! the caller may retry after `max(TAT, now) + T - burst·T - now`.
//!
//! [`RateLimiter`] keeps the TATs in memory, **per process**: behind a load balancer
//! with N instances a key can reach up to N× its quota. Quotas come with each request (from the
//! key's record), so a changed quota applies as soon as the key cache refreshes. Idle keys,
//! whose TAT is in the past, are equivalent to absent ones and are swept as the map grows.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    time::{Duration, Instant},
};

use parking_lot::Mutex;
use serde::Serialize;

const NANOS_PER_SEC: u64 = 1_000_000_000;
/// The map is swept of idle keys when it grows past this many entries (and then past twice the
/// size it had after the last sweep).
const SWEEP_MIN_LEN: usize = 4_096;

/// A key's rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Quota {
    /// Sustained requests per second.
    pub rate_per_sec: NonZeroU32,
    /// Requests allowed at once, from idle.
    pub burst: NonZeroU32,
}

impl Quota {
    /// A quota; both numbers are at least one by construction.
    pub const fn new(rate_per_sec: NonZeroU32, burst: NonZeroU32) -> Self {
        Self {
            rate_per_sec,
            burst,
        }
    }

    /// A quota from plain numbers; `None` if either is zero.
    pub fn try_new(rate_per_sec: u32, burst: u32) -> Option<Self> {
        Some(Self::new(
            NonZeroU32::new(rate_per_sec)?,
            NonZeroU32::new(burst)?,
        ))
    }

    /// `T`, the emission interval, in nanoseconds (at least 1).
    fn emission_interval_ns(self) -> u64 {
        (NANOS_PER_SEC / u64::from(self.rate_per_sec.get())).max(1)
    }

    /// `burst · T`: how far the TAT may run ahead of now, plus one interval.
    fn burst_span_ns(self) -> u64 {
        self.emission_interval_ns()
            .saturating_mul(u64::from(self.burst.get()))
    }
}

/// A refusal: how long until the next request would be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    /// Exact wait.
    pub retry_after: Duration,
}

impl RateLimited {
    /// The wait in whole seconds for `Retry-After`: rounded up, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs();
        let secs = if self.retry_after.subsec_nanos() > 0 {
            secs.saturating_add(1)
        } else {
            secs
        };
        secs.max(1)
    }
}

/// One GCRA step, pure: given the stored TAT and `now` (nanoseconds on one monotonic scale),
/// returns the new TAT if the request is allowed, or the wait if not.
pub fn gcra_step(tat_ns: u64, now_ns: u64, quota: Quota) -> Result<u64, RateLimited> {
    let new_tat = tat_ns
        .max(now_ns)
        .saturating_add(quota.emission_interval_ns());
    let allow_at = new_tat.saturating_sub(quota.burst_span_ns());
    if now_ns < allow_at {
        Err(RateLimited {
            retry_after: Duration::from_nanos(allow_at - now_ns),
        })
    } else {
        Ok(new_tat)
    }
}

/// The in-memory, per-instance GCRA state of every key.
#[derive(Debug)]
pub struct RateLimiter {
    epoch: Instant,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tats: HashMap<String, u64>,
    sweep_at_len: usize,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl RateLimiter {
    /// An empty limiter: every key starts with its full burst.
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
            state: Mutex::new(State {
                tats: HashMap::new(),
                sweep_at_len: SWEEP_MIN_LEN,
            }),
        }
    }

    /// Counts one request of `key` against `quota`, now.
    pub fn check(&self, key: &str, quota: Quota) -> Result<(), RateLimited> {
        let now_ns = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.check_at(key, quota, now_ns)
    }

    /// Counts one request at `now_ns` nanoseconds after this limiter was created (deterministic
    /// tests drive time through this).
    pub fn check_at(&self, key: &str, quota: Quota, now_ns: u64) -> Result<(), RateLimited> {
        let mut state = self.state.lock();
        let tat = state.tats.get(key).copied().unwrap_or(0);
        let new_tat = gcra_step(tat, now_ns, quota)?;
        match state.tats.get_mut(key) {
            Some(slot) => *slot = new_tat,
            None => {
                state.tats.insert(key.to_owned(), new_tat);
                if state.tats.len() > state.sweep_at_len {
                    // A TAT in the past is the same as no entry at all.
                    state.tats.retain(|_, tat| *tat > now_ns);
                    state.sweep_at_len = state.tats.len().saturating_mul(2).max(SWEEP_MIN_LEN);
                }
            }
        }
        Ok(())
    }

    /// Whether one more request of `key` would be allowed now, without counting it.
    pub fn peek(&self, key: &str, quota: Quota) -> Result<(), RateLimited> {
        let now_ns = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let tat = self.state.lock().tats.get(key).copied().unwrap_or(0);
        gcra_step(tat, now_ns, quota).map(|_| ())
    }

    /// How many keys have state (for tests and metrics).
    pub fn tracked_keys(&self) -> usize {
        self.state.lock().tats.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = NANOS_PER_SEC;

    fn quota(rate: u32, burst: u32) -> Quota {
        Quota::try_new(rate, burst).unwrap()
    }

    #[test]
    fn gcra_allows_burst_then_refuses() {
        let limiter = RateLimiter::new();
        let q = quota(1, 3);
        for _ in 0..3 {
            assert_eq!(limiter.check_at("k", q, 0), Ok(()));
        }
        let refused = limiter.check_at("k", q, 0).unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_secs(1));
        assert_eq!(refused.retry_after_secs(), 1);
    }

    #[test]
    fn gcra_steady_rate_after_burst() {
        let limiter = RateLimiter::new();
        let q = quota(10, 5); // T = 100 ms
        for _ in 0..5 {
            limiter.check_at("k", q, 0).unwrap();
        }
        // Exhausted: the next cell conforms at exactly T.
        let wait = limiter.check_at("k", q, 0).unwrap_err().retry_after;
        assert_eq!(wait, Duration::from_millis(100));
        assert!(limiter.check_at("k", q, 99 * SEC / 1000).is_err());
        assert_eq!(limiter.check_at("k", q, 100 * SEC / 1000), Ok(()));
        // Then one per 100 ms, and no more.
        for i in 2..20u64 {
            let t = i * 100 * SEC / 1000;
            assert_eq!(limiter.check_at("k", q, t), Ok(()), "at {i}×T");
            assert!(limiter.check_at("k", q, t).is_err(), "second at {i}×T");
        }
    }

    #[test]
    fn gcra_refills_to_burst_when_idle_and_not_beyond() {
        let limiter = RateLimiter::new();
        let q = quota(2, 4); // T = 500 ms
        for _ in 0..4 {
            limiter.check_at("k", q, 0).unwrap();
        }
        assert!(limiter.check_at("k", q, 0).is_err());
        // A long idle period restores the burst, not more.
        let later = 3_600 * SEC;
        for _ in 0..4 {
            limiter.check_at("k", q, later).unwrap();
        }
        let wait = limiter.check_at("k", q, later).unwrap_err();
        assert_eq!(wait.retry_after, Duration::from_millis(500));
        assert_eq!(wait.retry_after_secs(), 1);
    }

    #[test]
    fn gcra_refused_requests_do_not_consume_quota() {
        let limiter = RateLimiter::new();
        let q = quota(1, 1);
        limiter.check_at("k", q, 0).unwrap();
        for t in [0, SEC / 4, SEC / 2, SEC - 1] {
            assert!(limiter.check_at("k", q, t).is_err());
        }
        assert_eq!(limiter.check_at("k", q, SEC), Ok(()));
    }

    #[test]
    fn gcra_retry_after_rounds_up_to_whole_seconds() {
        let limited = |ms| RateLimited {
            retry_after: Duration::from_millis(ms),
        };
        assert_eq!(limited(1).retry_after_secs(), 1);
        assert_eq!(limited(999).retry_after_secs(), 1);
        assert_eq!(limited(1_000).retry_after_secs(), 1);
        assert_eq!(limited(1_001).retry_after_secs(), 2);
        assert_eq!(limited(0).retry_after_secs(), 1);
        // Slow quotas wait long: a burst of 1 at 1/s refused 1 ns after use waits ~1 s.
        let limiter = RateLimiter::new();
        let q = quota(1, 1);
        limiter.check_at("k", q, 0).unwrap();
        let wait = limiter.check_at("k", q, 1).unwrap_err();
        assert_eq!(wait.retry_after, Duration::from_nanos(SEC - 1));
        assert_eq!(wait.retry_after_secs(), 1);
    }

    #[test]
    fn gcra_keys_are_independent() {
        let limiter = RateLimiter::new();
        let q = quota(1, 1);
        limiter.check_at("a", q, 0).unwrap();
        assert!(limiter.check_at("a", q, 0).is_err());
        assert_eq!(limiter.check_at("b", q, 0), Ok(()));
    }

    #[test]
    fn gcra_sweeps_idle_keys() {
        let limiter = RateLimiter::new();
        let q = quota(1_000, 1);
        for i in 0..SWEEP_MIN_LEN {
            limiter.check_at(&format!("k{i}"), q, 0).unwrap();
        }
        assert_eq!(limiter.tracked_keys(), SWEEP_MIN_LEN);
        // Every earlier key is idle one second later; the next insertion sweeps them.
        limiter.check_at("fresh", q, SEC).unwrap();
        limiter.check_at("fresh2", q, SEC).unwrap();
        assert!(limiter.tracked_keys() <= 2, "{}", limiter.tracked_keys());
    }

    #[test]
    fn gcra_high_rates_do_not_divide_to_zero() {
        let q = quota(u32::MAX, u32::MAX);
        assert_eq!(q.emission_interval_ns(), 1);
        assert_eq!(gcra_step(0, 0, q), Ok(1));
    }
}
