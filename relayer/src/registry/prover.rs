//! The bounded prover pool behind `POST /api/v2/prove` (SPEC §4).
//!
//! Proving is CPU-bound (about 115 ms per depth-20 proof on 2 cores, every core busy), so it
//! never runs on the async runtime: a proof runs on the blocking pool, at most `workers` at a
//! time, and at most `queue` more wait for a worker. A request beyond that is refused at once
//! with [`ProverError::Busy`] and a `Retry-After` estimated from the queue and the last proof
//! time, instead of piling up latency for everyone.
//!
//! The proving key is loaded (or, for development, generated from the public development seed)
//! in the background when the relayer starts; `/health` reports `loading`, `ready` or
//! `failed`, and requests that arrive while it loads wait in the queue.

use std::{
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, OnceLock,
    },
    time::{Duration, Instant},
};

use futures::{
    future::{BoxFuture, Shared},
    FutureExt,
};
use tokio::sync::Semaphore;
use veil_circuits::{keys, OwnershipWitness, ProveError, Prover, WitnessError};
use veil_zk::{ProofBytes, PublicInputs};

use crate::platform::metrics::Metrics;

/// Where the proving key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// Generated from the public development seed: matches the development verifying key
    /// compiled into the program, and is insecure by construction (docs/ceremony.md).
    Development,
    /// A proving key file from the ceremony (`keygen --out`), checked against the compiled
    /// verifying key before use.
    File(PathBuf),
}

/// Why a proof was not produced.
#[derive(Debug, thiserror::Error)]
pub enum ProverError {
    /// Every worker is busy and the queue is full.
    #[error("the prover queue is full ({capacity} requests); retry after {retry_after:?}")]
    Busy {
        /// Workers plus queue slots.
        capacity: usize,
        /// A conservative wait before a retry.
        retry_after: Duration,
    },
    /// The proving key could not be loaded; no proof can be made until the relayer restarts
    /// with a good key.
    #[error("the prover is unavailable: {0}")]
    Unavailable(String),
    /// The witness does not fit the circuit (a caller error).
    #[error(transparent)]
    Witness(#[from] WitnessError),
    /// Proving itself failed (a bug or a corrupt key; logged).
    #[error("proving failed: {0}")]
    Failed(String),
}

/// The pool's settings.
#[derive(Debug, Clone)]
pub struct ProverConfig {
    /// The proving key.
    pub key: KeySource,
    /// Proofs computed at once. One proof already uses every core, so 1 is right for a
    /// 2-core machine.
    pub workers: usize,
    /// Requests that may wait for a worker.
    pub queue: usize,
}

type Loading = Shared<BoxFuture<'static, Result<Arc<Prover>, Arc<str>>>>;

/// The bounded prover pool.
pub struct ProverPool {
    prover: Loading,
    workers: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
    capacity: usize,
    worker_count: usize,
    last_proof_ms: AtomicU64,
    metrics: Metrics,
}

impl std::fmt::Debug for ProverPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProverPool")
            .field("state", &self.state())
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// The development prover, generated once per process (key generation takes seconds and the
/// result is the same every time).
fn development_prover() -> Result<Arc<Prover>, ProveError> {
    static DEV: OnceLock<Arc<Prover>> = OnceLock::new();
    if let Some(prover) = DEV.get() {
        return Ok(prover.clone());
    }
    let depth = usize::from(veil_zk::vk::TREE_DEPTH);
    let prover = Arc::new(Prover::new(keys::generate(depth, keys::DEV_SEED)?, depth)?);
    if !veil_circuits::prover::matches_compiled_vk(&prover.proving_key().vk) {
        return Err(ProveError::KeyMismatch);
    }
    Ok(DEV.get_or_init(|| prover).clone())
}

fn load(key: &KeySource) -> Result<Arc<Prover>, ProveError> {
    match key {
        KeySource::Development => development_prover(),
        KeySource::File(path) => Ok(Arc::new(Prover::load(path)?)),
    }
}

impl ProverPool {
    /// Starts loading the key in the background; must run inside a Tokio runtime.
    pub fn start(config: ProverConfig, metrics: Metrics) -> Self {
        let key = config.key.clone();
        let loading: Loading = async move {
            let started = Instant::now();
            let loaded = tokio::task::spawn_blocking(move || load(&key)).await;
            match loaded {
                Ok(Ok(prover)) => {
                    tracing::info!(
                        ms = started.elapsed().as_millis() as u64,
                        constraints = prover.num_constraints(),
                        "prover ready"
                    );
                    Ok(prover)
                }
                Ok(Err(error)) => {
                    tracing::error!(%error, "the prover could not be loaded");
                    Err(Arc::from(error.to_string()))
                }
                Err(join) => Err(Arc::from(format!("the prover loader panicked: {join}"))),
            }
        }
        .boxed()
        .shared();
        // Load now, not on the first request.
        tokio::spawn(loading.clone());
        let workers = config.workers.max(1);
        let capacity = workers.saturating_add(config.queue);
        Self {
            prover: loading,
            workers: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(Semaphore::new(capacity)),
            capacity,
            worker_count: workers,
            last_proof_ms: AtomicU64::new(150),
            metrics,
        }
    }

    /// `loading`, `ready` or `failed`.
    pub fn state(&self) -> &'static str {
        match self.prover.peek() {
            None => "loading",
            Some(Ok(_)) => "ready",
            Some(Err(_)) => "failed",
        }
    }

    /// Requests admitted now (proving or waiting).
    pub fn in_flight(&self) -> usize {
        self.capacity - self.admitted.available_permits()
    }

    /// Proves `witness` on a worker, or refuses at once when the queue is full.
    pub async fn prove(
        &self,
        witness: OwnershipWitness,
    ) -> Result<(ProofBytes, PublicInputs), ProverError> {
        let Ok(_admitted) = self.admitted.clone().try_acquire_owned() else {
            self.metrics
                .prover_requests_total
                .with_label_values(&["busy"])
                .inc();
            return Err(ProverError::Busy {
                capacity: self.capacity,
                retry_after: self.retry_after(),
            });
        };
        let prover = self
            .prover
            .clone()
            .await
            .map_err(|e| ProverError::Unavailable(e.to_string()))?;
        let _worker = self
            .workers
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ProverError::Unavailable("the prover pool is closed".into()))?;
        let started = Instant::now();
        let result = tokio::task::spawn_blocking(move || prover.prove(&witness)).await;
        let elapsed = started.elapsed();
        let outcome = match result {
            Ok(Ok(proof)) => Ok(proof),
            Ok(Err(ProveError::Witness(e))) => Err(ProverError::Witness(e)),
            Ok(Err(e)) => Err(ProverError::Failed(e.to_string())),
            Err(join) => Err(ProverError::Failed(format!("the prover panicked: {join}"))),
        };
        let label = match &outcome {
            Ok(_) => {
                self.last_proof_ms
                    .store(elapsed.as_millis() as u64, Ordering::Relaxed);
                self.metrics
                    .proof_generation_seconds
                    .observe(elapsed.as_secs_f64());
                "proved"
            }
            Err(_) => "failed",
        };
        self.metrics
            .prover_requests_total
            .with_label_values(&[label])
            .inc();
        outcome
    }

    /// The time for the requests ahead to drain, at the last proof's pace; at least 1 s.
    fn retry_after(&self) -> Duration {
        let per_proof = self.last_proof_ms.load(Ordering::Relaxed).max(1);
        let rounds = (self.capacity as u64).div_ceil(self.worker_count as u64);
        Duration::from_millis(per_proof.saturating_mul(rounds)).max(Duration::from_secs(1))
    }
}
