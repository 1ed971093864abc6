//! The Yellowstone gRPC source: a Geyser `Subscribe` stream, through `yellowstone-grpc-client`,
//! into [`Update`]s.
//!
//! It subscribes, at confirmed commitment, to the non-vote transactions that mention the
//! registry or the challenge program (failed ones included: [`decode`](crate::decode) skips
//! and counts them), to slot updates, of which only `SLOT_DEAD` is kept
//! ([`SlotStatus::Dead`]), and to block metas, for block times.
//!
//! **Block time.** A transaction update carries no block time; the slot's
//! `SubscribeUpdateBlockMeta` does, and the plugin sends it after the slot's transactions. The
//! stream task therefore holds each slot's transactions back until its block meta arrives,
//! then delivers them, in order, with `block_time` set. A meta that came first is remembered
//! (the last [`BLOCK_TIMES_KEPT`] slots), so that slot's transactions go at once. Held
//! transactions are never stuck: the block meta of a later slot releases every older slot, a
//! dead slot releases the older ones (and drops its own), and after
//! [`GrpcConfig::block_meta_wait`] everything held goes out; what leaves without its meta has
//! `block_time: None` and is counted in [`GrpcStats::without_block_time`]. Held transactions
//! count as not delivered: a reconnect drops them and the replay sends them again.
//!
//! **Gaps.** Every block meta names its parent block. Within one connection, a meta whose
//! parent is newer than the last block the stream delivered shows blocks the stream skipped
//! (a relay that lost them, a plugin that dropped them); a replay starting at `from_slot`
//! counts the slot before it (or the slot itself, when the cursor had it whole) as the last
//! block. What arrived of the missing slots is delivered, and the source ends with
//! [`GrpcError::Gap`] before the block that showed the gap, for a backfill of the missing
//! slots ([`crate::gaps`]); with [`GrpcConfig::detect_gaps`] off it is only logged and counted.
//! Skipped leader slots are not gaps: the next block names the last real one as its parent.
//!
//! The stream runs in a task of its own that feeds a bounded channel, so [`Source::next`] is
//! as cancel-safe as [`mpsc::Receiver::recv`]. When the connection fails or the server ends
//! the stream, the task reconnects with exponential backoff and resubscribes with
//! `from_slot` = the slot of the last transaction it delivered (or of the resume [`Cursor`]).
//! The server replays that slot whole; what was already delivered from it is skipped, so the
//! pipeline sees each transaction once. A server that cannot replay from there ends the
//! source with [`GrpcError::ReplayUnavailable`], for a backfill to take over.

use std::{
    collections::{BTreeMap, HashSet},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use anchor_lang::prelude::Pubkey;
use futures::StreamExt;
use tokio::{sync::mpsc, task::JoinHandle, time::Instant};
use tonic::{Code, Status};
use yellowstone_grpc_client::{GeyserGrpcBuilderError, GeyserGrpcClient, GeyserGrpcClientError};
use yellowstone_grpc_proto::prelude::{
    subscribe_update::UpdateOneof, CommitmentLevel, SlotStatus as ProtoSlotStatus,
    SubscribeRequest, SubscribeRequestFilterBlocksMeta, SubscribeRequestFilterSlots,
    SubscribeRequestFilterTransactions, SubscribeUpdateBlockMeta, SubscribeUpdateTransaction,
};

use crate::{
    persist::Cursor,
    source::{InnerIx, SlotStatus, Source, SourceError, TxUpdate, Update},
};

/// The name of the transaction filter in the subscribe request.
pub const TX_FILTER: &str = "veil";
/// The name of the slot filter in the subscribe request.
pub const SLOT_FILTER: &str = "veil-slots";
/// The name of the block-meta filter in the subscribe request.
pub const BLOCKS_META_FILTER: &str = "veil-blocks-meta";
/// How many slots' block times are remembered for transactions that arrive after their meta.
pub const BLOCK_TIMES_KEPT: usize = 256;

/// Where and how [`GrpcSource`] connects.
#[derive(Debug, Clone)]
pub struct GrpcConfig {
    /// The Geyser endpoint, such as `http://127.0.0.1:10000`.
    pub endpoint: String,
    /// The `x-token` header, if the server wants one.
    pub x_token: Option<String>,
    /// The programs whose transactions are wanted (`account_include`).
    pub programs: Vec<Pubkey>,
    /// Updates buffered between the stream task and the pipeline.
    pub channel_capacity: usize,
    /// The first reconnect delay; each failed attempt doubles it.
    pub backoff_initial: Duration,
    /// The longest reconnect delay.
    pub backoff_max: Duration,
    /// Failed connection attempts in a row before the source gives up (`None`: never).
    pub max_attempts: Option<u32>,
    /// Timeout of one connection attempt.
    pub connect_timeout: Duration,
    /// The largest message accepted (a transaction with its meta).
    pub max_decoding_message_size: usize,
    /// How long transactions wait for their slot's block meta before they are delivered
    /// without a block time.
    pub block_meta_wait: Duration,
    /// End the stream with [`GrpcError::Gap`] when a block meta's parent is newer than the
    /// last block seen (see the module's "Gaps"). Off, a gap is only logged and counted.
    pub detect_gaps: bool,
}

impl GrpcConfig {
    /// Defaults for `endpoint`: both programs, 4096 buffered updates, backoff from 100 ms to
    /// 5 s, never give up, 400 ms of waiting for a block meta.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            x_token: None,
            programs: vec![
                veil_client::registry::PROGRAM_ID,
                veil_client::challenge::PROGRAM_ID,
            ],
            channel_capacity: 4096,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            max_attempts: None,
            connect_timeout: Duration::from_secs(10),
            max_decoding_message_size: 64 * 1024 * 1024,
            block_meta_wait: Duration::from_millis(400),
            detect_gaps: true,
        }
    }

    /// The subscribe request, replaying from `from_slot` if given.
    pub fn request(&self, from_slot: Option<u64>) -> SubscribeRequest {
        let programs = self.programs.iter().map(Pubkey::to_string).collect();
        SubscribeRequest {
            transactions: [(
                TX_FILTER.to_owned(),
                SubscribeRequestFilterTransactions {
                    vote: Some(false),
                    failed: None,
                    account_include: programs,
                    ..Default::default()
                },
            )]
            .into(),
            slots: [(
                SLOT_FILTER.to_owned(),
                SubscribeRequestFilterSlots {
                    filter_by_commitment: Some(false),
                    interslot_updates: Some(true),
                },
            )]
            .into(),
            blocks_meta: [(
                BLOCKS_META_FILTER.to_owned(),
                SubscribeRequestFilterBlocksMeta {},
            )]
            .into(),
            commitment: Some(CommitmentLevel::Confirmed as i32),
            from_slot,
            ..Default::default()
        }
    }
}

/// Why the gRPC source stopped. It reaches the pipeline inside [`SourceError::Transport`];
/// [`GrpcError::of`] gets it back.
#[derive(Debug, thiserror::Error)]
pub enum GrpcError {
    /// The server cannot replay from `from_slot`: its oldest slot is `first_available`. The
    /// slots in between must come from a backfill.
    #[error(
        "the server cannot replay from slot {from_slot}: first available is {first_available}"
    )]
    ReplayUnavailable {
        /// The slot asked for.
        from_slot: u64,
        /// The oldest slot the server still has.
        first_available: u64,
    },
    /// The live stream skipped blocks: the block meta of `slot` names `to_slot` as its parent,
    /// but the last block the stream delivered was `from_slot - 1`. The slots in between must
    /// come from a backfill.
    #[error(
        "the stream skipped slots {from_slot}..={to_slot} (block {slot} descends from slot \
         {to_slot})"
    )]
    Gap {
        /// The first slot missing.
        from_slot: u64,
        /// The last slot missing (the parent of `slot`).
        to_slot: u64,
        /// The block whose meta showed the gap.
        slot: u64,
    },
    /// The endpoint or the token is malformed.
    #[error("invalid gRPC client configuration")]
    Config(#[source] GeyserGrpcBuilderError),
    /// `max_attempts` connection attempts in a row failed; the last error is attached.
    #[error("gave up after {attempts} failed connection attempts")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        #[source]
        last: Box<GeyserGrpcClientError>,
    },
}

impl GrpcError {
    /// The gRPC error inside a [`SourceError`], if it came from this source.
    pub fn of(error: &SourceError) -> Option<&GrpcError> {
        match error {
            SourceError::Transport(inner) => inner.downcast_ref(),
        }
    }

    /// Reads the replay-window refusal of the Yellowstone plugin (`broadcast from {from_slot}
    /// is not available, last available: {first_available}`, sent as `OUT_OF_RANGE`, or
    /// `INTERNAL` by older versions). Only that exact message counts: the numbers decide what
    /// a backfill must cover.
    pub fn replay_unavailable(status: &Status) -> Option<Self> {
        if !matches!(
            status.code(),
            Code::OutOfRange | Code::Internal | Code::InvalidArgument
        ) {
            return None;
        }
        let rest = status.message().strip_prefix("broadcast from ")?;
        let (from, first) = rest.split_once(" is not available, last available: ")?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(from) || !digits(first) {
            return None;
        }
        Some(Self::ReplayUnavailable {
            from_slot: from.parse().ok()?,
            first_available: first.parse().ok()?,
        })
    }
}

/// What the stream task has done, shared with the [`GrpcSource`].
#[derive(Debug, Default)]
pub struct GrpcStats {
    /// Connections opened (the first one included).
    pub connects: AtomicU64,
    /// Reconnect attempts, each after a failure or an end of stream and its backoff delay.
    pub reconnects: AtomicU64,
    /// Transactions delivered to the pipeline.
    pub transactions: AtomicU64,
    /// Transactions received again on a replay and skipped.
    pub replay_skipped: AtomicU64,
    /// Transaction updates that could not be converted (missing parts, bad key indexes).
    pub malformed: AtomicU64,
    /// Dead slots delivered.
    pub dead_slots: AtomicU64,
    /// The `from_slot` of the latest subscribe request (0 without one).
    pub last_from_slot: AtomicU64,
    /// Block metas received.
    pub block_metas: AtomicU64,
    /// Transactions delivered without a block time (their block meta did not come in time).
    pub without_block_time: AtomicU64,
    /// Gaps seen in the stream (block metas whose parent is newer than the last block).
    pub gaps: AtomicU64,
    /// The newest slot seen in any update (slot status, block meta or transaction): the head,
    /// for `indexer_lag_slots`.
    pub head_slot: AtomicU64,
}

impl GrpcStats {
    /// Reads one counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// A [`Source`] reading a Yellowstone Geyser stream. Dropping it stops the stream task.
#[derive(Debug)]
pub struct GrpcSource {
    rx: mpsc::Receiver<Result<Update, GrpcError>>,
    stats: Arc<GrpcStats>,
    task: JoinHandle<()>,
    /// Kept to resubscribe on [`Source::rewind`].
    config: GrpcConfig,
}

impl GrpcSource {
    /// Starts the stream task. With `resume` (the persisted [`Cursor`]), the first subscribe
    /// replays from its slot and only transactions after it are delivered; without, the
    /// stream starts at the server's tip.
    pub fn spawn(config: GrpcConfig, resume: Option<Cursor>) -> Self {
        Self::spawn_with_stats(config, resume, Arc::default())
    }

    /// [`spawn`](Self::spawn), counting into `stats` (shared by the sources a
    /// [`run_live`](crate::gaps::run_live) starts one after another).
    pub fn spawn_with_stats(
        config: GrpcConfig,
        resume: Option<Cursor>,
        stats: Arc<GrpcStats>,
    ) -> Self {
        let (tx, rx) = mpsc::channel(config.channel_capacity.max(1));
        let task = tokio::spawn(
            Stream {
                config: config.clone(),
                stats: stats.clone(),
                tx,
                position: resume.map(Position::from_cursor),
                held: BTreeMap::new(),
                times: BTreeMap::new(),
                deadline: None,
                last_block: None,
            }
            .run(),
        );
        Self {
            rx,
            stats,
            task,
            config,
        }
    }

    /// The stream task's counters (reconnects among them).
    pub fn stats(&self) -> &Arc<GrpcStats> {
        &self.stats
    }
}

impl Drop for GrpcSource {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Source for GrpcSource {
    async fn next(&mut self) -> Result<Option<Update>, SourceError> {
        match self.rx.recv().await {
            None => Ok(None),
            Some(Ok(update)) => Ok(Some(update)),
            Some(Err(error)) => Err(SourceError::Transport(Box::new(error))),
        }
    }

    /// Resubscribes from `from` (`from_slot` replay): updates already buffered are dropped
    /// with the old stream, and the new one delivers only what comes after `from`.
    async fn rewind(&mut self, from: &Cursor) {
        let fresh =
            Self::spawn_with_stats(self.config.clone(), Some(from.clone()), self.stats.clone());
        // The old source's drop aborts its stream task.
        *self = fresh;
    }
}

/// The last slot delivered from, and what of it was delivered.
#[derive(Debug, Clone)]
struct Position {
    slot: u64,
    /// Transactions of `slot` at or below this index are done (from a persisted cursor).
    done_through: Option<u32>,
    /// Indexes of `slot` delivered by this source.
    delivered: HashSet<u32>,
}

impl Position {
    fn from_cursor(cursor: Cursor) -> Self {
        Self {
            slot: cursor.slot,
            done_through: Some(cursor.index_in_slot),
            delivered: HashSet::new(),
        }
    }

    /// Whether the transaction at (`slot`, `index`) was already delivered.
    fn covers(&self, slot: u64, index: u32) -> bool {
        slot < self.slot
            || (slot == self.slot
                && (self.done_through.is_some_and(|d| index <= d)
                    || self.delivered.contains(&index)))
    }

    fn record(&mut self, slot: u64, index: u32) {
        if slot > self.slot {
            *self = Self {
                slot,
                done_through: None,
                delivered: HashSet::new(),
            };
        }
        if slot == self.slot {
            self.delivered.insert(index);
        }
    }
}

/// How one connection ended.
enum Ended {
    /// The pipeline is gone: stop.
    Closed,
    /// Reconnect; `delivered` says whether the connection got anywhere (resets the backoff).
    Retry {
        delivered: bool,
        error: GeyserGrpcClientError,
    },
    /// Stop with this error.
    Fatal(GrpcError),
}

/// The stream task.
struct Stream {
    config: GrpcConfig,
    stats: Arc<GrpcStats>,
    tx: mpsc::Sender<Result<Update, GrpcError>>,
    position: Option<Position>,
    /// Transactions waiting for their slot's block meta, by slot, in arrival order.
    held: BTreeMap<u64, Vec<TxUpdate>>,
    /// Block times of recent slots, from their block metas.
    times: BTreeMap<u64, i64>,
    /// When the oldest held transaction must go, meta or not.
    deadline: Option<Instant>,
    /// The newest block of this connection's stream, or the slot its replay starts after:
    /// a block meta whose parent is newer shows a gap.
    last_block: Option<u64>,
}

/// The pipeline dropped the source.
struct Closed;

impl Stream {
    async fn run(mut self) {
        let mut failures = 0u32;
        // Unbounded here (`max_attempts` decides when to give up); the policy only spaces the
        // attempts, with jitter, doubling up to `backoff_max`.
        let policy = veil_retry::Policy::new(
            self.config.backoff_initial,
            self.config.backoff_max,
            u32::MAX,
        );
        let mut delays = policy.delays();
        loop {
            let from_slot = self.position.as_ref().map(|p| p.slot);
            let ended = self.connection(from_slot).await;
            self.drop_held();
            let error = match ended {
                Ended::Closed => return,
                Ended::Fatal(error) => {
                    let _ = self.tx.send(Err(error)).await;
                    return;
                }
                Ended::Retry { delivered, error } => {
                    if delivered {
                        failures = 0;
                        delays = policy.delays();
                    }
                    error
                }
            };
            failures = failures.saturating_add(1);
            let delay = delays.next().unwrap_or(self.config.backoff_max);
            if self.config.max_attempts.is_some_and(|max| failures >= max) {
                let gave_up = GrpcError::GaveUp {
                    attempts: failures,
                    last: Box::new(error),
                };
                let _ = self.tx.send(Err(gave_up)).await;
                return;
            }
            tracing::warn!(
                endpoint = %self.config.endpoint,
                ?from_slot,
                failures,
                delay_ms = delay.as_millis() as u64,
                %error,
                "geyser stream interrupted; reconnecting"
            );
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.tx.closed() => return,
            }
            self.stats.reconnects.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One connection: subscribe, forward until it fails or ends.
    async fn connection(&mut self, from_slot: Option<u64>) -> Ended {
        let builder = match GeyserGrpcClient::build_from_shared(self.config.endpoint.clone())
            .and_then(|b| b.x_token(self.config.x_token.clone()))
        {
            Ok(builder) => builder
                .connect_timeout(self.config.connect_timeout)
                .max_decoding_message_size(self.config.max_decoding_message_size),
            Err(error) => return Ended::Fatal(GrpcError::Config(error)),
        };
        let mut client = match builder.connect().await {
            Ok(client) => client,
            Err(GeyserGrpcBuilderError::TonicError(error)) => {
                return Ended::Retry {
                    delivered: false,
                    error: GeyserGrpcClientError::TransportError(error),
                }
            }
            Err(error) => return Ended::Fatal(GrpcError::Config(error)),
        };
        self.stats.connects.fetch_add(1, Ordering::Relaxed);
        self.stats
            .last_from_slot
            .store(from_slot.unwrap_or(0), Ordering::Relaxed);
        // The request sink stays alive with the stream: closing it may end the subscription.
        let (_sink, mut stream) = match client
            .subscribe_with_request(Some(self.config.request(from_slot)))
            .await
        {
            Ok(pair) => pair,
            Err(error) => return self.failed(from_slot, false, error),
        };
        // The replay starts at `from_slot`: the block before it is the last one known, or the
        // slot itself when it was done whole.
        self.last_block = self.position.as_ref().and_then(|p| match p.done_through {
            Some(u32::MAX) => Some(p.slot),
            _ => p.slot.checked_sub(1),
        });
        let mut delivered = false;
        loop {
            let deadline = self.deadline;
            let message = tokio::select! {
                message = stream.next() => message,
                () = self.tx.closed() => return Ended::Closed,
                () = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)),
                    if deadline.is_some() =>
                {
                    match self.release(Some(u64::MAX)).await {
                        Ok(sent) => delivered |= sent,
                        Err(Closed) => return Ended::Closed,
                    }
                    continue;
                }
            };
            let update = match message {
                None => {
                    return Ended::Retry {
                        delivered,
                        error: Status::unavailable("the server ended the stream").into(),
                    }
                }
                Some(Err(status)) => return self.failed(from_slot, delivered, status.into()),
                Some(Ok(update)) => update,
            };
            let out = match update.update_oneof {
                Some(UpdateOneof::Transaction(tx)) => {
                    self.transaction(tx);
                    match self.release(None).await {
                        Ok(sent) => delivered |= sent,
                        Err(Closed) => return Ended::Closed,
                    }
                    continue;
                }
                Some(UpdateOneof::BlockMeta(meta)) => {
                    let slot = meta.slot;
                    if let Some(gap) = self.gap(&meta) {
                        // What arrived of the missing slots goes; the block after them waits
                        // for the replay that follows the backfill.
                        if self.release(Some(meta.parent_slot)).await.is_err() {
                            return Ended::Closed;
                        }
                        return Ended::Fatal(gap);
                    }
                    self.block_meta(meta);
                    // The plugin sends a slot's meta after its transactions: older slots still
                    // held will not get theirs.
                    match self.release(slot.checked_sub(1)).await {
                        Ok(sent) => delivered |= sent,
                        Err(Closed) => return Ended::Closed,
                    }
                    continue;
                }
                Some(UpdateOneof::Slot(slot))
                    if slot.status == ProtoSlotStatus::SlotFinalized as i32 =>
                {
                    self.stats.head_slot.fetch_max(slot.slot, Ordering::Relaxed);
                    Update::Slot(SlotStatus::Finalized(slot.slot))
                }
                Some(UpdateOneof::Slot(slot))
                    if slot.status != ProtoSlotStatus::SlotDead as i32 =>
                {
                    self.stats.head_slot.fetch_max(slot.slot, Ordering::Relaxed);
                    continue;
                }
                Some(UpdateOneof::Slot(slot)) => {
                    self.stats.dead_slots.fetch_add(1, Ordering::Relaxed);
                    // Nothing of a dead slot survives; what came before it goes first.
                    self.held.remove(&slot.slot);
                    if self.release(Some(slot.slot)).await.is_err() {
                        return Ended::Closed;
                    }
                    if let Some(position) = self.position.as_mut().filter(|p| p.slot == slot.slot) {
                        // Nothing of a dead slot survives: a replay must not skip its indexes.
                        position.delivered.clear();
                        position.done_through = None;
                    }
                    Update::Slot(SlotStatus::Dead(slot.slot))
                }
                _ => continue,
            };
            if self.tx.send(Ok(out)).await.is_err() {
                return Ended::Closed;
            }
            delivered = true;
        }
    }

    /// Classifies a failed subscription: a replay refusal is fatal, the rest is retried.
    fn failed(
        &self,
        from_slot: Option<u64>,
        delivered: bool,
        error: GeyserGrpcClientError,
    ) -> Ended {
        if let GeyserGrpcClientError::TonicStatus(status) = &error {
            if let Some(refusal) = GrpcError::replay_unavailable(status) {
                tracing::warn!(?from_slot, %status, "geyser replay window does not reach from_slot");
                return Ended::Fatal(refusal);
            }
        }
        Ended::Retry { delivered, error }
    }

    /// Converts and deduplicates one transaction update, and holds it for its block time.
    fn transaction(&mut self, update: SubscribeUpdateTransaction) {
        let tx = match convert(update) {
            Ok(tx) => tx,
            Err(error) => {
                self.stats.malformed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, "malformed geyser transaction update skipped");
                return;
            }
        };
        self.stats.head_slot.fetch_max(tx.slot, Ordering::Relaxed);
        let delivered = self
            .position
            .as_ref()
            .is_some_and(|p| p.covers(tx.slot, tx.index_in_slot));
        let held = self
            .held
            .get(&tx.slot)
            .is_some_and(|txs| txs.iter().any(|t| t.index_in_slot == tx.index_in_slot));
        if delivered || held {
            self.stats.replay_skipped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if self.held.is_empty() {
            self.deadline = Some(Instant::now() + self.config.block_meta_wait);
        }
        self.held.entry(tx.slot).or_default().push(tx);
    }

    /// Whether `meta` shows skipped blocks (its parent is newer than the last block seen),
    /// as the error that ends the stream when gaps are detected. Moves the last block on.
    fn gap(&mut self, meta: &SubscribeUpdateBlockMeta) -> Option<GrpcError> {
        let last = self.last_block;
        self.last_block = Some(last.map_or(meta.slot, |l| l.max(meta.slot)));
        let last = last?;
        if meta.parent_slot <= last {
            return None;
        }
        self.stats.gaps.fetch_add(1, Ordering::Relaxed);
        let gap = GrpcError::Gap {
            from_slot: last + 1,
            to_slot: meta.parent_slot,
            slot: meta.slot,
        };
        tracing::warn!(%gap, "geyser stream gap");
        self.config.detect_gaps.then_some(gap)
    }

    /// Remembers a slot's block time.
    fn block_meta(&mut self, meta: SubscribeUpdateBlockMeta) {
        self.stats.block_metas.fetch_add(1, Ordering::Relaxed);
        self.stats.head_slot.fetch_max(meta.slot, Ordering::Relaxed);
        if let Some(time) = meta.block_time {
            self.times.insert(meta.slot, time.timestamp);
            while self.times.len() > BLOCK_TIMES_KEPT {
                self.times.pop_first();
            }
        }
    }

    /// Delivers held transactions, oldest slot first: every slot at or below `force` (with
    /// its block time if known), then each slot whose block time is known, up to the first
    /// that is still waiting. Returns whether anything was sent.
    async fn release(&mut self, force: Option<u64>) -> Result<bool, Closed> {
        let mut sent = false;
        while let Some(entry) = self.held.first_entry() {
            let slot = *entry.key();
            let time = self.times.get(&slot).copied();
            if time.is_none() && force.is_none_or(|f| slot > f) {
                break;
            }
            let txs = entry.remove();
            if time.is_none() {
                self.stats
                    .without_block_time
                    .fetch_add(txs.len() as u64, Ordering::Relaxed);
                tracing::debug!(slot, "transactions delivered without a block meta");
            }
            for mut tx in txs {
                tx.block_time = time;
                self.record(&tx);
                self.tx.send(Ok(Update::Tx(tx))).await.map_err(|_| Closed)?;
                sent = true;
            }
        }
        self.deadline = match self.held.is_empty() {
            true => None,
            false => self
                .deadline
                .or_else(|| Some(Instant::now() + self.config.block_meta_wait)),
        };
        Ok(sent)
    }

    /// Forgets the held transactions at the end of a connection: they were not delivered, so
    /// the replay from the position's slot (or, with none yet, from the oldest held slot)
    /// sends them again.
    fn drop_held(&mut self) {
        if self.position.is_none() {
            if let Some(&slot) = self.held.keys().next() {
                self.position = Some(Position {
                    slot,
                    done_through: None,
                    delivered: HashSet::new(),
                });
            }
        }
        self.held.clear();
        self.deadline = None;
    }

    /// Marks `tx` delivered.
    fn record(&mut self, tx: &TxUpdate) {
        match &mut self.position {
            Some(position) => position.record(tx.slot, tx.index_in_slot),
            None => {
                self.position = Some(Position {
                    slot: tx.slot,
                    done_through: None,
                    delivered: HashSet::from([tx.index_in_slot]),
                })
            }
        }
        self.stats.transactions.fetch_add(1, Ordering::Relaxed);
    }
}

/// Why a transaction update could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The update has no transaction, message or meta.
    #[error("the update lacks its {0}")]
    Missing(&'static str),
    /// The signature is not 64 bytes.
    #[error("signature of {0} bytes")]
    Signature(usize),
    /// An account key is not 32 bytes.
    #[error("account key of {0} bytes")]
    Key(usize),
    /// An index (of a key, an instruction, or in the block) is out of range.
    #[error("{what} index {index} out of range")]
    Index {
        /// What the index points into.
        what: &'static str,
        /// The index.
        index: u64,
    },
}

/// A 64-byte signature in base58, with five8's fixed-size encoder: the generic `bs58` one was
/// 6% of the ingest profile (docs/perf.md), and this runs once per transaction.
fn signature_base58(bytes: &[u8]) -> Result<String, ConvertError> {
    let bytes: &[u8; 64] = bytes
        .try_into()
        .map_err(|_| ConvertError::Signature(bytes.len()))?;
    let mut out = [0u8; 88];
    let len = five8::encode_64(bytes, &mut out);
    // Base58 output is ASCII.
    Ok(String::from_utf8_lossy(&out[..usize::from(len)]).into_owned())
}

/// Converts a Geyser transaction update into a [`TxUpdate`]: the inner instructions are
/// resolved against the message's account keys followed by the addresses loaded from lookup
/// tables (writable, then read-only), as the runtime orders them. The block time is not part
/// of a transaction update and stays `None` (the stream fills it from the slot's block meta).
pub fn convert(update: SubscribeUpdateTransaction) -> Result<TxUpdate, ConvertError> {
    let info = update
        .transaction
        .ok_or(ConvertError::Missing("transaction info"))?;
    if info.signature.len() != 64 {
        return Err(ConvertError::Signature(info.signature.len()));
    }
    let message = info
        .transaction
        .and_then(|t| t.message)
        .ok_or(ConvertError::Missing("message"))?;
    let meta = info.meta.ok_or(ConvertError::Missing("meta"))?;
    let keys = message
        .account_keys
        .iter()
        .chain(&meta.loaded_writable_addresses)
        .chain(&meta.loaded_readonly_addresses)
        .map(|k| Pubkey::try_from(k.as_slice()).map_err(|_| ConvertError::Key(k.len())))
        .collect::<Result<Vec<_>, _>>()?;
    let mut by_ix: BTreeMap<u32, Vec<InnerIx>> = BTreeMap::new();
    for list in meta.inner_instructions {
        if list.index as usize >= message.instructions.len() {
            return Err(ConvertError::Index {
                what: "instruction",
                index: list.index.into(),
            });
        }
        let resolved = list
            .instructions
            .into_iter()
            .map(|ix| {
                let program_id =
                    *keys
                        .get(ix.program_id_index as usize)
                        .ok_or(ConvertError::Index {
                            what: "account key",
                            index: ix.program_id_index.into(),
                        })?;
                Ok(InnerIx {
                    program_id,
                    data: ix.data,
                })
            })
            .collect::<Result<Vec<_>, ConvertError>>()?;
        by_ix.entry(list.index).or_default().extend(resolved);
    }
    let inner = (0..message.instructions.len() as u32)
        .map(|i| by_ix.remove(&i).unwrap_or_default())
        .collect();
    Ok(TxUpdate {
        slot: update.slot,
        signature: signature_base58(&info.signature)?,
        block_time: None,
        index_in_slot: u32::try_from(info.index).map_err(|_| ConvertError::Index {
            what: "transaction-in-block",
            index: info.index,
        })?,
        inner,
        failed: meta.err.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_refusal_is_read_from_the_plugin_message_only() {
        let status = Status::out_of_range("broadcast from 7 is not available, last available: 12");
        assert!(matches!(
            GrpcError::replay_unavailable(&status),
            Some(GrpcError::ReplayUnavailable {
                from_slot: 7,
                first_available: 12
            })
        ));
        let old = Status::internal("broadcast from 7 is not available, last available: 12");
        assert!(GrpcError::replay_unavailable(&old).is_some());
        assert!(GrpcError::replay_unavailable(&Status::unavailable(
            "broadcast from 7 is not available, last available: 12"
        ))
        .is_none());
        assert!(GrpcError::replay_unavailable(&Status::internal("connection reset")).is_none());
    }

    #[test]
    fn signature_base58_matches_the_generic_encoder() {
        for seed in [0u8, 1, 7, 255] {
            let mut bytes = [seed; 64];
            bytes[..3].fill(0);
            bytes[63] = seed.wrapping_mul(31);
            assert_eq!(
                signature_base58(&bytes).unwrap(),
                bs58::encode(bytes).into_string()
            );
        }
        assert!(matches!(
            signature_base58(&[1; 63]),
            Err(ConvertError::Signature(63))
        ));
    }

    #[test]
    fn position_skips_what_a_replay_resends() {
        let mut p = Position::from_cursor(Cursor {
            slot: 10,
            index_in_slot: 2,
            signature: None,
        });
        assert!(p.covers(9, 5) && p.covers(10, 2) && !p.covers(10, 3));
        p.record(10, 5);
        assert!(p.covers(10, 5) && !p.covers(10, 4));
        p.record(11, 0);
        assert!(p.covers(10, 4) && p.covers(11, 0) && !p.covers(11, 1));
    }
}
