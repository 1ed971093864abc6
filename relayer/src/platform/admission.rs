//! Admission control: load is shed at the door, before any work is done for a request.
//!
//! At most `max_in_flight` requests are served at once. A request beyond them waits in a
//! bounded queue (at most `max_queued` waiting, each at most `max_wait`); past either bound it
//! is answered at once `503 OVERLOADED` with `Retry-After`. So under a burst the work in
//! progress stays bounded, and the timers of dependency calls (the Redis nonce check, the
//! database) measure the dependency, not a queue of thousands of requests fighting for the
//! same two cores: a saturated relayer says it is overloaded instead of blaming a healthy
//! dependency (issue 18).
//!
//! Written here rather than from `tower`'s `load_shed` + `buffer` + `concurrency_limit`: that
//! stack has no bound on how long a queued request waits and exposes no queue depth.
//! `/health` and `/metrics` are exempt, so an orchestrator's probes still answer while the
//! relayer sheds load (a probe failing then would restart a busy, healthy instance).

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio::sync::Semaphore;

use crate::platform::{
    error::{ApiError, ErrorCode},
    metrics::Metrics,
};

/// The limits (`RELAYER_MAX_IN_FLIGHT`, `RELAYER_ADMISSION_QUEUE`,
/// `RELAYER_ADMISSION_WAIT_MS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// Requests served at once.
    pub max_in_flight: usize,
    /// Requests that may wait for a slot.
    pub max_queued: usize,
    /// Longest a request waits for a slot.
    pub max_wait: Duration,
}

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shed {
    /// The waiting queue is full.
    QueueFull,
    /// It waited `max_wait` without a slot.
    WaitedTooLong,
}

impl Shed {
    fn as_str(self) -> &'static str {
        match self {
            Self::QueueFull => "queue_full",
            Self::WaitedTooLong => "waited_too_long",
        }
    }
}

/// The door. Clone-cheap.
#[derive(Clone)]
pub struct Admission {
    limits: AdmissionLimits,
    slots: Arc<Semaphore>,
    queued: Arc<AtomicUsize>,
    metrics: Metrics,
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("limits", &self.limits)
            .field("free", &self.slots.available_permits())
            .field("queued", &self.queued.load(Ordering::Relaxed))
            .finish()
    }
}

/// A request's slot; released when dropped.
pub struct Admitted {
    _permit: tokio::sync::OwnedSemaphorePermit,
    metrics: Metrics,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.metrics.admission_in_flight.dec();
    }
}

impl Admission {
    /// A door with `limits` (each at least 1 slot; a queue of 0 sheds at once when full).
    pub fn new(limits: AdmissionLimits, metrics: Metrics) -> Self {
        Self {
            limits,
            slots: Arc::new(Semaphore::new(limits.max_in_flight.max(1))),
            queued: Arc::new(AtomicUsize::new(0)),
            metrics,
        }
    }

    /// The limits.
    pub fn limits(&self) -> AdmissionLimits {
        self.limits
    }

    /// A slot now, or after waiting in the queue; or why not.
    pub async fn admit(&self) -> Result<Admitted, Shed> {
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                // Join the queue only if there is room in it.
                let joined = self
                    .queued
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                        (queued < self.limits.max_queued).then_some(queued + 1)
                    })
                    .is_ok();
                if !joined {
                    return Err(self.shed(Shed::QueueFull));
                }
                self.metrics.admission_queued.inc();
                let waited =
                    tokio::time::timeout(self.limits.max_wait, self.slots.clone().acquire_owned())
                        .await;
                self.queued.fetch_sub(1, Ordering::AcqRel);
                self.metrics.admission_queued.dec();
                match waited {
                    Ok(Ok(permit)) => permit,
                    // The semaphore is never closed; a timeout is the only way out.
                    _ => return Err(self.shed(Shed::WaitedTooLong)),
                }
            }
        };
        self.metrics.admission_in_flight.inc();
        Ok(Admitted {
            _permit: permit,
            metrics: self.metrics.clone(),
        })
    }

    fn shed(&self, why: Shed) -> Shed {
        self.metrics
            .admission_shed_total
            .with_label_values(&[why.as_str()])
            .inc();
        why
    }

    /// The middleware: admits the request or answers `503 OVERLOADED` with `Retry-After: 1`.
    pub async fn layer(State(door): State<Admission>, request: Request, next: Next) -> Response {
        if matches!(request.uri().path(), "/health" | "/metrics") {
            return next.run(request).await;
        }
        match door.admit().await {
            Ok(admitted) => {
                let response = next.run(request).await;
                drop(admitted);
                response
            }
            Err(why) => ApiError::new(
                ErrorCode::Overloaded,
                "the relayer is at its concurrency limit; retry after `Retry-After` seconds",
            )
            .with_details(serde_json::json!({ "reason": why.as_str() }))
            .retry_after(1)
            .into_response(),
        }
    }
}
