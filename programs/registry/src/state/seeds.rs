//! PDA seed prefixes. The client crate derives every address from these constants; a literal
//! seed never appears in a handler.

/// `[CONFIG_SEED]`: the singleton [`crate::state::Config`].
pub const CONFIG_SEED: &[u8] = b"config";

/// `[TRACK_SEED, track_id]`: one [`crate::state::Track`] per 32-byte track id.
pub const TRACK_SEED: &[u8] = b"track";

/// `[NULLIFIER_SEED, track_id, nullifier]`: created once per used nullifier.
pub const NULLIFIER_SEED: &[u8] = b"nullifier";

/// `[ID_BATCH_SEED, namespace (4 bytes), first_seq (u64 LE)]`: one [`crate::state::IdBatch`]
/// per anchored ChittyID batch.
pub const ID_BATCH_SEED: &[u8] = b"id_batch";

/// `[ID_SEQUENCE_SEED, namespace (4 bytes)]`: the end of the namespace's anchored ID ranges
/// ([`crate::state::IdSequence`]).
pub const ID_SEQUENCE_SEED: &[u8] = b"id_sequence";
