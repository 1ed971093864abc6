//! The persist stage: batches of events into PostgreSQL (`migrations/0003_indexer.sql`).
//!
//! One batch is one SQL statement, hence one transaction: a data-modifying CTE per table
//! inserts its rows with `INSERT … SELECT … FROM UNNEST(…) ON CONFLICT DO NOTHING`, keyed by
//! (signature, ix_index, event_index), and another moves the cursor that covers the batch.
//! A crash, or the pipeline's task being dropped, at any point therefore leaves either the
//! batch and its cursor, or neither, and never an open transaction on a pooled connection;
//! a replay of anything already written changes nothing.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, OnceLock,
    },
    time::Duration,
};

use challenge::events::StatusChanged;
use sqlx::{PgPool, Row as _};
use veil_client::decode::{ChallengeEvent, RegistryEvent};

use crate::decode::{DecodedEvent, ProgramEvent};

/// A position in the chain: after the transaction at (`slot`, `index_in_slot`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Slot of the last transaction covered.
    pub slot: u64,
    /// Its index in the slot; [`u32::MAX`] covers the whole slot.
    pub index_in_slot: u32,
    /// Its signature (none after a rewind).
    pub signature: Option<String>,
}

impl Cursor {
    /// The position after every transaction of `slot`.
    pub fn end_of_slot(slot: u64) -> Self {
        Self {
            slot,
            index_in_slot: u32::MAX,
            signature: None,
        }
    }

    /// Whether the transaction at (`slot`, `index_in_slot`) lies after this position.
    pub fn is_before(&self, slot: u64, index_in_slot: u32) -> bool {
        (self.slot, self.index_in_slot) < (slot, index_in_slot)
    }
}

/// What one write covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// The events of the batch's transactions.
    pub events: Vec<DecodedEvent>,
    /// The position of the batch's last transaction.
    pub cursor: Option<Cursor>,
}

/// Why a write failed.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// An unsigned value does not fit a BIGINT column.
    #[error("{field} = {value} does not fit a BIGINT")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
    },
}

/// The last stage: durable, idempotent storage of batches.
///
/// **Concurrent writers.** The pipeline may have several [`write_after`](Persist::write_after)
/// calls in flight, each naming the position of the batch submitted before it (`after`). A
/// store must then move the cursor to a batch's position only once the committed cursor has
/// reached `after`, in the same transaction as the batch's rows: the committed cursor never
/// covers a batch that is not committed, whatever order the writes commit in. A write that
/// could not move the cursor for that reason says so (`Ok(false)`), and the pipeline, once
/// every batch before it is committed, moves the cursor over it with an empty batch.
pub trait Persist: Send + Sync {
    /// Writes `batch` atomically with its cursor: the rows (those already present are left as
    /// they are), and the cursor moved forward to `batch.cursor`, but only if the committed
    /// cursor already stands at or past `after` (with `None`, unconditionally forward).
    /// Returns whether the committed cursor now covers the batch's position.
    fn write_after(
        &self,
        batch: &Batch,
        after: Option<&Cursor>,
    ) -> impl Future<Output = Result<bool, PersistError>> + Send;

    /// Writes `batch` and its cursor atomically; rows already present are left as they are.
    fn write(&self, batch: &Batch) -> impl Future<Output = Result<(), PersistError>> + Send {
        async move { self.write_after(batch, None).await.map(|_| ()) }
    }

    /// Removes every row of `slot` and rewinds the cursor before it if it had passed it.
    /// Returns the number of event rows removed.
    fn rollback_slot(&self, slot: u64) -> impl Future<Output = Result<u64, PersistError>> + Send;

    /// The committed position, if any.
    fn cursor(&self) -> impl Future<Output = Result<Option<Cursor>, PersistError>> + Send;

    /// Records that `slot` is finalized (a watermark that only moves forward): rows at or
    /// below it can no longer be rolled back, so consumers that need finality filter on it.
    fn set_finalized(&self, slot: u64) -> impl Future<Output = Result<(), PersistError>> + Send;
}

/// [`Persist`] on PostgreSQL, for the pipeline called `name` (its cursor row).
///
/// **Transient failures are retried, never fatal** (audit finding 9): a pool timeout, a broken
/// connection, a serialization failure or deadlock, or a server shutting down is retried with
/// exponential backoff and jitter ([`RETRY`]) and counted ([`PgStore::retries`]). Every
/// statement is idempotent and atomic (see [`write_sql`]), so a retry after a commit whose
/// answer was lost changes nothing.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    name: String,
    retries: Arc<AtomicU64>,
}

/// The retry policy of transient database errors: 50 ms doubling to at most 2 s, with jitter,
/// up to 12 retries (about 15 s in all) before the error is returned.
pub const RETRY: veil_retry::Policy =
    veil_retry::Policy::new(Duration::from_millis(50), Duration::from_secs(2), 12);

/// Whether `error` is worth retrying: the database or the way to it failed, not the
/// statement.
pub fn is_transient(error: &PersistError) -> bool {
    let PersistError::Database(error) = error else {
        return false;
    };
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => matches!(
            db.code().as_deref(),
            // serialization_failure, deadlock_detected, admin/crash shutdown, cannot connect
            // now, too many connections.
            Some("40001" | "40P01" | "57P01" | "57P02" | "57P03" | "53300")
        ),
        _ => false,
    }
}

/// Every table holding event rows (each has a `slot` column).
pub const EVENT_TABLES: &[&str] = &[
    "indexer_events",
    "indexer_tracks",
    "indexer_merkle_roots",
    "indexer_verifications",
    "indexer_id_batches",
    "indexer_challenges",
    "indexer_challenge_status",
    "indexer_challenge_parties",
    "indexer_bond_releases",
    "indexer_dead_letters",
];

impl PgStore {
    /// A store on `pool` for the pipeline `name`.
    pub fn new(pool: PgPool, name: impl Into<String>) -> Self {
        Self {
            pool,
            name: name.into(),
            retries: Arc::default(),
        }
    }

    /// Transient database errors retried so far (exported as `indexer_db_retries_total`).
    pub fn retries(&self) -> Arc<AtomicU64> {
        self.retries.clone()
    }

    /// Runs `op` under [`RETRY`] for [`is_transient`] errors, counting and logging each retry.
    async fn retrying<T, F, Fut>(&self, what: &'static str, op: F) -> Result<T, PersistError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, PersistError>>,
    {
        use backon::Retryable;
        op.retry(RETRY.builder())
            .when(is_transient)
            .notify(|error, after| {
                self.retries.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, ?after, what, "transient database error; retrying");
            })
            .await
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the shared migrations.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        crate::MIGRATOR.run(&self.pool).await
    }
}

/// A query with its arguments.
type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

fn big(field: &'static str, value: u64) -> Result<i64, PersistError> {
    i64::try_from(value).map_err(|_| PersistError::OutOfRange { field, value })
}

/// A token amount for a `NUMERIC(20,0)` column: every `u64` fits, so an amount anyone can
/// choose (a bond of `u64::MAX` with a self-made mint) can never fail a batch.
fn amount(value: u64) -> String {
    value.to_string()
}

/// The key and position columns every table shares.
#[derive(Default)]
struct Keys {
    signature: Vec<String>,
    ix_index: Vec<i32>,
    event_index: Vec<i32>,
    slot: Vec<i64>,
    tx_index: Vec<i64>,
    block_time: Vec<Option<i64>>,
}

impl Keys {
    /// Pushes `e`'s keys; `slot` is its slot, already converted.
    fn push(&mut self, e: &DecodedEvent, slot: i64) {
        self.signature.push(e.signature.clone());
        // Instruction and event indexes are bounded by the transaction size.
        self.ix_index.push(e.ix_index as i32);
        self.event_index.push(e.event_index as i32);
        self.slot.push(slot);
        self.tx_index.push(i64::from(e.tx_index));
        self.block_time.push(e.block_time);
    }

    fn bind<'q>(&'q self, q: PgQuery<'q>) -> PgQuery<'q> {
        q.bind(&self.signature)
            .bind(&self.ix_index)
            .bind(&self.event_index)
            .bind(&self.slot)
            .bind(&self.tx_index)
            .bind(&self.block_time)
    }
}

/// A `bytea[]` column. Each `*Cols` below holds the columns of one table beyond the shared
/// [`Keys`], one vector per column.
type Bytes = Vec<Vec<u8>>;

/// `indexer_events`: program, kind, payload (JSON text).
#[derive(Default)]
struct EventCols(Keys, Vec<&'static str>, Vec<&'static str>, Vec<String>);
/// `indexer_tracks`: depth, epoch_seconds, track_id.
#[derive(Default)]
struct TrackCols(Keys, Vec<i16>, Vec<i64>, Bytes);
/// `indexer_merkle_roots`: track_id, root, leaf_count, root_index.
#[derive(Default)]
struct RootCols(Keys, Bytes, Bytes, Vec<i64>, Vec<i64>);
/// `indexer_verifications`: track_id, scope, nullifier, root, signal_hash.
#[derive(Default)]
struct VerificationCols(Keys, Bytes, Bytes, Bytes, Bytes, Bytes);
/// `indexer_id_batches`: namespace, batch_root, first_seq, id_count.
#[derive(Default)]
struct BatchCols(Keys, Bytes, Bytes, Vec<i64>, Vec<i64>);
/// `indexer_challenges`: challenge, creator, mode, terms_hash, bond_mint, bond_amount.
#[derive(Default)]
struct ChallengeCols(Keys, Bytes, Bytes, Vec<String>, Bytes, Bytes, Vec<String>);
/// `indexer_challenge_status`: challenge, from_status, to_status, at.
#[derive(Default)]
struct StatusCols(Keys, Bytes, Vec<Option<String>>, Vec<String>, Vec<i64>);
/// `indexer_challenge_parties`: challenge, counterparty, accepted.
#[derive(Default)]
struct PartyCols(Keys, Bytes, Bytes, Vec<bool>);
/// `indexer_bond_releases`: challenge, mint, to_creator, to_counterparty, to_treasury,
/// slashed.
#[derive(Default)]
struct ReleaseCols(
    Keys,
    Bytes,
    Bytes,
    Vec<String>,
    Vec<String>,
    Vec<String>,
    Vec<String>,
);
/// `indexer_dead_letters`: program, kind, raw, reason.
#[derive(Default)]
struct DeadCols(
    Keys,
    Vec<&'static str>,
    Vec<&'static str>,
    Bytes,
    Vec<String>,
);

/// A batch projected into the columns of every table.
#[derive(Default)]
struct Rows {
    events: EventCols,
    tracks: TrackCols,
    roots: RootCols,
    verifications: VerificationCols,
    batches: BatchCols,
    challenges: ChallengeCols,
    status: StatusCols,
    parties: PartyCols,
    releases: ReleaseCols,
    dead: DeadCols,
}

impl Rows {
    /// Projects `events` into rows. No event's content can fail the batch: an event that does
    /// not decode, or whose values do not fit its columns, becomes a dead-letter row (its
    /// bytes and the reason) and the events around it are written as usual.
    fn project(events: &[DecodedEvent]) -> Result<Self, PersistError> {
        let mut r = Self::default();
        for e in events {
            // The slot comes from the chain, not from an event: it always fits.
            let slot = big("slot", e.slot)?;
            if let ProgramEvent::Undecodable(dead) = &e.event {
                r.dead_letter(e, slot, dead.data.clone(), dead.reason.clone());
                continue;
            }
            if let Err(error) = r.push_event(e, slot) {
                tracing::warn!(
                    signature = %e.signature,
                    ix_index = e.ix_index,
                    event_index = e.event_index,
                    %error,
                    "unprojectable event dead-lettered"
                );
                let raw = e.event.to_json().to_string().into_bytes();
                r.dead_letter(e, slot, raw, format!("unprojectable: {error}"));
            }
        }
        Ok(r)
    }

    /// `e` as a dead letter: `raw` is the event's data (or its JSON when it decoded).
    fn dead_letter(&mut self, e: &DecodedEvent, slot: i64, raw: Vec<u8>, reason: String) {
        self.dead.0.push(e, slot);
        self.dead.1.push(e.event.program());
        self.dead.2.push(e.event.kind());
        self.dead.3.push(raw);
        self.dead.4.push(reason);
    }

    /// Pushes one decoded event into its tables. Every fallible conversion of an arm comes
    /// before its first push, so a failure leaves no partial row behind.
    fn push_event(&mut self, e: &DecodedEvent, slot: i64) -> Result<(), PersistError> {
        let r = self;
        match &e.event {
            ProgramEvent::Registry(RegistryEvent::TrackCreated(t)) => {
                let epoch_seconds = big("epoch_seconds", t.epoch_seconds)?;
                r.tracks.0.push(e, slot);
                r.tracks.1.push(i16::from(t.depth));
                r.tracks.2.push(epoch_seconds);
                r.tracks.3.push(t.track_id.to_vec());
            }
            ProgramEvent::Registry(RegistryEvent::MerkleRootUpdated(m)) => {
                let leaf_count = big("leaf_count", m.leaf_count)?;
                let root_index = big("root_index", m.root_index)?;
                r.roots.0.push(e, slot);
                r.roots.1.push(m.track_id.to_vec());
                r.roots.2.push(m.root.to_vec());
                r.roots.3.push(leaf_count);
                r.roots.4.push(root_index);
            }
            ProgramEvent::Registry(RegistryEvent::OwnershipVerified(v)) => {
                r.verifications.0.push(e, slot);
                r.verifications.1.push(v.track_id.to_vec());
                r.verifications.2.push(v.scope.to_vec());
                r.verifications.3.push(v.nullifier.to_vec());
                r.verifications.4.push(v.root.to_vec());
                r.verifications.5.push(v.signal_hash.to_vec());
            }
            ProgramEvent::Registry(RegistryEvent::IdBatchAnchored(b)) => {
                let first_seq = big("first_seq", b.first_seq)?;
                r.batches.0.push(e, slot);
                r.batches.1.push(b.namespace.to_vec());
                r.batches.2.push(b.batch_root.to_vec());
                r.batches.3.push(first_seq);
                r.batches.4.push(i64::from(b.count));
            }
            ProgramEvent::Challenge(ChallengeEvent::ChallengeCreated(c)) => {
                r.challenges.0.push(e, slot);
                r.challenges.1.push(c.challenge.to_bytes().to_vec());
                r.challenges.2.push(c.creator.to_bytes().to_vec());
                r.challenges.3.push(format!("{:?}", c.mode));
                r.challenges.4.push(c.terms_hash.to_vec());
                r.challenges.5.push(c.bond_mint.to_bytes().to_vec());
                r.challenges.6.push(amount(c.bond_amount));
            }
            ProgramEvent::Challenge(ChallengeEvent::StatusChanged(StatusChanged {
                challenge,
                from,
                to,
                at,
            })) => {
                r.status.0.push(e, slot);
                r.status.1.push(challenge.to_bytes().to_vec());
                r.status.2.push(from.map(|s| format!("{s:?}")));
                r.status.3.push(format!("{to:?}"));
                r.status.4.push(*at);
            }
            ProgramEvent::Challenge(ChallengeEvent::CounterpartySet(p)) => {
                r.parties.0.push(e, slot);
                r.parties.1.push(p.challenge.to_bytes().to_vec());
                r.parties.2.push(p.counterparty.to_bytes().to_vec());
                r.parties.3.push(p.accepted);
            }
            ProgramEvent::Challenge(ChallengeEvent::BondsReleased(b)) => {
                r.releases.0.push(e, slot);
                r.releases.1.push(b.challenge.to_bytes().to_vec());
                r.releases.2.push(b.mint.to_bytes().to_vec());
                r.releases.3.push(amount(b.payout.to_creator));
                r.releases.4.push(amount(b.payout.to_counterparty));
                r.releases.5.push(amount(b.payout.to_treasury));
                r.releases.6.push(amount(b.slashed));
            }
            _ => {}
        }
        // Infallible from here: the raw feed row.
        r.events.0.push(e, slot);
        r.events.1.push(e.event.program());
        r.events.2.push(e.event.kind());
        r.events.3.push(e.event.to_json().to_string());
        Ok(())
    }

    /// Binds every column of every table, in the order of [`TABLES`].
    fn bind<'q>(&'q self, q: PgQuery<'q>) -> PgQuery<'q> {
        let e = &self.events;
        let q = e.0.bind(q).bind(&e.1).bind(&e.2).bind(&e.3);
        let t = &self.tracks;
        let q = t.0.bind(q).bind(&t.1).bind(&t.2).bind(&t.3);
        let m = &self.roots;
        let q = m.0.bind(q).bind(&m.1).bind(&m.2).bind(&m.3).bind(&m.4);
        let v = &self.verifications;
        let q =
            v.0.bind(q)
                .bind(&v.1)
                .bind(&v.2)
                .bind(&v.3)
                .bind(&v.4)
                .bind(&v.5);
        let b = &self.batches;
        let q = b.0.bind(q).bind(&b.1).bind(&b.2).bind(&b.3).bind(&b.4);
        let c = &self.challenges;
        let q =
            c.0.bind(q)
                .bind(&c.1)
                .bind(&c.2)
                .bind(&c.3)
                .bind(&c.4)
                .bind(&c.5)
                .bind(&c.6);
        let st = &self.status;
        let q = st.0.bind(q).bind(&st.1).bind(&st.2).bind(&st.3).bind(&st.4);
        let p = &self.parties;
        let q = p.0.bind(q).bind(&p.1).bind(&p.2).bind(&p.3);
        let r = &self.releases;
        let q =
            r.0.bind(q)
                .bind(&r.1)
                .bind(&r.2)
                .bind(&r.3)
                .bind(&r.4)
                .bind(&r.5)
                .bind(&r.6);
        let d = &self.dead;
        d.0.bind(q).bind(&d.1).bind(&d.2).bind(&d.3).bind(&d.4)
    }
}

/// One table's insert: its name and its columns beyond the shared ones, with their types.
struct TableSpec {
    table: &'static str,
    cols: &'static [(&'static str, &'static str)],
}

/// Every table a batch writes, in the order [`Rows::bind`] binds them.
const TABLES: &[TableSpec] = &[
    TableSpec {
        table: "indexer_events",
        cols: &[("program", "text"), ("kind", "text"), ("payload", "text")],
    },
    TableSpec {
        table: "indexer_tracks",
        cols: &[
            ("depth", "int2"),
            ("epoch_seconds", "int8"),
            ("track_id", "bytea"),
        ],
    },
    TableSpec {
        table: "indexer_merkle_roots",
        cols: &[
            ("track_id", "bytea"),
            ("root", "bytea"),
            ("leaf_count", "int8"),
            ("root_index", "int8"),
        ],
    },
    TableSpec {
        table: "indexer_verifications",
        cols: &[
            ("track_id", "bytea"),
            ("scope", "bytea"),
            ("nullifier", "bytea"),
            ("root", "bytea"),
            ("signal_hash", "bytea"),
        ],
    },
    TableSpec {
        table: "indexer_id_batches",
        cols: &[
            ("namespace", "bytea"),
            ("batch_root", "bytea"),
            ("first_seq", "int8"),
            ("id_count", "int8"),
        ],
    },
    TableSpec {
        table: "indexer_challenges",
        cols: &[
            ("challenge", "bytea"),
            ("creator", "bytea"),
            ("mode", "text"),
            ("terms_hash", "bytea"),
            ("bond_mint", "bytea"),
            ("bond_amount", "numeric"),
        ],
    },
    TableSpec {
        table: "indexer_challenge_status",
        cols: &[
            ("challenge", "bytea"),
            ("from_status", "text"),
            ("to_status", "text"),
            ("at", "int8"),
        ],
    },
    TableSpec {
        table: "indexer_challenge_parties",
        cols: &[
            ("challenge", "bytea"),
            ("counterparty", "bytea"),
            ("accepted", "bool"),
        ],
    },
    TableSpec {
        table: "indexer_bond_releases",
        cols: &[
            ("challenge", "bytea"),
            ("mint", "bytea"),
            ("to_creator", "numeric"),
            ("to_counterparty", "numeric"),
            ("to_treasury", "numeric"),
            ("slashed", "numeric"),
        ],
    },
    TableSpec {
        table: "indexer_dead_letters",
        cols: &[
            ("program", "text"),
            ("kind", "text"),
            ("raw", "bytea"),
            ("reason", "text"),
        ],
    },
];

/// The shared columns of every table, with their types.
const KEY_COLS: &[(&str, &str)] = &[
    ("signature", "text"),
    ("ix_index", "int4"),
    ("event_index", "int4"),
    ("slot", "int8"),
    ("tx_index", "int8"),
    ("block_time", "int8"),
];

/// The one statement that writes a batch: a data-modifying CTE per table
/// (`INSERT … SELECT … FROM UNNEST(…) ON CONFLICT DO NOTHING`) and one that moves the cursor
/// forward. A single statement is atomic without an explicit transaction, so a pipeline
/// dropped mid-write can never leave a transaction open on a pooled connection.
///
/// The cursor's CTEs read the row CTEs' (empty) results, so they run after every row is in:
/// the cursor row, which concurrent writers contend for, is locked only from then to the
/// commit. Unchained ([`Persist::write`]), the cursor is upserted forward. Chained (a
/// [`Persist::write_after`] with a predecessor), the cursor row is first locked
/// (`FOR UPDATE`), which waits for a concurrent writer still holding it and then reads the
/// version it committed, and is moved only if that version stands at or past the
/// predecessor's position (`$n+5`, `$n+6`). The statement returns whether the cursor now
/// covers the batch: moved by it, or already past it.
///
/// **Optimistic inserts.** `ON CONFLICT DO NOTHING` probes each key before inserting it, which
/// was an eighth of the database's ingest time, and conflicts only come with replays. The
/// statement is therefore first sent with plain inserts (`idempotent: false`); if a key is
/// already there, that statement fails whole (`unique_violation`) and writes nothing, and the
/// batch is sent again with `ON CONFLICT DO NOTHING`.
fn write_sql(chained: bool, idempotent: bool) -> &'static str {
    static SQL: [OnceLock<String>; 4] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    SQL[usize::from(chained) * 2 + usize::from(idempotent)].get_or_init(|| {
        let on_conflict = if idempotent {
            " ON CONFLICT DO NOTHING"
        } else {
            ""
        };
        let mut n = 0;
        let mut param = |ty: &str| {
            n += 1;
            format!("${n}::{ty}")
        };
        let mut ctes = Vec::new();
        for (i, spec) in TABLES.iter().enumerate() {
            let cols: Vec<(&str, &str)> = KEY_COLS.iter().chain(spec.cols).copied().collect();
            let names: Vec<&str> = cols.iter().map(|(name, _)| *name).collect();
            let params: Vec<String> = cols
                .iter()
                .map(|(_, ty)| param(&format!("{ty}[]")))
                .collect();
            let select: Vec<String> = names
                .iter()
                .map(|name| match *name {
                    "payload" => "payload::jsonb".to_owned(),
                    other => other.to_owned(),
                })
                .collect();
            // A table that feeds webhooks returns its new rows to the outbox CTE.
            let returning = if chain_event(spec.table).is_some() {
                "NULL::int4 AS none, *"
            } else {
                "NULL::int4 AS none"
            };
            ctes.push(format!(
                "t{i} AS (INSERT INTO {table} ({names}) SELECT {select} FROM UNNEST({params}) \
                 AS u({names}){on_conflict} RETURNING {returning})",
                table = spec.table,
                names = names.join(", "),
                select = select.join(", "),
                params = params.join(", "),
            ));
        }
        ctes.push(format!("outbox AS ({})", outbox_insert("t", "")));
        // No rows: it only orders the cursor's CTE after every insert.
        let rows_in = (0..TABLES.len())
            .map(|i| format!("SELECT none FROM t{i}"))
            .chain(["SELECT none FROM outbox".to_owned()])
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        ctes.push(format!("rows_in AS ({rows_in})"));
        let (name, slot, index, signature) =
            (param("text"), param("int8"), param("int8"), param("text"));
        let after_rows = "NOT EXISTS (SELECT 1 FROM rows_in WHERE none IS NOT NULL)";
        // The cursor only moves forward here; a rewind is `rollback_slot`'s alone.
        if chained {
            let (after_slot, after_index) = (param("int8"), param("int8"));
            // `FOR UPDATE` waits for a writer still holding the cursor and then yields the
            // row as that writer committed it; the update is decided on that version.
            ctes.push(format!(
                "locked AS (SELECT slot, index_in_slot FROM indexer_cursor \
                 WHERE name = {name} AND {after_rows} FOR UPDATE)"
            ));
            ctes.push(format!(
                "moved AS (UPDATE indexer_cursor c SET slot = {slot}, index_in_slot = {index}, \
                   signature = {signature}, updated_at = now() FROM locked l \
                 WHERE c.name = {name} \
                   AND (l.slot, l.index_in_slot) < ({slot}, {index}) \
                   AND (l.slot, l.index_in_slot) >= ({after_slot}, {after_index}) \
                 RETURNING 1)"
            ));
            return format!(
                "WITH {} SELECT EXISTS (SELECT 1 FROM moved) \
                 OR EXISTS (SELECT 1 FROM locked WHERE (slot, index_in_slot) >= ({slot}, {index}))",
                ctes.join(", ")
            );
        } else {
            ctes.push(format!(
                "moved AS (INSERT INTO indexer_cursor (name, slot, index_in_slot, signature) \
                 SELECT {name}, {slot}, {index}, {signature} \
                 WHERE {slot} IS NOT NULL AND {after_rows} \
                 ON CONFLICT (name) DO UPDATE SET slot = EXCLUDED.slot, \
                   index_in_slot = EXCLUDED.index_in_slot, signature = EXCLUDED.signature, \
                   updated_at = now() \
                 WHERE (indexer_cursor.slot, indexer_cursor.index_in_slot) \
                     < (EXCLUDED.slot, EXCLUDED.index_in_slot) \
                 RETURNING 1)"
            ));
        }
        format!(
            "WITH {} SELECT {slot} IS NULL OR EXISTS (SELECT 1 FROM moved) \
             OR EXISTS (SELECT 1 FROM indexer_cursor WHERE name = {name} \
               AND (slot, index_in_slot) >= ({slot}, {index}))",
            ctes.join(", ")
        )
    })
}

/// The webhook event a table's new row is, as SQL over that row: `(type, subject, data)`.
/// Chain data is public: every subscriber of the type hears it (`audience` NULL).
fn chain_event(table: &str) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match table {
        "indexer_challenges" => (
            "'challenge.created'",
            "veil_base58(challenge)",
            "jsonb_build_object('challenge', veil_base58(challenge), \
               'creator', veil_base58(creator), 'mode', mode, \
               'terms_hash', encode(terms_hash, 'hex'), 'bond_mint', veil_base58(bond_mint), \
               'bond_amount', bond_amount::text)",
        ),
        "indexer_challenge_status" => (
            "'challenge.' || lower(regexp_replace(to_status, '([a-z])([A-Z])', '\\1_\\2', 'g'))",
            "veil_base58(challenge)",
            "jsonb_build_object('challenge', veil_base58(challenge), 'from', from_status, \
               'to', to_status, 'at', at)",
        ),
        "indexer_bond_releases" => (
            "CASE WHEN slashed > 0 THEN 'challenge.slashed' ELSE 'challenge.refunded' END",
            "veil_base58(challenge)",
            "jsonb_build_object('challenge', veil_base58(challenge), 'mint', veil_base58(mint), \
               'to_creator', to_creator::text, 'to_counterparty', to_counterparty::text, \
               'to_treasury', to_treasury::text, 'slashed', slashed::text)",
        ),
        "indexer_verifications" => (
            "'ownership.verified'",
            "encode(nullifier, 'hex')",
            "jsonb_build_object('track_id', encode(track_id, 'hex'), \
               'scope', encode(scope, 'hex'), 'nullifier', encode(nullifier, 'hex'), \
               'root', encode(root, 'hex'))",
        ),
        _ => return None,
    })
}

/// An `INSERT INTO outbox_events` of the chain events in the rows the CTEs `{prefix}{i}`
/// returned, each type suffixed with `suffix` (`.undone` for a rollback), only for types some
/// enabled endpoint subscribes to (a database without endpoints records nothing).
fn outbox_insert(prefix: &str, suffix: &str) -> String {
    let sources: Vec<String> = TABLES
        .iter()
        .enumerate()
        .filter_map(|(i, spec)| {
            chain_event(spec.table).map(|(kind, subject, data)| {
                format!(
                    "SELECT ({kind}) AS kind, {subject} AS subject, {data} AS data, signature, \
                     slot FROM {prefix}{i}"
                )
            })
        })
        .collect();
    format!(
        "INSERT INTO outbox_events (id, type, subject, data, signature, slot) \
         SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), e.kind || '{suffix}', \
           e.subject, e.data, e.signature, e.slot \
         FROM ({}) e \
         WHERE EXISTS (SELECT 1 FROM webhook_endpoints w \
                       WHERE w.enabled AND e.kind = ANY (w.event_types)) \
         RETURNING NULL::int4 AS none",
        sources.join(" UNION ALL ")
    )
}

/// The one statement that rolls a slot back: a `DELETE` per table, and the cursor rewound to
/// `$2`/`$3` if it stood at or past the slot. Returns the number of event rows removed.
fn rollback_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let mut ctes: Vec<String> = TABLES
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let returning = if chain_event(spec.table).is_some() {
                    "*"
                } else {
                    "1"
                };
                format!(
                    "d{i} AS (DELETE FROM {} WHERE slot = $1 RETURNING {returning})",
                    spec.table
                )
            })
            .collect();
        ctes.push(format!("undone AS ({})", outbox_insert("d", ".undone")));
        ctes.push(
            "moved AS (UPDATE indexer_cursor SET slot = $2, index_in_slot = $3, \
             signature = NULL, updated_at = now() WHERE name = $4 AND slot >= $1)"
                .to_owned(),
        );
        format!("WITH {} SELECT count(*) FROM d0", ctes.join(", "))
    })
}

impl Persist for PgStore {
    async fn write_after(
        &self,
        batch: &Batch,
        after: Option<&Cursor>,
    ) -> Result<bool, PersistError> {
        if batch.events.is_empty() && batch.cursor.is_none() {
            return Ok(true);
        }
        let rows = Rows::project(&batch.events)?;
        let position =
            |c: &Cursor| Ok::<_, PersistError>((big("slot", c.slot)?, i64::from(c.index_in_slot)));
        let cursor = batch.cursor.as_ref().map(position).transpose()?;
        // Without a cursor to move there is nothing to chain.
        let after = match cursor {
            Some(_) => after.map(position).transpose()?,
            None => None,
        };
        let signature = batch.cursor.as_ref().and_then(|c| c.signature.as_deref());
        let statement = |idempotent: bool| {
            let query = rows
                .bind(sqlx::query(write_sql(after.is_some(), idempotent)))
                .bind(&self.name)
                .bind(cursor.map(|c| c.0))
                .bind(cursor.map(|c| c.1))
                .bind(signature);
            match after {
                Some((slot, index)) => query.bind(slot).bind(index),
                None => query,
            }
        };
        let covered = self
            .retrying("write", || async {
                Ok(match statement(false).fetch_one(&self.pool).await {
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        statement(true).fetch_one(&self.pool).await?
                    }
                    other => other?,
                })
            })
            .await?;
        Ok(covered.try_get(0)?)
    }

    async fn rollback_slot(&self, slot: u64) -> Result<u64, PersistError> {
        // A cursor at or past the dead slot goes back to the end of the slot before it, so
        // that the source resends what follows.
        let before = Cursor::end_of_slot(slot.saturating_sub(1));
        let (dead, rewound) = (big("slot", slot)?, big("slot", before.slot)?);
        let removed: i64 = self
            .retrying("rollback", || async {
                Ok(sqlx::query_scalar(rollback_sql())
                    .bind(dead)
                    .bind(rewound)
                    .bind(i64::from(before.index_in_slot))
                    .bind(&self.name)
                    .fetch_one(&self.pool)
                    .await?)
            })
            .await?;
        Ok(removed as u64)
    }

    async fn set_finalized(&self, slot: u64) -> Result<(), PersistError> {
        let slot = big("slot", slot)?;
        self.retrying("finalized", || async {
            sqlx::query(
                "INSERT INTO indexer_finality (name, finalized_slot) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET finalized_slot = \
                   GREATEST(indexer_finality.finalized_slot, EXCLUDED.finalized_slot), \
                   updated_at = now()",
            )
            .bind(&self.name)
            .bind(slot)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    async fn cursor(&self) -> Result<Option<Cursor>, PersistError> {
        let row: Option<(i64, i64, Option<String>)> = self
            .retrying("cursor", || async {
                Ok(sqlx::query_as(
                    "SELECT slot, index_in_slot, signature FROM indexer_cursor WHERE name = $1",
                )
                .bind(&self.name)
                .fetch_optional(&self.pool)
                .await?)
            })
            .await?;
        Ok(row.map(|(slot, index, signature)| Cursor {
            slot: slot as u64,
            index_in_slot: index as u32,
            signature,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_tables_are_the_tables_a_batch_writes() {
        let written: Vec<&str> = TABLES.iter().map(|t| t.table).collect();
        assert_eq!(written, EVENT_TABLES);
    }

    #[test]
    fn write_sql_numbers_every_parameter_once() {
        let params: usize = TABLES.iter().map(|t| KEY_COLS.len() + t.cols.len()).sum();
        // The columns, then name, slot, index and signature of the cursor.
        for idempotent in [false, true] {
            let sql = write_sql(false, idempotent);
            assert!(sql.contains(&format!("${}::text", params + 4)));
            assert!(!sql.contains(&format!("${}:", params + 5)));
            // Chained: then the predecessor's slot and index.
            let sql = write_sql(true, idempotent);
            assert!(sql.contains(&format!("${}::int8", params + 6)));
            assert!(!sql.contains(&format!("${}:", params + 7)));
            let guarded = sql.matches("ON CONFLICT DO NOTHING").count();
            assert_eq!(guarded, if idempotent { TABLES.len() } else { 0 });
        }
    }

    #[test]
    fn cursor_orders_by_slot_then_index() {
        let c = Cursor {
            slot: 5,
            index_in_slot: 2,
            signature: None,
        };
        assert!(c.is_before(5, 3));
        assert!(c.is_before(6, 0));
        assert!(!c.is_before(5, 2));
        assert!(!c.is_before(4, 9));
        assert!(!Cursor::end_of_slot(5).is_before(5, 1_000));
    }
}
