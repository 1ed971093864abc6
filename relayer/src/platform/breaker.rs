//! A circuit breaker for one outbound dependency (SPEC §6, "Resilience").
//!
//! ```text
//!            N consecutive failures              open_for elapsed
//!   CLOSED ───────────────────────────▶ OPEN ─────────────────────▶ HALF_OPEN
//!     ▲                                   ▲                            │
//!     │          probe succeeded          │      probe failed          │
//!     └───────────────────────────────────┼────────────────────────────┘
//!                                         └────────────────────────────┘
//! ```
//!
//! * **CLOSED**: every call goes through; a success resets the failure count.
//! * **OPEN**: every call is refused with [`BreakerOpen`] (and its `retry_after`) without
//!   touching the dependency, for `open_for`.
//! * **HALF_OPEN**: exactly one call (the probe) goes through; its success closes the breaker,
//!   its failure re-opens it for another `open_for`.
//!
//! A call is a [`Permit`] from [`CircuitBreaker::try_acquire`], resolved with
//! [`Permit::record_success`] or [`Permit::record_failure`]. A permit dropped unresolved (its
//! future was cancelled) counts as neither, and an abandoned probe frees the half-open slot for
//! the next caller, so a cancelled request can never wedge the breaker. Outcomes are tied to the
//! state the permit was taken in: a straggler from before a transition does not move the new
//! state.
//!
//! The breaker knows nothing of what it guards (drand relays today, Solana RPC next). Time comes
//! from a [`Ticker`], so tests drive it without sleeping; every transition sets
//! `circuit_breaker_state{dependency}` when [`CircuitBreaker::with_metrics`] hooked it up.

use std::{
    fmt,
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use parking_lot::Mutex;
use prometheus::IntGauge;
use serde::{Serialize, Serializer};

use crate::platform::metrics::Metrics;

/// A monotonic time source for breakers: time elapsed since an arbitrary, fixed origin.
pub trait Ticker: Send + Sync + 'static {
    /// Time since this ticker's origin; never goes back.
    fn elapsed(&self) -> Duration;
}

/// Real monotonic time ([`Instant`]).
#[derive(Debug, Clone, Copy)]
pub struct MonotonicTicker {
    origin: Instant,
}

impl MonotonicTicker {
    /// A ticker whose origin is now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for MonotonicTicker {
    fn default() -> Self {
        Self::new()
    }
}

impl Ticker for MonotonicTicker {
    fn elapsed(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// Time that only moves when told to (tests).
#[derive(Debug, Default)]
pub struct ManualTicker {
    nanos: AtomicU64,
}

impl ManualTicker {
    /// A ticker at its origin.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(nanos, Ordering::SeqCst);
    }
}

impl Ticker for ManualTicker {
    fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

/// When a breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open a closed breaker (0 is treated as 1).
    pub failure_threshold: u32,
    /// How long an open breaker refuses calls before letting one probe through.
    pub open_for: Duration,
}

/// A breaker's state, as reported to `/health` and `circuit_breaker_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// One probe call goes through; its outcome decides.
    HalfOpen,
    /// Calls are refused without reaching the dependency.
    Open,
}

impl BreakerState {
    /// `CLOSED`, `HALF_OPEN` or `OPEN`.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "CLOSED",
            BreakerState::HalfOpen => "HALF_OPEN",
            BreakerState::Open => "OPEN",
        }
    }

    /// The `circuit_breaker_state` gauge value: 0 closed, 1 half-open, 2 open.
    pub fn as_gauge(self) -> i64 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::HalfOpen => 1,
            BreakerState::Open => 2,
        }
    }
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for BreakerState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A call refused because the breaker is open (or its one half-open probe is in flight).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker is {state}; retry after {retry_after:?}")]
pub struct BreakerOpen {
    /// [`BreakerState::Open`], or [`BreakerState::HalfOpen`] while its probe is in flight.
    pub state: BreakerState,
    /// Time until the breaker lets a probe through (zero while a half-open probe is in flight:
    /// the next call may go once it resolves).
    pub retry_after: Duration,
}

/// The outcome of [`CircuitBreaker::call`].
#[derive(Debug, thiserror::Error)]
pub enum CallError<E> {
    /// The breaker refused the call; the dependency was not touched.
    #[error(transparent)]
    Open(BreakerOpen),
    /// The call ran and failed (and counted as a failure).
    #[error(transparent)]
    Failed(E),
}

/// The state machine proper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Closed { failures: u32 },
    Open { until: Duration },
    HalfOpen { probe_in_flight: bool },
}

impl Phase {
    fn state(self) -> BreakerState {
        match self {
            Phase::Closed { .. } => BreakerState::Closed,
            Phase::Open { .. } => BreakerState::Open,
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

#[derive(Debug)]
struct Inner {
    phase: Phase,
    /// Bumped on every transition; a permit's outcome only counts in the generation it was
    /// taken in.
    generation: u64,
}

/// A circuit breaker guarding one dependency; share it by reference or `Arc`.
pub struct CircuitBreaker {
    name: Arc<str>,
    config: BreakerConfig,
    ticker: Arc<dyn Ticker>,
    gauge: Option<IntGauge>,
    inner: Mutex<Inner>,
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("phase", &self.inner.lock().phase)
            .finish()
    }
}

/// Leave to make one call through a breaker. Resolve it with [`Permit::record_success`] or
/// [`Permit::record_failure`]; dropping it unresolved abandons the call.
#[must_use = "a permit must be resolved with record_success or record_failure"]
#[derive(Debug)]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    generation: u64,
    probe: bool,
    resolved: bool,
}

impl Permit<'_> {
    /// Whether this call is the half-open probe.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    /// The call succeeded.
    pub fn record_success(mut self) {
        self.resolved = true;
        self.breaker.on_success(Some(self.generation));
    }

    /// The call failed.
    pub fn record_failure(mut self) {
        self.resolved = true;
        self.breaker.on_failure(Some(self.generation));
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.resolved && self.probe {
            self.breaker.on_abandoned_probe(self.generation);
        }
    }
}

impl CircuitBreaker {
    /// A closed breaker named `name` (the `dependency` label), on real monotonic time.
    pub fn new(name: impl Into<Arc<str>>, config: BreakerConfig) -> Self {
        Self::with_ticker(name, config, Arc::new(MonotonicTicker::new()))
    }

    /// A closed breaker on the given time source.
    pub fn with_ticker(
        name: impl Into<Arc<str>>,
        config: BreakerConfig,
        ticker: Arc<dyn Ticker>,
    ) -> Self {
        Self {
            name: name.into(),
            config: BreakerConfig {
                failure_threshold: config.failure_threshold.max(1),
                open_for: config.open_for,
            },
            ticker,
            gauge: None,
            inner: Mutex::new(Inner {
                phase: Phase::Closed { failures: 0 },
                generation: 0,
            }),
        }
    }

    /// Reports every transition to `circuit_breaker_state{dependency = name}` (set to CLOSED
    /// now).
    pub fn with_metrics(mut self, metrics: &Metrics) -> Self {
        let gauge = metrics
            .circuit_breaker_state
            .with_label_values(&[&*self.name]);
        gauge.set(self.inner.lock().phase.state().as_gauge());
        self.gauge = Some(gauge);
        self
    }

    /// The dependency's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The configuration in force.
    pub fn config(&self) -> BreakerConfig {
        self.config
    }

    /// The current state. An open breaker whose `open_for` has elapsed reports (and becomes)
    /// HALF_OPEN.
    pub fn state(&self) -> BreakerState {
        let mut inner = self.inner.lock();
        self.expire_open(&mut inner);
        inner.phase.state()
    }

    /// Asks to make one call: `Ok` in CLOSED, and for the single probe in HALF_OPEN;
    /// [`BreakerOpen`] otherwise.
    pub fn try_acquire(&self) -> Result<Permit<'_>, BreakerOpen> {
        let mut inner = self.inner.lock();
        self.expire_open(&mut inner);
        let probe = match inner.phase {
            Phase::Closed { .. } => false,
            Phase::HalfOpen {
                probe_in_flight: false,
            } => {
                inner.phase = Phase::HalfOpen {
                    probe_in_flight: true,
                };
                true
            }
            Phase::HalfOpen {
                probe_in_flight: true,
            } => {
                return Err(BreakerOpen {
                    state: BreakerState::HalfOpen,
                    retry_after: Duration::ZERO,
                })
            }
            Phase::Open { until } => {
                return Err(BreakerOpen {
                    state: BreakerState::Open,
                    retry_after: until.saturating_sub(self.ticker.elapsed()),
                })
            }
        };
        Ok(Permit {
            breaker: self,
            generation: inner.generation,
            probe,
            resolved: false,
        })
    }

    /// Records a success of a call made without a [`Permit`] (applies to the current state).
    pub fn record_success(&self) {
        self.on_success(None);
    }

    /// Records a failure of a call made without a [`Permit`] (applies to the current state).
    pub fn record_failure(&self) {
        self.on_failure(None);
    }

    /// Runs `call` through the breaker: refused while open, and any `Err` counts as a failure.
    pub async fn call<T, E, F>(&self, call: F) -> Result<T, CallError<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        let permit = self.try_acquire().map_err(CallError::Open)?;
        match call.await {
            Ok(value) => {
                permit.record_success();
                Ok(value)
            }
            Err(error) => {
                permit.record_failure();
                Err(CallError::Failed(error))
            }
        }
    }

    /// OPEN → HALF_OPEN once `open_for` has elapsed.
    fn expire_open(&self, inner: &mut Inner) {
        if let Phase::Open { until } = inner.phase {
            if self.ticker.elapsed() >= until {
                self.transition(
                    inner,
                    Phase::HalfOpen {
                        probe_in_flight: false,
                    },
                );
            }
        }
    }

    fn on_success(&self, generation: Option<u64>) {
        let mut inner = self.inner.lock();
        self.expire_open(&mut inner);
        if generation.is_some_and(|g| g != inner.generation) {
            return;
        }
        match inner.phase {
            // A success ends a run of failures.
            Phase::Closed { .. } => inner.phase = Phase::Closed { failures: 0 },
            // The probe succeeded: the dependency is back.
            Phase::HalfOpen { .. } => self.transition(&mut inner, Phase::Closed { failures: 0 }),
            // Only a probe may close an open breaker.
            Phase::Open { .. } => {}
        }
    }

    fn on_failure(&self, generation: Option<u64>) {
        let mut inner = self.inner.lock();
        self.expire_open(&mut inner);
        if generation.is_some_and(|g| g != inner.generation) {
            return;
        }
        match inner.phase {
            Phase::Closed { failures } => {
                let failures = failures.saturating_add(1);
                if failures >= self.config.failure_threshold {
                    // N consecutive failures open the breaker.
                    self.open(&mut inner);
                } else {
                    inner.phase = Phase::Closed { failures };
                }
            }
            // The probe failed: open again for a full period.
            Phase::HalfOpen { .. } => self.open(&mut inner),
            Phase::Open { .. } => {}
        }
    }

    fn on_abandoned_probe(&self, generation: u64) {
        let mut inner = self.inner.lock();
        if inner.generation == generation
            && inner.phase
                == (Phase::HalfOpen {
                    probe_in_flight: true,
                })
        {
            inner.phase = Phase::HalfOpen {
                probe_in_flight: false,
            };
        }
    }

    fn open(&self, inner: &mut Inner) {
        let until = self.ticker.elapsed().saturating_add(self.config.open_for);
        self.transition(inner, Phase::Open { until });
    }

    fn transition(&self, inner: &mut Inner, to: Phase) {
        let from = inner.phase.state();
        inner.phase = to;
        inner.generation = inner.generation.wrapping_add(1);
        let to = to.state();
        if let Some(gauge) = &self.gauge {
            gauge.set(to.as_gauge());
        }
        match to {
            BreakerState::Open => tracing::warn!(
                dependency = %self.name, %from, open_for = ?self.config.open_for,
                "circuit breaker opened"
            ),
            _ => {
                tracing::info!(dependency = %self.name, %from, %to, "circuit breaker state changed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN_FOR: Duration = Duration::from_secs(10);

    fn breaker(threshold: u32) -> (CircuitBreaker, Arc<ManualTicker>) {
        let ticker = Arc::new(ManualTicker::new());
        let breaker = CircuitBreaker::with_ticker(
            "test",
            BreakerConfig {
                failure_threshold: threshold,
                open_for: OPEN_FOR,
            },
            ticker.clone(),
        );
        (breaker, ticker)
    }

    fn fail(breaker: &CircuitBreaker) {
        breaker.try_acquire().expect("closed").record_failure();
    }

    #[test]
    fn breaker_starts_closed_and_lets_calls_through() {
        let (b, _) = breaker(3);
        assert_eq!(b.state(), BreakerState::Closed);
        let permit = b.try_acquire().unwrap();
        assert!(!permit.is_probe());
        permit.record_success();
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn breaker_opens_after_threshold_consecutive_failures() {
        let (b, _) = breaker(3);
        fail(&b);
        fail(&b);
        assert_eq!(b.state(), BreakerState::Closed);
        fail(&b);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn breaker_success_resets_the_failure_count() {
        let (b, _) = breaker(3);
        fail(&b);
        fail(&b);
        b.try_acquire().unwrap().record_success();
        fail(&b);
        fail(&b);
        assert_eq!(b.state(), BreakerState::Closed);
        fail(&b);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn breaker_open_refuses_with_retry_after() {
        let (b, ticker) = breaker(1);
        fail(&b);
        let refused = b.try_acquire().unwrap_err();
        assert_eq!(
            refused,
            BreakerOpen {
                state: BreakerState::Open,
                retry_after: OPEN_FOR
            }
        );
        ticker.advance(Duration::from_secs(4));
        assert_eq!(
            b.try_acquire().unwrap_err().retry_after,
            Duration::from_secs(6)
        );
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn breaker_half_opens_after_open_for_and_admits_exactly_one_probe() {
        let (b, ticker) = breaker(1);
        fail(&b);
        ticker.advance(OPEN_FOR);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        let probe = b.try_acquire().unwrap();
        assert!(probe.is_probe());
        assert_eq!(
            b.try_acquire().unwrap_err(),
            BreakerOpen {
                state: BreakerState::HalfOpen,
                retry_after: Duration::ZERO
            }
        );
        probe.record_success();
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn breaker_probe_failure_reopens_for_a_full_period() {
        let (b, ticker) = breaker(2);
        fail(&b);
        fail(&b);
        ticker.advance(OPEN_FOR);
        b.try_acquire().unwrap().record_failure();
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.try_acquire().unwrap_err().retry_after, OPEN_FOR);
        ticker.advance(OPEN_FOR);
        assert_eq!(b.state(), BreakerState::HalfOpen);
    }

    #[test]
    fn breaker_abandoned_probe_frees_the_slot() {
        let (b, ticker) = breaker(1);
        fail(&b);
        ticker.advance(OPEN_FOR);
        drop(b.try_acquire().unwrap());
        assert_eq!(b.state(), BreakerState::HalfOpen);
        let probe = b.try_acquire().unwrap();
        assert!(probe.is_probe());
        probe.record_success();
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn breaker_ignores_stragglers_from_an_earlier_state() {
        let (b, ticker) = breaker(1);
        let straggler_ok = b.try_acquire().unwrap();
        let straggler_err = b.try_acquire().unwrap();
        fail(&b);
        // A success that started before the breaker opened does not close it.
        straggler_ok.record_success();
        assert_eq!(b.state(), BreakerState::Open);
        ticker.advance(OPEN_FOR);
        let probe = b.try_acquire().unwrap();
        // Nor does a late failure re-open it during the probe.
        straggler_err.record_failure();
        assert_eq!(b.state(), BreakerState::HalfOpen);
        probe.record_success();
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn breaker_permitless_records_apply_to_the_current_state() {
        let (b, ticker) = breaker(2);
        b.record_failure();
        b.record_failure();
        assert_eq!(b.state(), BreakerState::Open);
        b.record_success();
        assert_eq!(b.state(), BreakerState::Open);
        ticker.advance(OPEN_FOR);
        b.record_success();
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn breaker_zero_threshold_opens_on_first_failure() {
        let (b, _) = breaker(0);
        fail(&b);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn breaker_state_names_and_gauge_values() {
        assert_eq!(BreakerState::Closed.as_str(), "CLOSED");
        assert_eq!(BreakerState::HalfOpen.as_str(), "HALF_OPEN");
        assert_eq!(BreakerState::Open.as_str(), "OPEN");
        assert_eq!(BreakerState::Closed.as_gauge(), 0);
        assert_eq!(BreakerState::HalfOpen.as_gauge(), 1);
        assert_eq!(BreakerState::Open.as_gauge(), 2);
        assert_eq!(
            serde_json::to_string(&BreakerState::HalfOpen).unwrap(),
            "\"HALF_OPEN\""
        );
    }

    #[test]
    fn breaker_metrics_follow_every_transition() {
        let metrics = Metrics::new();
        let ticker = Arc::new(ManualTicker::new());
        let b = CircuitBreaker::with_ticker(
            "rpc:test",
            BreakerConfig {
                failure_threshold: 1,
                open_for: OPEN_FOR,
            },
            ticker.clone(),
        )
        .with_metrics(&metrics);
        let gauge = || {
            metrics
                .circuit_breaker_state
                .with_label_values(&["rpc:test"])
                .get()
        };
        assert_eq!(gauge(), 0);
        fail(&b);
        assert_eq!(gauge(), 2);
        ticker.advance(OPEN_FOR);
        let probe = b.try_acquire().unwrap();
        assert_eq!(gauge(), 1);
        probe.record_success();
        assert_eq!(gauge(), 0);
        assert!(metrics
            .render()
            .contains("circuit_breaker_state{dependency=\"rpc:test\"} 0"));
    }

    #[tokio::test]
    async fn breaker_call_counts_errors_and_refuses_when_open() {
        let (b, _) = breaker(1);
        assert_eq!(b.call(async { Ok::<_, ()>(7) }).await.unwrap(), 7);
        assert!(matches!(
            b.call(async { Err::<(), _>("down") }).await,
            Err(CallError::Failed("down"))
        ));
        assert!(matches!(
            b.call(async { Ok::<_, ()>(()) }).await,
            Err(CallError::Open(BreakerOpen {
                state: BreakerState::Open,
                ..
            }))
        ));
    }
}
