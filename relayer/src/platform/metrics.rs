//! Prometheus metrics with the SPEC §8 names. One [`Metrics`] per application (its own
//! registry), so tests never share counters.

use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Every collector the relayer exports.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// `chittyid_generation_total{issuer}`: IDs minted (authoritative `A`, provisional `F`).
    pub generation_total: IntCounterVec,
    /// `chittyid_generation_latency_seconds`: mint request latency, drand to durable commit.
    pub generation_latency: Histogram,
    /// `chittyid_validation_cache_hit_ratio`: hits / lookups of the verify cache.
    pub validation_cache_hit_ratio: Gauge,
    /// `chittyid_validation_cache_lookups_total{result}`: the counts behind the ratio.
    pub validation_cache_lookups: IntCounterVec,
    /// `chittyid_fallback_usage_ratio`: provisional mints / all mints since start.
    pub fallback_usage_ratio: Gauge,
    /// `chittyid_reconciliation_total{result}`: reconciled provisional IDs by outcome.
    pub reconciliation_total: IntCounterVec,
    /// `drand_beacon_available`: 1 when the last beacon fetch produced a valid, fresh beacon.
    pub drand_beacon_available: IntGauge,
    /// `circuit_breaker_state{dependency}`: 0 closed, 1 half-open, 2 open.
    pub circuit_breaker_state: IntGaugeVec,
    /// `chittyid_mint_commit_rows`: rows per group commit.
    pub mint_commit_rows: Histogram,
    /// `chittyid_sequence_collisions_total`: sequence collisions retried with a counter.
    pub sequence_collisions_total: IntCounter,
    /// `http_requests_total{route,status}`.
    pub http_requests_total: IntCounterVec,
    /// `proof_generation_seconds`: one ownership proof, from a free worker to the proof.
    pub proof_generation_seconds: Histogram,
    /// `prover_requests_total{result}`: `proved`, `busy` (refused with 429), `failed`.
    pub prover_requests_total: IntCounterVec,
    /// `tx_submitted_total{result}`: relayer submissions by outcome (`landed`, `conflict`,
    /// `failed`, `unavailable`).
    pub tx_submitted_total: IntCounterVec,
    /// `feature_flag_enabled{flag}`: the share of keys a flag lets through (0, 1, or the
    /// rollout fraction).
    pub feature_flag_enabled: GaugeVec,
    /// `webhook_deliveries_total{result}`: delivery attempts by outcome (`succeeded`,
    /// `retrying`, `failed`).
    pub webhook_deliveries_total: IntCounterVec,
    /// `webhook_attempt_seconds`: one delivery attempt, request to answer.
    pub webhook_attempt_seconds: Histogram,
    /// `webhook_outbox_depth`: events not yet fanned out plus deliveries still pending.
    pub webhook_outbox_depth: IntGauge,
    /// `webhook_outbox_oldest_seconds`: age of the oldest pending delivery.
    pub webhook_outbox_oldest_seconds: Gauge,
    /// `notifications_total{channel,result}`: email and SMS sends by outcome (`sent`,
    /// `retrying`, `waiting` (breaker open), `failed`).
    pub notifications_total: IntCounterVec,
    /// `challenge_reads_total{source}`: challenge reads answered from the cache (`cache`) or
    /// by a `getAccountInfo` (`chain`); RPC calls per read is chain / (cache + chain).
    pub challenge_reads_total: IntCounterVec,
    /// `http_request_duration_seconds{route}`: request latency, admission to answer (a shed
    /// request's time is its time at the door).
    pub http_request_duration: HistogramVec,
    /// `drand_fetch_seconds`: one fetch and verification of the latest beacon from one relay.
    pub drand_fetch_seconds: Histogram,
    /// `relayer_admission_in_flight`: requests being served (admission control).
    pub admission_in_flight: IntGauge,
    /// `relayer_admission_queued`: requests waiting for a slot.
    pub admission_queued: IntGauge,
    /// `relayer_admission_shed_total{reason}`: requests answered `503 OVERLOADED`
    /// (`queue_full`, `waited_too_long`).
    pub admission_shed_total: IntCounterVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every collector in a fresh registry.
    pub fn new() -> Self {
        let registry = Registry::new();
        macro_rules! reg {
            ($c:expr) => {{
                let c = $c.expect("metric definition is valid");
                registry
                    .register(Box::new(c.clone()))
                    .expect("metric names are unique");
                c
            }};
        }
        let metrics = Self {
            generation_total: reg!(IntCounterVec::new(
                Opts::new(
                    "chittyid_generation_total",
                    "ChittyIDs minted, by issuer class"
                ),
                &["issuer"]
            )),
            generation_latency: reg!(Histogram::with_opts(
                HistogramOpts::new(
                    "chittyid_generation_latency_seconds",
                    "Mint latency from request to durable commit"
                )
                .buckets(vec![
                    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0
                ])
            )),
            validation_cache_hit_ratio: reg!(Gauge::new(
                "chittyid_validation_cache_hit_ratio",
                "Verify cache hits divided by lookups"
            )),
            validation_cache_lookups: reg!(IntCounterVec::new(
                Opts::new(
                    "chittyid_validation_cache_lookups_total",
                    "Verify cache lookups by result"
                ),
                &["result"]
            )),
            fallback_usage_ratio: reg!(Gauge::new(
                "chittyid_fallback_usage_ratio",
                "Provisional (fallback) mints divided by all mints"
            )),
            reconciliation_total: reg!(IntCounterVec::new(
                Opts::new(
                    "chittyid_reconciliation_total",
                    "Provisional IDs processed by reconciliation, by result"
                ),
                &["result"]
            )),
            drand_beacon_available: reg!(IntGauge::new(
                "drand_beacon_available",
                "1 when the latest drand beacon fetch gave a valid, fresh beacon"
            )),
            circuit_breaker_state: reg!(IntGaugeVec::new(
                Opts::new(
                    "circuit_breaker_state",
                    "Circuit breaker state: 0 closed, 1 half-open, 2 open"
                ),
                &["dependency"]
            )),
            mint_commit_rows: reg!(Histogram::with_opts(
                HistogramOpts::new("chittyid_mint_commit_rows", "Rows per group commit").buckets(
                    vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0]
                )
            )),
            sequence_collisions_total: reg!(IntCounter::new(
                "chittyid_sequence_collisions_total",
                "Sequence collisions retried with a counter"
            )),
            http_requests_total: reg!(IntCounterVec::new(
                Opts::new("http_requests_total", "HTTP requests by route and status"),
                &["route", "status"]
            )),
            proof_generation_seconds: reg!(Histogram::with_opts(
                HistogramOpts::new(
                    "proof_generation_seconds",
                    "Ownership proof generation time on a prover worker"
                )
                .buckets(vec![0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0])
            )),
            prover_requests_total: reg!(IntCounterVec::new(
                Opts::new("prover_requests_total", "Proof requests by result"),
                &["result"]
            )),
            feature_flag_enabled: reg!(GaugeVec::new(
                Opts::new(
                    "feature_flag_enabled",
                    "Share of API keys a feature flag lets through (0 to 1)"
                ),
                &["flag"]
            )),
            tx_submitted_total: reg!(IntCounterVec::new(
                Opts::new(
                    "tx_submitted_total",
                    "Relayer transaction submissions by result"
                ),
                &["result"]
            )),
            webhook_deliveries_total: reg!(IntCounterVec::new(
                Opts::new(
                    "webhook_deliveries_total",
                    "Webhook delivery attempts by result"
                ),
                &["result"]
            )),
            webhook_attempt_seconds: reg!(Histogram::with_opts(
                HistogramOpts::new(
                    "webhook_attempt_seconds",
                    "One webhook delivery attempt, request to answer"
                )
                .buckets(vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0
                ])
            )),
            webhook_outbox_depth: reg!(IntGauge::new(
                "webhook_outbox_depth",
                "Events not yet fanned out plus webhook deliveries still pending"
            )),
            webhook_outbox_oldest_seconds: reg!(Gauge::new(
                "webhook_outbox_oldest_seconds",
                "Age of the oldest pending webhook delivery"
            )),
            notifications_total: reg!(IntCounterVec::new(
                Opts::new(
                    "notifications_total",
                    "Email and SMS notification sends by channel and result"
                ),
                &["channel", "result"]
            )),
            challenge_reads_total: reg!(IntCounterVec::new(
                Opts::new(
                    "challenge_reads_total",
                    "Challenge reads by where the answer came from (cache or chain)"
                ),
                &["source"]
            )),
            http_request_duration: reg!(HistogramVec::new(
                HistogramOpts::new(
                    "http_request_duration_seconds",
                    "HTTP request latency by route"
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                    30.0
                ]),
                &["route"]
            )),
            drand_fetch_seconds: reg!(Histogram::with_opts(
                HistogramOpts::new(
                    "drand_fetch_seconds",
                    "One fetch and verification of the latest drand beacon from one relay"
                )
                .buckets(vec![0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0])
            )),
            admission_in_flight: reg!(IntGauge::new(
                "relayer_admission_in_flight",
                "Requests being served (admission control)"
            )),
            admission_queued: reg!(IntGauge::new(
                "relayer_admission_queued",
                "Requests waiting for an admission slot"
            )),
            admission_shed_total: reg!(IntCounterVec::new(
                Opts::new(
                    "relayer_admission_shed_total",
                    "Requests refused 503 OVERLOADED at admission, by reason"
                ),
                &["reason"]
            )),
            registry,
        };
        metrics.export_known_series();
        metrics
    }

    /// Exports every series whose labels are known in advance at 0, so a ratio or `rate()`
    /// in an alert (ops/prometheus/alerts.yml) has its series from the first scrape, not from
    /// the first time the event happens.
    fn export_known_series(&self) {
        let counters: [(&IntCounterVec, &[&str]); 6] = [
            (&self.generation_total, &["A", "F"]),
            (
                &self.reconciliation_total,
                &["reconciled", "already_reconciled", "invalid"],
            ),
            (
                &self.webhook_deliveries_total,
                &["succeeded", "retrying", "failed"],
            ),
            (&self.prover_requests_total, &["proved", "busy", "failed"]),
            (
                &self.tx_submitted_total,
                &["landed", "conflict", "failed", "unavailable"],
            ),
            (
                &self.admission_shed_total,
                &["queue_full", "waited_too_long"],
            ),
        ];
        for (counter, labels) in counters {
            for label in labels {
                counter.with_label_values(&[label]).inc_by(0);
            }
        }
    }

    /// Recomputes the derived ratios.
    pub fn refresh_ratios(&self) {
        let hits = self
            .validation_cache_lookups
            .with_label_values(&["hit"])
            .get() as f64;
        let misses = self
            .validation_cache_lookups
            .with_label_values(&["miss"])
            .get() as f64;
        if hits + misses > 0.0 {
            self.validation_cache_hit_ratio.set(hits / (hits + misses));
        }
        let a = self.generation_total.with_label_values(&["A"]).get() as f64;
        let f = self.generation_total.with_label_values(&["F"]).get() as f64;
        if a + f > 0.0 {
            self.fallback_usage_ratio.set(f / (a + f));
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        self.refresh_ratios();
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding of gathered metrics cannot fail");
        String::from_utf8(out).unwrap_or_default()
    }
}
