//! The source stage: what a transport (Yellowstone gRPC, RPC backfill, a test channel)
//! delivers, in a form that knows nothing of the transport.

use std::future::Future;

use anchor_lang::prelude::Pubkey;
use tokio::sync::mpsc;

use crate::persist::Cursor;

/// One instruction executed by CPI inside a top-level instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerIx {
    /// The invoked program.
    pub program_id: Pubkey,
    /// Instruction data.
    pub data: Vec<u8>,
}

/// A transaction as the source saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxUpdate {
    /// The slot it landed in.
    pub slot: u64,
    /// Its first signature, base58.
    pub signature: String,
    /// The block's unix time, when the source knows it.
    pub block_time: Option<i64>,
    /// Its position in the slot (the block's transaction index).
    pub index_in_slot: u32,
    /// For each top-level instruction, in order, the CPIs it made, in order.
    pub inner: Vec<Vec<InnerIx>>,
    /// The transaction failed: its state changes and events did not happen.
    pub failed: bool,
}

/// What the source knows of a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotStatus {
    /// The slot was abandoned (its fork died): everything delivered from it is void.
    Dead(u64),
    /// The slot is finalized: it and every slot before it can no longer be rolled back.
    Finalized(u64),
}

/// One item of a source's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// A transaction that mentions our programs.
    Tx(TxUpdate),
    /// A slot's status.
    Slot(SlotStatus),
}

/// Why a source stopped delivering.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The transport failed and the source cannot recover by itself.
    #[error("source transport failed: {0}")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The first stage: a stream of [`Update`]s, in chain order for each slot.
pub trait Source: Send {
    /// The next update; `Ok(None)` when the stream has ended.
    ///
    /// Must be cancel-safe (as [`mpsc::Receiver::recv`] is): the pipeline drops the future when
    /// it is not ready, to close a batch, and no update may be lost by that.
    fn next(&mut self) -> impl Future<Output = Result<Option<Update>, SourceError>> + Send;

    /// Makes the stream continue right after `from`: called after a dead slot was rolled back
    /// and the cursor rewound to `from`, so that what follows is read again from the chain's
    /// surviving fork (the writes are idempotent). A source that cannot replay ignores it.
    fn rewind(&mut self, from: &Cursor) -> impl Future<Output = ()> + Send {
        let _ = from;
        async {}
    }
}

/// A source fed through a channel: for tests, and for transports that run their own task.
#[derive(Debug)]
pub struct ChannelSource {
    rx: mpsc::Receiver<Update>,
}

impl ChannelSource {
    /// A bounded channel of `capacity` and the source reading it.
    pub fn channel(capacity: usize) -> (mpsc::Sender<Update>, Self) {
        let (tx, rx) = mpsc::channel(capacity);
        (tx, Self { rx })
    }

    /// A source that yields `updates` and then ends.
    pub fn from_updates(updates: Vec<Update>) -> Self {
        let (tx, source) = Self::channel(updates.len().max(1));
        for update in updates {
            // The channel holds them all, and the receiver is alive.
            let _ = tx.try_send(update);
        }
        source
    }
}

impl Source for ChannelSource {
    async fn next(&mut self) -> Result<Option<Update>, SourceError> {
        Ok(self.rx.recv().await)
    }
}
