//! Prometheus metrics of the indexer (SPEC §8): `indexer_lag_slots`,
//! `indexer_events_total{kind}`, `indexer_decode_errors_total`, `indexer_dead_letters_total` and
//! `indexer_reconnects_total`; and the gap handling's `indexer_gaps_total`,
//! `indexer_backfills_total` and `indexer_backfilled_slots_total`. One [`IndexerMetrics`] per application, with its own
//! registry, so tests never share counters.
//!
//! The pipeline's [`Counters`] stay the source of truth for totals; [`IndexerMetrics::sync`]
//! carries their growth into the Prometheus counters. Counts per event kind come from
//! [`Metered`], a [`Persist`] wrapper that counts the events of every batch it has written,
//! so neither the decode stage nor the pipeline changes.

use std::sync::{Arc, Mutex};

use prometheus::{Encoder, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

use crate::{
    decode::{Counters, DecodedEvent, ProgramEvent},
    persist::{Batch, Cursor, Persist, PersistError},
};

/// The values of [`Counters`] already carried into the Prometheus counters.
#[derive(Debug, Default)]
struct Synced {
    undecodable: u64,
    db_retries: u64,
    backfills: u64,
    backfilled_slots: u64,
}

/// Every collector the indexer exports.
#[derive(Debug)]
pub struct IndexerMetrics {
    registry: Registry,
    /// `indexer_lag_slots`: the source's newest slot minus the committed cursor's slot.
    pub lag_slots: IntGauge,
    /// `indexer_events_total{kind}`: events written, by event type name (`OwnershipVerified`, …).
    pub events_total: IntCounterVec,
    /// `indexer_decode_errors_total`: event CPIs of our programs that did not decode.
    pub decode_errors_total: IntCounter,
    /// `indexer_dead_letters_total`: events written to `indexer_dead_letters` instead of
    /// their tables (undecodable ones; an unprojectable one is logged there too).
    pub dead_letters_total: IntCounter,
    /// `indexer_db_retries_total`: transient database errors the store retried.
    pub db_retries_total: IntCounter,
    /// `indexer_reconnects_total`: reconnects of the streaming source.
    pub reconnects_total: IntCounter,
    /// `indexer_gaps_total`: skipped blocks seen in the live stream.
    pub gaps_total: IntCounter,
    /// `indexer_backfills_total`: slot ranges backfilled over RPC.
    pub backfills_total: IntCounter,
    /// `indexer_backfilled_slots_total`: slots those ranges held.
    pub backfilled_slots_total: IntCounter,
    synced: Mutex<Synced>,
}

impl Default for IndexerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl IndexerMetrics {
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
            lag_slots: reg!(IntGauge::new(
                "indexer_lag_slots",
                "Newest slot seen by the source minus the slot of the committed cursor"
            )),
            events_total: reg!(IntCounterVec::new(
                Opts::new("indexer_events_total", "Program events written, by kind"),
                &["kind"]
            )),
            decode_errors_total: reg!(IntCounter::new(
                "indexer_decode_errors_total",
                "Event CPIs of our programs that did not decode"
            )),
            dead_letters_total: reg!(IntCounter::new(
                "indexer_dead_letters_total",
                "Events written to the dead-letter table instead of their tables"
            )),
            db_retries_total: reg!(IntCounter::new(
                "indexer_db_retries_total",
                "Transient database errors (pool timeout, broken connection, serialization \
                 failure) retried by the store"
            )),
            reconnects_total: reg!(IntCounter::new(
                "indexer_reconnects_total",
                "Reconnects of the streaming source"
            )),
            gaps_total: reg!(IntCounter::new(
                "indexer_gaps_total",
                "Skipped blocks seen in the live stream (a block meta whose parent is newer than \
                 the last block)"
            )),
            backfills_total: reg!(IntCounter::new(
                "indexer_backfills_total",
                "Slot ranges backfilled over RPC"
            )),
            backfilled_slots_total: reg!(IntCounter::new(
                "indexer_backfilled_slots_total",
                "Slots in the ranges backfilled over RPC"
            )),
            synced: Mutex::new(Synced::default()),
            registry,
        };
        // Every kind from the first scrape, so a rate by kind has its series before the first
        // event of that kind.
        for kind in crate::decode::ProgramEvent::kinds() {
            metrics.events_total.with_label_values(&[kind]).inc_by(0);
        }
        metrics
    }

    /// Carries the growth of `counters` since the last call into the Prometheus counters.
    /// A `counters` that went backwards (a fresh [`Counters`] after a restart) is counted
    /// from zero again, so the exported counter never decreases.
    pub fn sync(&self, counters: &Counters) {
        fn carry(into: &IntCounter, seen: &mut u64, now: u64) {
            into.inc_by(now.checked_sub(*seen).unwrap_or(now));
            *seen = now;
        }
        let mut synced = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        let synced = &mut *synced;
        carry(
            &self.decode_errors_total,
            &mut synced.undecodable,
            Counters::get(&counters.undecodable),
        );
        carry(
            &self.backfills_total,
            &mut synced.backfills,
            Counters::get(&counters.backfills),
        );
        carry(
            &self.backfilled_slots_total,
            &mut synced.backfilled_slots,
            Counters::get(&counters.backfilled_slots),
        );
    }

    /// Carries the store's retry total into `indexer_db_retries_total`.
    pub fn sync_db_retries(&self, total: u64) {
        let mut synced = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        self.db_retries_total
            .inc_by(total.checked_sub(synced.db_retries).unwrap_or(total));
        synced.db_retries = total;
    }

    /// Counts written events by kind.
    pub fn observe_events(&self, events: &[DecodedEvent]) {
        for event in events {
            if matches!(event.event, ProgramEvent::Undecodable(_)) {
                self.dead_letters_total.inc();
                continue;
            }
            self.events_total
                .with_label_values(&[event.event.kind()])
                .inc();
        }
    }

    /// Sets the lag: `head_slot` (the newest slot the source has seen) minus the cursor's
    /// slot; no cursor yet counts as the whole head. Never negative.
    pub fn set_lag(&self, head_slot: u64, cursor: Option<&Cursor>) {
        let behind = head_slot.saturating_sub(cursor.map_or(0, |c| c.slot));
        self.lag_slots
            .set(i64::try_from(behind).unwrap_or(i64::MAX));
    }

    /// Counts one reconnect of the streaming source.
    pub fn record_reconnect(&self) {
        self.reconnects_total.inc();
    }

    /// The Prometheus text exposition of every collector.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding of gathered metrics cannot fail");
        String::from_utf8(out).unwrap_or_default()
    }
}

/// A [`Persist`] that counts the events of every batch its inner store has written
/// (`indexer_events_total{kind}`). Failed writes count nothing; a replayed batch counts
/// again, since the counter measures events processed, not rows added.
#[derive(Debug, Clone)]
pub struct Metered<P> {
    inner: P,
    metrics: Arc<IndexerMetrics>,
}

impl<P> Metered<P> {
    /// Wraps `inner`.
    pub fn new(inner: P, metrics: Arc<IndexerMetrics>) -> Self {
        Self { inner, metrics }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &P {
        &self.inner
    }
}

impl<P: Persist> Persist for Metered<P> {
    async fn write_after(
        &self,
        batch: &Batch,
        after: Option<&Cursor>,
    ) -> Result<bool, PersistError> {
        let covered = self.inner.write_after(batch, after).await?;
        self.metrics.observe_events(&batch.events);
        Ok(covered)
    }

    async fn rollback_slot(&self, slot: u64) -> Result<u64, PersistError> {
        self.inner.rollback_slot(slot).await
    }

    async fn cursor(&self) -> Result<Option<Cursor>, PersistError> {
        self.inner.cursor().await
    }

    async fn set_finalized(&self, slot: u64) -> Result<(), PersistError> {
        self.inner.set_finalized(slot).await
    }
}
