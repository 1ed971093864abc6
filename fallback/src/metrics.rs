//! Prometheus metrics of the fallback minter, one registry per [`Metrics`] (tests never share
//! counters).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// Every collector the fallback exports.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    /// `fallback_http_requests_total{route,status}`.
    pub http_requests_total: IntCounterVec,
    /// `fallback_http_request_duration_seconds{route}`.
    pub http_request_duration: HistogramVec,
    /// `fallback_records_issued`: provisional records held (read at each scrape).
    pub records_issued: IntGauge,
    /// `fallback_last_seq_no`: the last sequence number issued (read at each scrape).
    pub last_seq_no: IntGauge,
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
        let http_requests_total = IntCounterVec::new(
            Opts::new(
                "fallback_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["route", "status"],
        )
        .expect("metric definition is valid");
        let http_request_duration = HistogramVec::new(
            HistogramOpts::new(
                "fallback_http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
            &["route"],
        )
        .expect("metric definition is valid");
        let records_issued = IntGauge::new("fallback_records_issued", "Provisional records held")
            .expect("metric definition is valid");
        let last_seq_no = IntGauge::new("fallback_last_seq_no", "Last sequence number issued")
            .expect("metric definition is valid");
        for collector in [
            Box::new(http_requests_total.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_request_duration.clone()),
            Box::new(records_issued.clone()),
            Box::new(last_seq_no.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }
        Self {
            registry,
            http_requests_total,
            http_request_duration,
            records_issued,
            last_seq_no,
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding of gathered metrics cannot fail");
        String::from_utf8(out).unwrap_or_default()
    }
}
