//! The client's circuit breaker.
//!
//! Written here rather than taken from a crate: the breakers on crates.io (`failsafe`,
//! `recloser`) let one *real* call through when half-open, and a real call here can be a mint
//! or a signed request that spends a nonce. This one, once its pause is over, lets exactly one
//! caller probe `GET /health` (unauthenticated, no effect) and closes only if that answers.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// When the breaker opens, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failed calls (no answer, or 5xx) that open it.
    pub failures: u32,
    /// How long it stays open before the next probe.
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    /// Five failures, ten seconds.
    fn default() -> Self {
        Self {
            failures: 5,
            open_for: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
}

/// What a caller may do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Call.
    Call,
    /// Probe `GET /health` first, then report [`Breaker::probed`].
    Probe,
    /// Do not call; the breaker is open for this much longer.
    Refuse(Duration),
}

/// A breaker shared by every call of one client.
#[derive(Debug)]
pub struct Breaker {
    config: BreakerConfig,
    state: Mutex<State>,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    /// Whether a call may go now. Once the pause is over one caller gets [`Admission::Probe`]
    /// and the others keep being refused until it reports.
    pub fn admit(&self) -> Admission {
        let mut state = self.state.lock();
        match *state {
            State::Closed { .. } => Admission::Call,
            State::Open { until } => {
                let now = Instant::now();
                if now < until {
                    Admission::Refuse(until - now)
                } else {
                    // Hold the others off while this caller probes.
                    *state = State::Open {
                        until: now + self.config.open_for,
                    };
                    Admission::Probe
                }
            }
        }
    }

    /// The relayer answered (even with a 4xx: it is up).
    pub fn success(&self) {
        *self.state.lock() = State::Closed { failures: 0 };
    }

    /// A call got no answer or a 5xx.
    pub fn failure(&self) {
        let mut state = self.state.lock();
        if let State::Closed { failures } = *state {
            let failures = failures.saturating_add(1);
            *state = if failures >= self.config.failures {
                State::Open {
                    until: Instant::now() + self.config.open_for,
                }
            } else {
                State::Closed { failures }
            };
        }
    }

    /// The probe's outcome: closed again, or open for another pause.
    pub fn probed(&self, healthy: bool) {
        let mut state = self.state.lock();
        *state = if healthy {
            State::Closed { failures: 0 }
        } else {
            State::Open {
                until: Instant::now() + self.config.open_for,
            }
        };
    }

    /// Whether it is open now.
    pub fn is_open(&self) -> bool {
        matches!(*self.state.lock(), State::Open { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_failures_refuses_then_lets_one_probe() {
        let b = Breaker::new(BreakerConfig {
            failures: 3,
            open_for: Duration::from_millis(30),
        });
        b.failure();
        b.failure();
        assert_eq!(b.admit(), Admission::Call);
        b.success();
        for _ in 0..3 {
            b.failure();
        }
        assert!(matches!(b.admit(), Admission::Refuse(_)));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(b.admit(), Admission::Probe);
        // Only one prober at a time.
        assert!(matches!(b.admit(), Admission::Refuse(_)));
        b.probed(false);
        assert!(matches!(b.admit(), Admission::Refuse(_)));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(b.admit(), Admission::Probe);
        b.probed(true);
        assert_eq!(b.admit(), Admission::Call);
        assert!(!b.is_open());
    }
}
