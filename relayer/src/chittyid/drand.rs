//! The drand client: the latest quicknet beacon, verified, cached until the next round, with
//! failover across relays (SPEC §5.2 step 1, §6 "Resilience").
//!
//! * **Relays** are tried in the configured order. Each sits behind its own
//!   [`CircuitBreaker`] (`circuit_breaker_state{dependency="drand:<url>"}`) and a per-request
//!   timeout. A relay's `/{chain}/info` is fetched once and checked against the pinned chain
//!   before any of its beacons is used: a relay of another network is refused, and that counts
//!   against its breaker.
//! * **Trust** lies in the pinned group key only: every beacon's BLS signature is verified
//!   ([`ChainConfig::verify`]), and a "latest" beacon older than `max_age` by the clock is refused
//!   as stale, so a stuck relay cannot pin old randomness.
//! * **Cache:** [`DrandClient::latest`] answers from memory until the next round is due (an
//!   `Arc` clone under a read lock: it runs on every mint). Refreshes are single-flight: one
//!   caller fetches while the others wait and then share its beacon, or its error.
//! * **Observability:** `drand_beacon_available` is 1 after a refresh produced a valid, fresh
//!   beacon and 0 after one failed; [`DrandClient::health`] reports each relay's breaker and
//!   last error for `/health`.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use parking_lot::{Mutex, RwLock};
use serde::{de::DeserializeOwned, ser::SerializeStruct, Serialize, Serializer};
use veil_drand::{Beacon, BeaconError, ChainConfig, ChainInfo, VerifiedBeacon};

use crate::{
    platform::breaker::{
        BreakerConfig, BreakerOpen, BreakerState, CircuitBreaker, MonotonicTicker, Permit, Ticker,
    },
    platform::clock::Clock,
    platform::config::Config,
    platform::metrics::Metrics,
};

/// The largest relay answer read; drand's JSON documents are a few hundred bytes.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// Everything the client needs to know.
#[derive(Debug, Clone)]
pub struct DrandConfig {
    /// Relay base URLs (`https://api.drand.sh`), tried in this order.
    pub urls: Vec<String>,
    /// Per-request timeout (connect, headers and body).
    pub timeout: Duration,
    /// A "latest" beacon older than this, by the clock, is refused as stale.
    pub max_age: Duration,
    /// Each relay's breaker.
    pub breaker: BreakerConfig,
    /// The pinned chain.
    pub chain: ChainConfig,
}

impl DrandConfig {
    /// The `serve` configuration's drand settings, on the pinned quicknet chain.
    pub fn from_config(config: &Config) -> Self {
        Self {
            urls: config.drand_urls.clone(),
            timeout: config.drand_timeout(),
            max_age: Duration::from_secs(config.drand_max_age_secs),
            breaker: config.breaker(),
            chain: ChainConfig::quicknet(),
        }
    }

    /// Checks that there is at least one relay and that every relay URL is an absolute
    /// `http(s)` URL. [`DrandClient::new`] accepts an invalid configuration (every attempt on an
    /// invalid URL fails with [`RelayFailureKind::InvalidUrl`]); call this at startup to refuse it
    /// early.
    pub fn validate(&self) -> Result<(), DrandConfigError> {
        if self.urls.is_empty() {
            return Err(DrandConfigError::NoRelays);
        }
        match self.urls.iter().find(|url| !is_relay_url(base_url(url))) {
            Some(url) => Err(DrandConfigError::InvalidUrl { url: url.clone() }),
            None => Ok(()),
        }
    }
}

/// A relay base URL without surrounding blanks or trailing slashes.
fn base_url(url: &str) -> &str {
    url.trim().trim_end_matches('/')
}

fn is_relay_url(base: &str) -> bool {
    reqwest::Url::parse(base).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}

/// Why a [`DrandConfig`] is unusable ([`DrandConfig::validate`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrandConfigError {
    /// At least one relay is needed.
    #[error("no drand relay URL is configured")]
    NoRelays,
    /// A relay URL is not an absolute `http(s)` URL.
    #[error("drand relay URL {url:?} is not an absolute http(s) URL")]
    InvalidUrl {
        /// The URL as configured.
        url: String,
    },
}

/// Why one relay did not give a usable beacon.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayFailureKind {
    /// The relay's URL is not an absolute `http(s)` URL: it was skipped without a request.
    #[error("invalid relay URL")]
    InvalidUrl,
    /// The relay's breaker is open: it was skipped without a request.
    #[error("skipped: {0}")]
    BreakerOpen(#[source] BreakerOpen),
    /// The connection could not be established (refused, unreachable, DNS).
    #[error("connection failed")]
    Connect,
    /// No complete answer within the timeout.
    #[error("timed out")]
    Timeout,
    /// The request failed in transport after connecting (reset, malformed HTTP).
    #[error("transport error")]
    Transport,
    /// The relay answered with a non-success status.
    #[error("answered HTTP {0}")]
    Http(u16),
    /// The answer is larger than any drand document.
    #[error("answer larger than {MAX_BODY_BYTES} bytes")]
    BodyTooLarge,
    /// The answer is not the expected JSON document.
    #[error("answer is not the expected JSON")]
    Decode,
    /// The relay's `/info` is not the pinned chain's.
    #[error("serves another chain")]
    WrongChain(#[source] BeaconError),
    /// The beacon does not verify under the pinned chain.
    #[error("invalid beacon")]
    InvalidBeacon(#[source] BeaconError),
    /// The relay answered another round than the one asked for.
    #[error("answered round {got} for round {expected}")]
    WrongRound {
        /// The round asked for.
        expected: u64,
        /// The round answered.
        got: u64,
    },
    /// The relay's latest beacon is older than `max_age`.
    #[error("latest beacon (round {round}) is {age_secs} s old")]
    Stale {
        /// The beacon's round.
        round: u64,
        /// How far behind the clock's current round it is, in seconds.
        age_secs: u64,
    },
}

impl RelayFailureKind {
    /// A stable, machine-readable name (`/health`, logs).
    pub fn code(&self) -> &'static str {
        match self {
            RelayFailureKind::InvalidUrl => "invalid_url",
            RelayFailureKind::BreakerOpen(_) => "breaker_open",
            RelayFailureKind::Connect => "connect",
            RelayFailureKind::Timeout => "timeout",
            RelayFailureKind::Transport => "transport",
            RelayFailureKind::Http(_) => "http_status",
            RelayFailureKind::BodyTooLarge => "body_too_large",
            RelayFailureKind::Decode => "decode",
            RelayFailureKind::WrongChain(_) => "wrong_chain",
            RelayFailureKind::InvalidBeacon(_) => "invalid_beacon",
            RelayFailureKind::WrongRound { .. } => "wrong_round",
            RelayFailureKind::Stale { .. } => "stale",
        }
    }

    fn from_reqwest(error: &reqwest::Error) -> Self {
        if error.is_timeout() {
            RelayFailureKind::Timeout
        } else if error.is_connect() {
            RelayFailureKind::Connect
        } else if error.is_decode() {
            RelayFailureKind::Decode
        } else {
            RelayFailureKind::Transport
        }
    }
}

/// `{"kind": "<code>", "message": "<display>"}`: no URL, no transport detail.
impl Serialize for RelayFailureKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("RelayFailureKind", 2)?;
        s.serialize_field("kind", self.code())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

/// One relay's failure within a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("drand relay {url}: {kind}")]
pub struct RelayFailure {
    /// The relay's base URL.
    pub url: String,
    /// What went wrong.
    #[source]
    pub kind: RelayFailureKind,
}

/// Why no verified beacon could be returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrandError {
    /// Every relay was tried (or skipped by its breaker) and none gave a usable beacon.
    #[error("no drand relay gave a valid beacon ({} tried)", attempts.len())]
    AllRelaysFailed {
        /// One entry per configured relay, in order.
        attempts: Vec<RelayFailure>,
    },
    /// Round 0 does not exist.
    #[error("drand round 0 does not exist")]
    RoundZero,
}

/// `/health`'s view of one relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelayHealth {
    /// The relay's base URL.
    pub url: String,
    /// Its breaker's state.
    pub breaker: BreakerState,
    /// Whether its `/info` was fetched and matched the pinned chain.
    pub chain_checked: bool,
    /// The failure of its most recent attempt; `None` if that attempt succeeded or none was
    /// made.
    pub last_error: Option<RelayFailureKind>,
}

/// `/health`'s view of drand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrandHealth {
    /// Whether the last refresh produced a valid, fresh beacon (`drand_beacon_available`).
    pub available: bool,
    /// The round of the last beacon fetched, if any.
    pub cached_round: Option<u64>,
    /// Every relay, in failover order.
    pub relays: Vec<RelayHealth>,
}

struct Relay {
    url: String,
    /// Whether `url` is an absolute `http(s)` URL.
    valid: bool,
    info_url: String,
    latest_url: String,
    breaker: CircuitBreaker,
    chain_checked: AtomicBool,
    last_error: Mutex<Option<RelayFailureKind>>,
}

struct Cached {
    beacon: Arc<VerifiedBeacon>,
    /// Unix time until which the beacon is served without asking a relay.
    fresh_until: u64,
}

/// A verified, cached, failing-over drand client. Share it behind an `Arc`.
pub struct DrandClient {
    chain: ChainConfig,
    relays: Vec<Relay>,
    http: reqwest::Client,
    max_age: Duration,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
    cache: RwLock<Option<Cached>>,
    /// Held by the one caller refreshing the cache.
    refresh: tokio::sync::Mutex<()>,
    /// Completed refreshes, so waiters can tell that one happened while they waited.
    refreshes: AtomicU64,
    /// The error of the latest refresh, if it failed; shared with the callers that waited on it.
    last_failure: Mutex<Option<DrandError>>,
    available: AtomicBool,
}

impl std::fmt::Debug for DrandClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DrandClient")
            .field("chain", &self.chain.chain_hash)
            .field(
                "relays",
                &self.relays.iter().map(|r| &r.url).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl DrandClient {
    /// A client whose breakers run on real monotonic time. Fails only if the HTTP client cannot
    /// be built (TLS backend initialisation); see [`DrandConfig::validate`] for the URLs.
    pub fn new(
        config: DrandConfig,
        clock: Arc<dyn Clock>,
        metrics: Metrics,
    ) -> Result<Self, reqwest::Error> {
        Self::with_ticker(config, clock, Arc::new(MonotonicTicker::new()), metrics)
    }

    /// A client whose breakers run on `ticker` (tests drive breakers without sleeping).
    pub fn with_ticker(
        config: DrandConfig,
        clock: Arc<dyn Clock>,
        ticker: Arc<dyn Ticker>,
        metrics: Metrics,
    ) -> Result<Self, reqwest::Error> {
        if let Err(error) = config.validate() {
            tracing::error!(%error, "drand configuration is invalid");
        }
        let chain_hash = &config.chain.chain_hash;
        let relays = config
            .urls
            .iter()
            .map(|url| {
                let base = base_url(url);
                let breaker = CircuitBreaker::with_ticker(
                    format!("drand:{base}"),
                    config.breaker,
                    ticker.clone(),
                )
                .with_metrics(&metrics);
                Relay {
                    url: base.to_owned(),
                    valid: is_relay_url(base),
                    info_url: format!("{base}/{chain_hash}/info"),
                    latest_url: format!("{base}/{chain_hash}/public/latest"),
                    breaker,
                    chain_checked: AtomicBool::new(false),
                    last_error: Mutex::new(None),
                }
            })
            .collect();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("veil-relayer/", env!("CARGO_PKG_VERSION")))
            .build()?;
        metrics.drand_beacon_available.set(0);
        Ok(Self {
            chain: config.chain,
            relays,
            http,
            max_age: config.max_age,
            clock,
            metrics,
            cache: RwLock::new(None),
            refresh: tokio::sync::Mutex::new(()),
            refreshes: AtomicU64::new(0),
            last_failure: Mutex::new(None),
            available: AtomicBool::new(false),
        })
    }

    /// The pinned chain.
    pub fn chain(&self) -> &ChainConfig {
        &self.chain
    }

    /// The latest verified beacon: from the cache until the next round is due, otherwise
    /// fetched from the first relay that gives a valid, fresh one.
    pub async fn latest(&self) -> Result<Arc<VerifiedBeacon>, DrandError> {
        if let Some(beacon) = self.cached(self.clock.now_unix()) {
            return Ok(beacon);
        }
        let seen = self.refreshes.load(Ordering::Acquire);
        let _refreshing = self.refresh.lock().await;
        // Re-check: the caller that held the lock may have refreshed the cache.
        if let Some(beacon) = self.cached(self.clock.now_unix()) {
            return Ok(beacon);
        }
        // A refresh completed while this caller waited and the cache is still cold, so it
        // failed: share its error rather than asking every relay again.
        if self.refreshes.load(Ordering::Acquire) != seen {
            if let Some(error) = self.last_failure.lock().clone() {
                return Err(error);
            }
        }
        let outcome = self.refresh_latest().await;
        *self.last_failure.lock() = outcome.as_ref().err().cloned();
        self.refreshes.fetch_add(1, Ordering::Release);
        outcome
    }

    /// A specific round, verified (offline re-verification of stored evidence). Not cached, not
    /// subject to `max_age`.
    pub async fn round(&self, round: u64) -> Result<VerifiedBeacon, DrandError> {
        if round == 0 {
            return Err(DrandError::RoundZero);
        }
        let mut attempts = Vec::new();
        for relay in &self.relays {
            let permit = match self.acquire(relay) {
                Ok(permit) => permit,
                Err(skipped) => {
                    attempts.push(self.failed(relay, skipped));
                    continue;
                }
            };
            match self.round_from(relay, round).await {
                Ok(beacon) => {
                    permit.record_success();
                    *relay.last_error.lock() = None;
                    return Ok(beacon);
                }
                // The relay is up and says the round does not exist (yet): not its fault.
                Err(kind @ RelayFailureKind::Http(404)) => {
                    permit.record_success();
                    attempts.push(self.failed(relay, kind));
                }
                Err(kind) => {
                    permit.record_failure();
                    attempts.push(self.failed(relay, kind));
                }
            }
        }
        Err(DrandError::AllRelaysFailed { attempts })
    }

    /// Each relay's breaker and last error, the cached round, and availability.
    pub fn health(&self) -> DrandHealth {
        DrandHealth {
            available: self.available.load(Ordering::Acquire),
            cached_round: self.cache.read().as_ref().map(|c| c.beacon.round),
            relays: self
                .relays
                .iter()
                .map(|relay| RelayHealth {
                    url: relay.url.clone(),
                    breaker: relay.breaker.state(),
                    chain_checked: relay.chain_checked.load(Ordering::Acquire),
                    last_error: relay.last_error.lock().clone(),
                })
                .collect(),
        }
    }

    fn cached(&self, now: u64) -> Option<Arc<VerifiedBeacon>> {
        match &*self.cache.read() {
            Some(cached) if now < cached.fresh_until => Some(cached.beacon.clone()),
            _ => None,
        }
    }

    async fn refresh_latest(&self) -> Result<Arc<VerifiedBeacon>, DrandError> {
        let mut attempts = Vec::new();
        for relay in &self.relays {
            let permit = match self.acquire(relay) {
                Ok(permit) => permit,
                Err(skipped) => {
                    attempts.push(self.failed(relay, skipped));
                    continue;
                }
            };
            let started = std::time::Instant::now();
            let fetched = self.latest_from(relay).await;
            self.metrics
                .drand_fetch_seconds
                .observe(started.elapsed().as_secs_f64());
            match fetched {
                Ok(beacon) => {
                    permit.record_success();
                    *relay.last_error.lock() = None;
                    let beacon = Arc::new(beacon);
                    let now = self.clock.now_unix();
                    // Serve it until the next round is due; a relay still on the previous round
                    // is asked again a second later, not on every call.
                    let next_round = beacon
                        .round
                        .checked_add(1)
                        .and_then(|r| self.chain.round_time(r))
                        .unwrap_or(u64::MAX);
                    *self.cache.write() = Some(Cached {
                        beacon: beacon.clone(),
                        fresh_until: next_round.max(now.saturating_add(1)),
                    });
                    self.set_available(true);
                    return Ok(beacon);
                }
                Err(kind) => {
                    permit.record_failure();
                    attempts.push(self.failed(relay, kind));
                }
            }
        }
        self.set_available(false);
        Err(DrandError::AllRelaysFailed { attempts })
    }

    async fn latest_from(&self, relay: &Relay) -> Result<VerifiedBeacon, RelayFailureKind> {
        self.ensure_chain(relay).await?;
        let beacon: Beacon = self.get_json(&relay.latest_url).await?;
        // One pairing check per round (about a millisecond), not per request.
        let verified = self
            .chain
            .verify(&beacon)
            .map_err(RelayFailureKind::InvalidBeacon)?;
        // A latest beacon more than `max_age` behind the clock's round is refused.
        let current = self.chain.round_at(self.clock.now_unix());
        let age_secs = current
            .saturating_sub(verified.round)
            .saturating_mul(self.chain.period);
        if age_secs > self.max_age.as_secs() {
            return Err(RelayFailureKind::Stale {
                round: verified.round,
                age_secs,
            });
        }
        Ok(verified)
    }

    async fn round_from(
        &self,
        relay: &Relay,
        round: u64,
    ) -> Result<VerifiedBeacon, RelayFailureKind> {
        self.ensure_chain(relay).await?;
        let url = format!("{}/{}/public/{round}", relay.url, self.chain.chain_hash);
        let beacon: Beacon = self.get_json(&url).await?;
        // The relay shall answer the round asked for.
        if beacon.round != round {
            return Err(RelayFailureKind::WrongRound {
                expected: round,
                got: beacon.round,
            });
        }
        self.chain
            .verify(&beacon)
            .map_err(RelayFailureKind::InvalidBeacon)
    }

    /// A relay's beacons are used only once its `/info` matched the pinned chain.
    async fn ensure_chain(&self, relay: &Relay) -> Result<(), RelayFailureKind> {
        if relay.chain_checked.load(Ordering::Acquire) {
            return Ok(());
        }
        let info: ChainInfo = self.get_json(&relay.info_url).await?;
        self.chain
            .check_info(&info)
            .map_err(RelayFailureKind::WrongChain)?;
        relay.chain_checked.store(true, Ordering::Release);
        Ok(())
    }

    async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, RelayFailureKind> {
        let on_error = |error: reqwest::Error| {
            tracing::debug!(%url, %error, "drand relay request failed");
            RelayFailureKind::from_reqwest(&error)
        };
        let mut response = self.http.get(url).send().await.map_err(on_error)?;
        let status = response.status();
        if !status.is_success() {
            return Err(RelayFailureKind::Http(status.as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY_BYTES as u64)
        {
            return Err(RelayFailureKind::BodyTooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(on_error)? {
            if body.len().saturating_add(chunk.len()) > MAX_BODY_BYTES {
                return Err(RelayFailureKind::BodyTooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|_| RelayFailureKind::Decode)
    }

    /// Leave to ask `relay`, unless its URL is invalid or its breaker is open.
    fn acquire<'r>(&self, relay: &'r Relay) -> Result<Permit<'r>, RelayFailureKind> {
        if !relay.valid {
            return Err(RelayFailureKind::InvalidUrl);
        }
        relay
            .breaker
            .try_acquire()
            .map_err(RelayFailureKind::BreakerOpen)
    }

    fn failed(&self, relay: &Relay, kind: RelayFailureKind) -> RelayFailure {
        tracing::warn!(relay = %relay.url, error = %kind, "drand relay failed");
        *relay.last_error.lock() = Some(kind.clone());
        RelayFailure {
            url: relay.url.clone(),
            kind,
        }
    }

    fn set_available(&self, available: bool) {
        self.available.store(available, Ordering::Release);
        self.metrics
            .drand_beacon_available
            .set(i64::from(available));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::clock::SystemClock;

    fn config(urls: &[&str]) -> DrandConfig {
        DrandConfig {
            urls: urls.iter().map(|u| (*u).to_owned()).collect(),
            timeout: Duration::from_secs(1),
            max_age: Duration::from_secs(30),
            breaker: BreakerConfig {
                failure_threshold: 3,
                open_for: Duration::from_secs(10),
            },
            chain: ChainConfig::quicknet(),
        }
    }

    #[test]
    fn config_refuses_no_relays_and_bad_urls() {
        assert_eq!(config(&[]).validate(), Err(DrandConfigError::NoRelays));
        assert_eq!(
            config(&["api.drand.sh"]).validate(),
            Err(DrandConfigError::InvalidUrl {
                url: "api.drand.sh".into()
            })
        );
        assert!(matches!(
            config(&["https://api.drand.sh", "ftp://x.example"]).validate(),
            Err(DrandConfigError::InvalidUrl { .. })
        ));
        assert_eq!(config(&["https://api.drand.sh/"]).validate(), Ok(()));
        assert_eq!(
            DrandConfig::from_config(&Config::defaults()).validate(),
            Ok(())
        );
    }

    #[tokio::test]
    async fn client_skips_invalid_urls_without_a_request() {
        let client = DrandClient::new(
            config(&["not a url"]),
            Arc::new(SystemClock),
            Metrics::new(),
        )
        .unwrap();
        assert_eq!(
            client.latest().await,
            Err(DrandError::AllRelaysFailed {
                attempts: vec![RelayFailure {
                    url: "not a url".into(),
                    kind: RelayFailureKind::InvalidUrl
                }]
            })
        );
        assert_eq!(client.health().relays[0].breaker, BreakerState::Closed);
    }

    #[test]
    fn client_names_breakers_after_trimmed_urls() {
        let metrics = Metrics::new();
        let client = DrandClient::new(
            config(&["https://api.drand.sh/", "https://drand.cloudflare.com"]),
            Arc::new(SystemClock),
            metrics.clone(),
        )
        .unwrap();
        let health = client.health();
        assert!(!health.available);
        assert_eq!(health.cached_round, None);
        assert_eq!(health.relays[0].url, "https://api.drand.sh");
        assert_eq!(health.relays[0].breaker, BreakerState::Closed);
        let rendered = metrics.render();
        assert!(
            rendered.contains("circuit_breaker_state{dependency=\"drand:https://api.drand.sh\"} 0")
        );
        assert!(rendered.contains("drand_beacon_available 0"));
    }

    #[test]
    fn relay_failures_serialize_without_detail() {
        let kind = RelayFailureKind::Stale {
            round: 7,
            age_secs: 60,
        };
        assert_eq!(
            serde_json::to_value(&kind).unwrap(),
            serde_json::json!({"kind": "stale", "message": "latest beacon (round 7) is 60 s old"})
        );
    }
}
