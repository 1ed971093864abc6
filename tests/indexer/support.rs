//! A recorded stream of real transactions, and the rows it must produce.

use std::collections::{BTreeMap, BTreeSet};

use anchor_lang::event::EVENT_IX_TAG_LE;
use challenge::state::{Mode, Outcome, Party};
use sqlx::{PgExecutor, PgPool};
use tokio_util::sync::CancellationToken;
use veil_client::decode::{ChallengeEvent, RegistryEvent};
use veil_harness::{scalar, ChallengeFixture, Executed, TxResult};
use veil_indexer::{
    run, ChannelSource, Counters, Cursor, InnerIx, PgStore, RunConfig, TxUpdate, Update,
};

/// Slot of the first recorded transaction.
pub const FIRST_SLOT: u64 = 1_000;
/// Transactions per slot in the stream.
pub const TXS_PER_SLOT: usize = 3;
/// Block time of slot 0 of the stream.
pub const BLOCK_TIME_BASE: i64 = 1_800_000_000;
/// The track the recorded roots go to.
pub const TRACK: [u8; 32] = {
    let mut id = [0u8; 32];
    id[31] = 0x2a;
    id
};
/// The namespace of the recorded ID batches.
pub const NAMESPACE: [u8; 4] = *b"CHI\0";

fn keep(into: &mut Vec<Executed>, result: TxResult) {
    into.push(result.expect("the recorded transaction lands"));
}

/// Executes registry and challenge instructions on one chain and keeps what landed.
pub struct Recorder {
    /// The chain and its actors.
    pub f: ChallengeFixture,
    /// Every landed transaction, in order.
    pub executed: Vec<Executed>,
}

impl Recorder {
    /// A configured chain, nothing recorded yet.
    pub fn new() -> Self {
        Self {
            f: ChallengeFixture::new(),
            executed: Vec::new(),
        }
    }

    /// A track, `roots` roots published to it, and `batches` ID batches anchored.
    pub fn registry(&mut self, roots: u64, batches: u64) -> &mut Self {
        let r = self.f.t.create_track(TRACK, 20, 0);
        keep(&mut self.executed, r);
        for i in 0..roots {
            let r = self.f.t.publish_root(TRACK, scalar(10_000 + i), i + 1);
            keep(&mut self.executed, r);
        }
        let registrar = self.f.t.registrar.insecure_clone();
        for i in 0..batches {
            let r = self.f.t.anchor_id_batch_as(
                &registrar,
                NAMESPACE,
                scalar(50_000 + i),
                i * 100,
                100,
            );
            keep(&mut self.executed, r);
        }
        self
    }

    /// `n` bonded Fire challenges taken through their whole life: create, accept, two
    /// attestations, two deposits, lock, two agreeing confirmations, settle.
    pub fn challenges(&mut self, n: usize) -> &mut Self {
        let creator = self.f.creator.insecure_clone();
        let counterparty = self.f.counterparty.insecure_clone();
        for k in 0..n {
            let args = self.f.args(Mode::Fire);
            let (c, r) = self.f.create(args);
            let out = &mut self.executed;
            keep(out, r);
            keep(out, self.f.accept(&c, &counterparty));
            keep(out, self.f.attest(&c, Party::Creator, true));
            keep(out, self.f.attest(&c, Party::Counterparty, true));
            keep(out, self.f.deposit(&c, Party::Creator));
            keep(out, self.f.deposit(&c, Party::Counterparty));
            keep(out, self.f.lock(&c, &counterparty));
            let outcome = if k % 2 == 0 {
                Outcome::CreatorWins
            } else {
                Outcome::CounterpartyWins
            };
            keep(out, self.f.confirm(&c, &creator, outcome));
            keep(out, self.f.confirm(&c, &counterparty, outcome));
            keep(out, self.f.settle(&c));
        }
        self
    }

    /// The recorded transactions as a source would deliver them: [`TXS_PER_SLOT`] per slot
    /// from [`FIRST_SLOT`].
    pub fn updates(&self) -> Vec<TxUpdate> {
        to_updates(&self.executed, FIRST_SLOT)
    }
}

/// `executed` as delivered updates, [`TXS_PER_SLOT`] per slot from `first_slot`.
pub fn to_updates(executed: &[Executed], first_slot: u64) -> Vec<TxUpdate> {
    executed
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let slot = first_slot + (i / TXS_PER_SLOT) as u64;
            TxUpdate {
                slot,
                signature: e.signature.clone(),
                block_time: Some(BLOCK_TIME_BASE + slot as i64),
                index_in_slot: (i % TXS_PER_SLOT) as u32,
                inner: e
                    .inner
                    .iter()
                    .map(|list| {
                        list.iter()
                            .map(|ix| InnerIx {
                                program_id: ix.program_id,
                                data: ix.data.clone(),
                            })
                            .collect()
                    })
                    .collect(),
                failed: false,
            }
        })
        .collect()
}

/// The key of a row: (signature, ix_index, event_index).
pub type Key = (String, i32, i32);
/// What the tests compare per row: (slot, event type name).
pub type Row = (i64, String);

/// The variant name of a decoded event, from its `Debug` form (independent of the indexer).
fn name(debug: String) -> String {
    debug.split('(').next().unwrap_or_default().to_owned()
}

/// The rows `txs` must produce, decoded here with `veil-client` alone: every event CPI of a
/// successful transaction (an inner instruction to one of the programs carrying the
/// event-CPI tag) is numbered within its top-level instruction, and kept if it decodes.
pub fn expected(txs: &[TxUpdate]) -> BTreeMap<Key, Row> {
    let mut out = BTreeMap::new();
    for tx in txs.iter().filter(|tx| !tx.failed) {
        for (ix_index, inner) in tx.inner.iter().enumerate() {
            let mut event_index = 0;
            for cpi in inner {
                if !cpi.data.starts_with(EVENT_IX_TAG_LE) {
                    continue;
                }
                let kind = if cpi.program_id == veil_client::registry::PROGRAM_ID {
                    RegistryEvent::decode_event_cpi(&cpi.data)
                        .ok()
                        .map(|e| name(format!("{e:?}")))
                } else if cpi.program_id == veil_client::challenge::PROGRAM_ID {
                    ChallengeEvent::decode_event_cpi(&cpi.data)
                        .ok()
                        .map(|e| name(format!("{e:?}")))
                } else {
                    continue;
                };
                if let Some(kind) = kind {
                    out.insert(
                        (tx.signature.clone(), ix_index as i32, event_index),
                        (tx.slot as i64, kind),
                    );
                }
                event_index += 1;
            }
        }
    }
    out
}

/// Every row of `indexer_events`.
pub async fn rows<'c>(pool: impl PgExecutor<'c>) -> BTreeMap<Key, Row> {
    let rows: Vec<(String, i32, i32, i64, String)> =
        sqlx::query_as("SELECT signature, ix_index, event_index, slot, kind FROM indexer_events")
            .fetch_all(pool)
            .await
            .expect("select indexer_events");
    rows.into_iter()
        .map(|(s, i, e, slot, kind)| ((s, i, e), (slot, kind)))
        .collect()
}

/// Asserts two row sets are equal, printing only the differences.
#[track_caller]
pub fn assert_rows(got: &BTreeMap<Key, Row>, want: &BTreeMap<Key, Row>) {
    let missing: Vec<_> = want
        .iter()
        .filter(|(k, v)| got.get(*k) != Some(*v))
        .collect();
    let extra: Vec<_> = got
        .iter()
        .filter(|(k, v)| want.get(*k) != Some(*v))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} rows, {} expected; {} missing (first {:?}); {} extra (first {:?})",
        got.len(),
        want.len(),
        missing.len(),
        missing.first(),
        extra.len(),
        extra.first()
    );
}

/// The committed cursor and the event rows, read in one snapshot.
pub async fn snapshot(pool: &PgPool, name: &str) -> (Option<Cursor>, BTreeMap<Key, Row>) {
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .execute(&mut *tx)
        .await
        .expect("repeatable read");
    let cursor: Option<(i64, i64, Option<String>)> =
        sqlx::query_as("SELECT slot, index_in_slot, signature FROM indexer_cursor WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await
            .expect("cursor");
    let rows = rows(&mut *tx).await;
    tx.commit().await.expect("commit");
    let cursor = cursor.map(|(slot, index, signature)| Cursor {
        slot: slot as u64,
        index_in_slot: index as u32,
        signature,
    });
    (cursor, rows)
}

/// Row counts of every table the indexer writes, for before/after comparisons.
pub async fn table_counts(pool: &PgPool) -> BTreeMap<&'static str, i64> {
    let mut out = BTreeMap::new();
    for table in veil_indexer::persist::EVENT_TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(pool)
            .await
            .expect("count");
        out.insert(*table, n);
    }
    out
}

/// How many expected rows have each kind.
pub fn kinds(expected: &BTreeMap<Key, Row>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (_, kind) in expected.values() {
        *out.entry(kind.clone()).or_default() += 1;
    }
    out
}

/// The slots `txs` cover.
pub fn slots(txs: &[TxUpdate]) -> BTreeSet<u64> {
    txs.iter().map(|t| t.slot).collect()
}

/// Runs the pipeline over `updates` to the end of the stream.
pub async fn run_to_end(store: &PgStore, updates: Vec<Update>, config: RunConfig) -> Counters {
    let counters = Counters::default();
    let mut source = ChannelSource::from_updates(updates);
    run(
        &mut source,
        store,
        &counters,
        &CancellationToken::new(),
        config,
    )
    .await
    .expect("pipeline runs");
    counters
}

/// The updates of `txs` strictly after `cursor` (all of them without one).
pub fn after(txs: &[TxUpdate], cursor: Option<&Cursor>) -> Vec<Update> {
    txs.iter()
        .filter(|t| cursor.is_none_or(|c| c.is_before(t.slot, t.index_in_slot)))
        .cloned()
        .map(Update::Tx)
        .collect()
}

/// All of `txs` as updates.
pub fn all(txs: &[TxUpdate]) -> Vec<Update> {
    after(txs, None)
}
