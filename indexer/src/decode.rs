//! The decode stage: `emit_cpi!` inner instructions into keyed events.
//!
//! An event CPI is an inner instruction invoking one of our programs whose data starts with
//! Anchor's `EVENT_IX_TAG_LE`. The runtime only lets the program itself sign for its event
//! authority, so in a transaction that succeeded such an instruction is authentic. Its
//! event index is its position among the event CPIs of its top-level instruction, counted
//! over both programs, and counted whether or not it decodes, so that keys do not shift
//! when a decoder learns a new event.

use std::sync::atomic::{AtomicU64, Ordering};

use anchor_lang::{event::EVENT_IX_TAG_LE, prelude::Pubkey};
use serde_json::{json, Value};
use veil_client::decode::{ChallengeEvent, RegistryEvent};

use crate::source::TxUpdate;

/// What the pipeline has seen, for logs and (later) metrics.
#[derive(Debug, Default)]
pub struct Counters {
    /// Transactions decoded.
    pub transactions: AtomicU64,
    /// Failed transactions skipped.
    pub failed_skipped: AtomicU64,
    /// Events decoded.
    pub events: AtomicU64,
    /// Event CPIs of our programs that did not decode.
    pub undecodable: AtomicU64,
    /// Dead slots rolled back.
    pub dead_slots: AtomicU64,
    /// Slot ranges backfilled over RPC ([`run_live`](crate::gaps::run_live)).
    pub backfills: AtomicU64,
    /// Slots those ranges held.
    pub backfilled_slots: AtomicU64,
}

impl Counters {
    /// Reads one counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// An event of one of our programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramEvent {
    /// From the registry.
    Registry(RegistryEvent),
    /// From the challenge program.
    Challenge(ChallengeEvent),
    /// An event CPI of ours that did not decode: it goes to the dead-letter table with its
    /// raw bytes, and never stops the pipeline.
    Undecodable(DeadEvent),
}

/// An event the indexer could not decode or project, kept whole for later replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadEvent {
    /// `registry` or `challenge`.
    pub program: &'static str,
    /// The event CPI's data after Anchor's event tag (discriminator and payload).
    pub data: Vec<u8>,
    /// Why it could not be decoded.
    pub reason: String,
}

/// An event with the key and the position that make it unique and orderable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedEvent {
    /// The transaction's signature, base58.
    pub signature: String,
    /// Its slot.
    pub slot: u64,
    /// The transaction's index in the slot: (slot, tx_index, ix_index, event_index) is the
    /// event's chain order.
    pub tx_index: u32,
    /// The block's unix time, if known.
    pub block_time: Option<i64>,
    /// The top-level instruction that emitted it.
    pub ix_index: u32,
    /// Its order among the event CPIs of that instruction.
    pub event_index: u32,
    /// The event.
    pub event: ProgramEvent,
}

/// Decodes the events of `tx`. A failed transaction yields none (and is counted); an event
/// CPI that does not decode is counted, logged and yielded as [`ProgramEvent::Undecodable`]
/// for the dead-letter table.
pub fn decode(tx: &TxUpdate, counters: &Counters) -> Vec<DecodedEvent> {
    if tx.failed {
        Counters::add(&counters.failed_skipped, 1);
        return Vec::new();
    }
    Counters::add(&counters.transactions, 1);
    let registry = veil_client::registry::PROGRAM_ID;
    let challenge = veil_client::challenge::PROGRAM_ID;
    let mut out = Vec::new();
    for (ix_index, inner) in tx.inner.iter().enumerate() {
        let mut event_index = 0u32;
        for cpi in inner {
            let ours = cpi.program_id == registry || cpi.program_id == challenge;
            if !ours || !cpi.data.starts_with(EVENT_IX_TAG_LE) {
                continue;
            }
            let decoded = if cpi.program_id == registry {
                RegistryEvent::decode_event_cpi(&cpi.data).map(ProgramEvent::Registry)
            } else {
                ChallengeEvent::decode_event_cpi(&cpi.data).map(ProgramEvent::Challenge)
            };
            let event = decoded.unwrap_or_else(|error| {
                Counters::add(&counters.undecodable, 1);
                tracing::warn!(
                    signature = %tx.signature,
                    slot = tx.slot,
                    ix_index,
                    event_index,
                    program = %cpi.program_id,
                    %error,
                    "undecodable event CPI dead-lettered"
                );
                ProgramEvent::Undecodable(DeadEvent {
                    program: if cpi.program_id == registry {
                        "registry"
                    } else {
                        "challenge"
                    },
                    data: cpi.data[EVENT_IX_TAG_LE.len()..].to_vec(),
                    reason: format!("undecodable: {error}"),
                })
            });
            out.push(DecodedEvent {
                signature: tx.signature.clone(),
                slot: tx.slot,
                tx_index: tx.index_in_slot,
                block_time: tx.block_time,
                ix_index: ix_index as u32,
                event_index,
                event,
            });
            event_index += 1;
        }
    }
    let decoded = out
        .iter()
        .filter(|e| !matches!(e.event, ProgramEvent::Undecodable(_)))
        .count();
    Counters::add(&counters.events, decoded as u64);
    out
}

fn hex32(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

fn key(pubkey: &Pubkey) -> String {
    pubkey.to_string()
}

fn variant<T: std::fmt::Debug>(value: &T) -> String {
    format!("{value:?}")
}

impl ProgramEvent {
    /// The program that emitted it: `registry` or `challenge`.
    pub fn program(&self) -> &'static str {
        match self {
            Self::Registry(_) => "registry",
            Self::Challenge(_) => "challenge",
            Self::Undecodable(dead) => dead.program,
        }
    }

    /// Every [`kind`](Self::kind), so counters by kind can be exported at 0 before the first
    /// event of each.
    pub fn kinds() -> impl Iterator<Item = &'static str> {
        RegistryEvent::NAMES
            .iter()
            .chain(ChallengeEvent::NAMES)
            .copied()
            .chain(["Undecodable"])
    }

    /// The event's type name, as the program declares it (`MerkleRootUpdated`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Registry(e) => e.name(),
            Self::Challenge(e) => e.name(),
            Self::Undecodable(_) => "Undecodable",
        }
    }

    /// The event's fields as JSON, named as in the program: byte arrays as lowercase hex,
    /// public keys as base58, enums as their variant names, integers as numbers.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Registry(e) => match e {
                RegistryEvent::RegistryInitialized(e) => json!({
                    "admin": key(&e.admin),
                    "registrar": key(&e.registrar),
                    "treasury": key(&e.treasury),
                }),
                RegistryEvent::AdminProposed(e) => json!({
                    "admin": key(&e.admin),
                    "proposed": key(&e.proposed),
                }),
                RegistryEvent::AdminAccepted(e) => json!({
                    "previous": key(&e.previous),
                    "admin": key(&e.admin),
                }),
                RegistryEvent::RegistrarSet(e) => json!({
                    "previous": key(&e.previous),
                    "registrar": key(&e.registrar),
                }),
                RegistryEvent::PauseSet(e) => json!({ "paused": e.paused }),
                RegistryEvent::TrackCreated(e) => json!({
                    "track_id": hex32(&e.track_id),
                    "depth": e.depth,
                    "epoch_seconds": e.epoch_seconds,
                    "freshness_slots": e.freshness_slots,
                }),
                RegistryEvent::MerkleRootUpdated(e) => json!({
                    "track_id": hex32(&e.track_id),
                    "root": hex32(&e.root),
                    "leaf_count": e.leaf_count,
                    "root_index": e.root_index,
                    "slot": e.slot,
                    "snapshot_slot": e.snapshot_slot,
                }),
                RegistryEvent::IdBatchAnchored(e) => json!({
                    "namespace": hex32(&e.namespace),
                    "batch_root": hex32(&e.batch_root),
                    "first_seq": e.first_seq,
                    "count": e.count,
                    "slot": e.slot,
                }),
                RegistryEvent::OwnershipVerified(e) => json!({
                    "track_id": hex32(&e.track_id),
                    "nullifier": hex32(&e.nullifier),
                    "root": hex32(&e.root),
                    "scope": hex32(&e.scope),
                    "signal_hash": hex32(&e.signal_hash),
                    "slot": e.slot,
                }),
            },
            Self::Challenge(e) => match e {
                ChallengeEvent::ChallengeCreated(e) => json!({
                    "challenge": key(&e.challenge),
                    "creator": key(&e.creator),
                    "mode": variant(&e.mode),
                    "terms_hash": hex32(&e.terms_hash),
                    "bond_mint": key(&e.bond_mint),
                    "bond_amount": e.bond_amount,
                }),
                ChallengeEvent::StatusChanged(e) => json!({
                    "challenge": key(&e.challenge),
                    "from": e.from.as_ref().map(variant),
                    "to": variant(&e.to),
                    "at": e.at,
                }),
                ChallengeEvent::VerificationAttested(e) => json!({
                    "challenge": key(&e.challenge),
                    "party": variant(&e.party),
                    "passed": e.passed,
                    "attestation_hash": hex32(&e.attestation_hash),
                }),
                ChallengeEvent::BondDeposited(e) => json!({
                    "challenge": key(&e.challenge),
                    "party": variant(&e.party),
                    "amount": e.amount,
                }),
                ChallengeEvent::OutcomeConfirmed(e) => json!({
                    "challenge": key(&e.challenge),
                    "party": variant(&e.party),
                    "outcome": variant(&e.outcome),
                }),
                ChallengeEvent::AttestationCreated(e) => json!({
                    "challenge": key(&e.challenge),
                    "outcome": variant(&e.outcome),
                    "terms_hash": hex32(&e.terms_hash),
                }),
                ChallengeEvent::BondsReleased(e) => json!({
                    "challenge": key(&e.challenge),
                    "mint": key(&e.mint),
                    "to_creator": e.payout.to_creator,
                    "to_counterparty": e.payout.to_counterparty,
                    "to_treasury": e.payout.to_treasury,
                    "slashed": e.slashed,
                }),
                ChallengeEvent::SurplusSwept(e) => json!({
                    "challenge": key(&e.challenge),
                    "mint": key(&e.mint),
                    "treasury": key(&e.treasury),
                    "amount": e.amount,
                }),
                ChallengeEvent::ChallengeAdminProposed(e) => json!({
                    "admin": key(&e.admin),
                    "proposed": key(&e.proposed),
                }),
                ChallengeEvent::ChallengeAdminAccepted(e) => json!({
                    "previous": key(&e.previous),
                    "admin": key(&e.admin),
                }),
                ChallengeEvent::CounterpartySet(e) => json!({
                    "challenge": key(&e.challenge),
                    "counterparty": key(&e.counterparty),
                    "accepted": e.accepted,
                }),
            },
            Self::Undecodable(dead) => json!({
                "data": hex::encode(&dead.data),
                "reason": dead.reason,
            }),
        }
    }
}
