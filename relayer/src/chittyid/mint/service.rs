//! The mint use case: an authoritative ID from drand + VRF when the beacon is available, a
//! provisional `F` ID from the fallback minter when it is not (and one is configured).

use std::{sync::Arc, time::Instant};

use veil_chittyid::provisional::ProvisionalRecord;

use super::{MintError, MintRequest, Minter};
use crate::{
    chittyid::drand::DrandClient,
    chittyid::evidence::Evidence,
    chittyid::fallback_client::{FallbackClient, FallbackError, FallbackMint},
    platform::error::{ApiError, ErrorCode},
    platform::metrics::Metrics,
};

/// What a mint produced.
#[derive(Debug, Clone)]
pub enum MintOutcome {
    /// Minted here, durable, with its evidence.
    Authoritative(Box<Evidence>),
    /// drand was unavailable; the fallback minter issued a provisional ID, to be reconciled.
    Provisional(Box<ProvisionalRecord>),
}

/// Why no ID could be issued at all.
#[derive(Debug, thiserror::Error)]
pub enum MintServiceError {
    /// Minting failed after a beacon was obtained.
    #[error(transparent)]
    Mint(#[from] MintError),
    /// drand is unavailable and there is no fallback configured.
    #[error("drand is unavailable: {0}")]
    DrandUnavailable(#[source] crate::chittyid::drand::DrandError),
    /// drand is unavailable and the fallback failed too.
    #[error("drand is unavailable ({drand}) and the fallback minter failed: {fallback}")]
    BothUnavailable {
        /// The drand failure.
        drand: crate::chittyid::drand::DrandError,
        /// The fallback failure.
        fallback: FallbackError,
    },
}

impl From<MintServiceError> for ApiError {
    fn from(e: MintServiceError) -> Self {
        match e {
            MintServiceError::Mint(e) => e.into(),
            MintServiceError::DrandUnavailable(cause) => {
                tracing::warn!(%cause, "drand unavailable, no fallback configured");
                ApiError::new(
                    ErrorCode::DrandUnavailable,
                    "no drand relay gave a valid, fresh beacon and no fallback minter is configured",
                )
                .retry_after(3)
            }
            MintServiceError::BothUnavailable { drand, fallback } => {
                tracing::warn!(%drand, %fallback, "drand and fallback unavailable");
                ApiError::new(
                    ErrorCode::FallbackUnavailable,
                    "no drand relay gave a valid beacon and the fallback minter failed",
                )
                .retry_after(3)
            }
        }
    }
}

/// Mints, falling back when drand is down.
pub struct MintService {
    drand: Arc<DrandClient>,
    minter: Arc<Minter>,
    fallback: Option<FallbackClient>,
    metrics: Metrics,
}

impl MintService {
    /// The service.
    pub fn new(
        drand: Arc<DrandClient>,
        minter: Arc<Minter>,
        fallback: Option<FallbackClient>,
        metrics: Metrics,
    ) -> Self {
        Self {
            drand,
            minter,
            fallback,
            metrics,
        }
    }

    /// Mints one ID.
    pub async fn mint(&self, request: MintRequest) -> Result<MintOutcome, MintServiceError> {
        let started = Instant::now();
        let outcome = match self.drand.latest().await {
            Ok(beacon) => {
                let row = self.minter.mint(&beacon, &request).await?;
                let now = chrono::Utc::now().to_rfc3339();
                MintOutcome::Authoritative(Box::new(self.minter.evidence(&row, &now)))
            }
            Err(drand) => {
                let Some(fallback) = &self.fallback else {
                    return Err(MintServiceError::DrandUnavailable(drand));
                };
                let body = FallbackMint {
                    namespace: &request.namespace,
                    entity_type: request.entity.letter().to_string(),
                    trust_level: request.trust,
                    content_hash: hex::encode(request.content_hash),
                    request_nonce: hex::encode(&request.nonce),
                };
                match fallback.request(&body).await {
                    Ok(record) => {
                        tracing::warn!(id = %record.provisional_id, %drand, "minted provisionally");
                        self.metrics
                            .generation_total
                            .with_label_values(&["F"])
                            .inc();
                        MintOutcome::Provisional(Box::new(record))
                    }
                    Err(fallback) => {
                        return Err(MintServiceError::BothUnavailable { drand, fallback })
                    }
                }
            }
        };
        self.metrics
            .generation_latency
            .observe(started.elapsed().as_secs_f64());
        Ok(outcome)
    }
}
