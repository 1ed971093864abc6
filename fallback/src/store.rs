//! The embedded store: one redb file, four tables.
//!
//! | table | key → value | holds |
//! |---|---|---|
//! | `records` | `seq_no` → record JSON | every [`ProvisionalRecord`], the export order |
//! | `by_id` | provisional ID → `seq_no` | the lookup index |
//! | `slots` | `NNN-YYMM-SSSSSSSS` → `seq_no` | occupied sequences, for collision checks |
//! | `meta` | name → bytes | `schema_version`, `public_key`, `last_seq_no` |
//!
//! Invariants, kept by [`IssueTxn::insert`] inside one write transaction: `seq_no` is
//! `last_seq_no + 1`; the ID and its slot are new; `last_seq_no` is the largest key of
//! `records`. Commits use redb's default immediate durability: when [`IssueTxn::commit`]
//! returns, the record survives a crash. A store is bound to the key that first opened it.

use std::{ops::Bound, path::Path, sync::Arc};

use ed25519_dalek::VerifyingKey;
use redb::{
    CommitError, Database, DatabaseError, ReadableTable, ReadableTableMetadata, StorageError,
    TableDefinition, TableError, TransactionError, WriteTransaction,
};
use veil_chittyid::{provisional::ProvisionalRecord, ChittyId};

/// `seq_no` → record JSON.
const RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("records");
/// Provisional ID → `seq_no`.
const BY_ID: TableDefinition<&str, u64> = TableDefinition::new("by_id");
/// `NNN-YYMM-SSSSSSSS` → `seq_no`.
const SLOTS: TableDefinition<&str, u64> = TableDefinition::new("slots");
/// Name → bytes.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// `meta` key: the schema version (u32 big-endian).
const META_SCHEMA_VERSION: &str = "schema_version";
/// `meta` key: the verifying key the store is bound to (32 bytes).
const META_PUBLIC_KEY: &str = "public_key";
/// `meta` key: the last `seq_no` issued (u64 big-endian).
const META_LAST_SEQ_NO: &str = "last_seq_no";

/// The schema this code reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be opened or created (or is open elsewhere).
    #[error("opening the database: {0}")]
    Open(#[source] Box<DatabaseError>),
    /// A transaction could not begin.
    #[error("beginning a transaction: {0}")]
    Transaction(#[source] Box<TransactionError>),
    /// A table could not be opened.
    #[error("opening a table: {0}")]
    Table(#[source] Box<TableError>),
    /// A read or write failed.
    #[error("storage: {0}")]
    Storage(#[source] Box<StorageError>),
    /// The commit failed; nothing was written.
    #[error("commit: {0}")]
    Commit(#[source] Box<CommitError>),
    /// A stored value does not decode.
    #[error("stored {what} is corrupt")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// Why it does not decode, if a decoder said.
        #[source]
        source: Option<serde_json::Error>,
    },
    /// The file was written by another schema version.
    #[error("the database has schema version {found}; this build reads {SCHEMA_VERSION}")]
    SchemaVersion {
        /// The version found.
        found: u32,
    },
    /// The file belongs to another fallback key.
    #[error("the database was created for fallback key {stored}, not this key; use a new file for a new key")]
    KeyMismatch {
        /// Hex of the key the file is bound to.
        stored: String,
    },
    /// An insert would break an invariant (a bug in the caller).
    #[error("insert refused: {rule}")]
    Invariant {
        /// The rule.
        rule: &'static str,
    },
}

/// redb's errors are large (up to 160 bytes); they travel boxed so `Result`s stay small.
macro_rules! boxed_from {
    ($($variant:ident($ty:ty)),+ $(,)?) => {
        $(impl From<$ty> for StoreError {
            fn from(e: $ty) -> Self {
                Self::$variant(Box::new(e))
            }
        })+
    };
}

boxed_from!(
    Open(DatabaseError),
    Transaction(TransactionError),
    Table(TableError),
    Storage(StorageError),
    Commit(CommitError),
);

/// The slot key of an ID: `NNN-YYMM-SSSSSSSS`. Two IDs with one slot differ only in entity
/// type or trust level, which the fallback never allows.
pub fn slot_key(id: &ChittyId) -> String {
    format!(
        "{}-{:02}{:02}-{}",
        id.namespace(),
        id.year(),
        id.month(),
        id.sequence()
    )
}

/// Counts for the status endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Records held.
    pub issued: u64,
    /// The last `seq_no` issued (0 before the first).
    pub last_seq_no: u64,
}

/// The redb store. Cheap to clone; the file closes when the last clone drops.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens or creates the file at `path`, bound to `public_key`: a new file records the key,
    /// an existing one must have been created for the same key and schema.
    pub fn open(path: impl AsRef<Path>, public_key: &VerifyingKey) -> Result<Self, StoreError> {
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        {
            txn.open_table(RECORDS)?;
            txn.open_table(BY_ID)?;
            txn.open_table(SLOTS)?;
            let mut meta = txn.open_table(META)?;
            let version = meta
                .get(META_SCHEMA_VERSION)?
                .map(|v| decode_u32(v.value()))
                .transpose()?;
            match version {
                None => {
                    meta.insert(META_SCHEMA_VERSION, SCHEMA_VERSION.to_be_bytes().as_slice())?;
                }
                Some(SCHEMA_VERSION) => {}
                Some(found) => return Err(StoreError::SchemaVersion { found }),
            }
            let stored = meta.get(META_PUBLIC_KEY)?.map(|v| v.value().to_vec());
            match stored {
                None => {
                    meta.insert(META_PUBLIC_KEY, public_key.as_bytes().as_slice())?;
                }
                Some(stored) if stored.as_slice() == public_key.as_bytes() => {}
                Some(stored) => {
                    return Err(StoreError::KeyMismatch {
                        stored: hex::encode(stored),
                    })
                }
            }
        }
        txn.commit()?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Begins the write transaction of one issuance. Writers are serialised: a second call
    /// waits until this one commits or drops (which aborts).
    pub fn begin_issue(&self) -> Result<IssueTxn, StoreError> {
        Ok(IssueTxn {
            txn: self.db.begin_write()?,
        })
    }

    /// Records held and the last `seq_no`.
    pub fn counts(&self) -> Result<Counts, StoreError> {
        let txn = self.db.begin_read()?;
        let issued = txn.open_table(RECORDS)?.len()?;
        let last_seq_no = read_last_seq_no(&txn.open_table(META)?)?;
        Ok(Counts {
            issued,
            last_seq_no,
        })
    }

    /// The record of a canonical provisional ID.
    pub fn get_by_id(&self, provisional_id: &str) -> Result<Option<ProvisionalRecord>, StoreError> {
        let txn = self.db.begin_read()?;
        let Some(seq_no) = txn
            .open_table(BY_ID)?
            .get(provisional_id)?
            .map(|v| v.value())
        else {
            return Ok(None);
        };
        let records = txn.open_table(RECORDS)?;
        let value = records.get(seq_no)?.ok_or(StoreError::Corrupt {
            what: "by_id index (dangling)",
            source: None,
        })?;
        decode_record(value.value()).map(Some)
    }

    /// Up to `limit` records with `seq_no > after`, ascending, and whether more follow.
    pub fn page(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<(Vec<ProvisionalRecord>, bool), StoreError> {
        let txn = self.db.begin_read()?;
        let records = txn.open_table(RECORDS)?;
        let mut out = Vec::with_capacity(limit.min(1024));
        let mut more = false;
        for entry in records.range::<u64>((Bound::Excluded(after), Bound::Unbounded))? {
            let (_, value) = entry?;
            if out.len() == limit {
                more = true;
                break;
            }
            out.push(decode_record(value.value())?);
        }
        Ok((out, more))
    }
}

/// The write transaction of one issuance; dropping it without [`Self::commit`] aborts.
pub struct IssueTxn {
    txn: WriteTransaction,
}

impl IssueTxn {
    /// The last `seq_no` committed (0 before the first).
    pub fn last_seq_no(&self) -> Result<u64, StoreError> {
        read_last_seq_no(&self.txn.open_table(META)?)
    }

    /// Whether a slot (see [`slot_key`]) is occupied.
    pub fn slot_taken(&self, slot: &str) -> Result<bool, StoreError> {
        Ok(self.txn.open_table(SLOTS)?.get(slot)?.is_some())
    }

    /// Adds a record under its slot and advances the counter.
    pub fn insert(&mut self, record: &ProvisionalRecord, slot: &str) -> Result<(), StoreError> {
        // The counter advances by exactly one: no seq_no is skipped or reused.
        let last = self.last_seq_no()?;
        if last.checked_add(1) != Some(record.seq_no) {
            return Err(StoreError::Invariant {
                rule: "seq_no must be last_seq_no + 1",
            });
        }
        let json = serde_json::to_vec(record).map_err(|e| StoreError::Corrupt {
            what: "record (encoding)",
            source: Some(e),
        })?;
        // An ID and its slot are issued once.
        if self
            .txn
            .open_table(SLOTS)?
            .insert(slot, record.seq_no)?
            .is_some()
        {
            return Err(StoreError::Invariant {
                rule: "a sequence slot is issued once",
            });
        }
        if self
            .txn
            .open_table(BY_ID)?
            .insert(record.provisional_id.as_str(), record.seq_no)?
            .is_some()
        {
            return Err(StoreError::Invariant {
                rule: "a provisional ID is issued once",
            });
        }
        self.txn
            .open_table(RECORDS)?
            .insert(record.seq_no, json.as_slice())?;
        self.txn
            .open_table(META)?
            .insert(META_LAST_SEQ_NO, record.seq_no.to_be_bytes().as_slice())?;
        Ok(())
    }

    /// Commits durably (fsync) before returning.
    pub fn commit(self) -> Result<(), StoreError> {
        self.txn.commit()?;
        Ok(())
    }
}

fn read_last_seq_no(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<u64, StoreError> {
    match meta.get(META_LAST_SEQ_NO)? {
        None => Ok(0),
        Some(v) => {
            let bytes: [u8; 8] = v.value().try_into().map_err(|_| StoreError::Corrupt {
                what: "last_seq_no",
                source: None,
            })?;
            Ok(u64::from_be_bytes(bytes))
        }
    }
}

fn decode_u32(bytes: &[u8]) -> Result<u32, StoreError> {
    let bytes: [u8; 4] = bytes.try_into().map_err(|_| StoreError::Corrupt {
        what: "schema_version",
        source: None,
    })?;
    Ok(u32::from_be_bytes(bytes))
}

fn decode_record(bytes: &[u8]) -> Result<ProvisionalRecord, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        what: "record",
        source: Some(e),
    })
}
