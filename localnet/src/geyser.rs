//! The local chain's Yellowstone gRPC endpoint.
//!
//! **What it is.** A `Geyser` service (`yellowstone-grpc-proto`'s generated server trait,
//! served by tonic) fed by surfpool's own Geyser event channel: the events surfpool hands to
//! Geyser plugins are converted into Yellowstone `SubscribeUpdate`s, exactly the messages the
//! Yellowstone plugin streams from a validator:
//!
//! - `Transaction`: every executed transaction with its message and status meta (error, logs,
//!   inner instructions with stack heights, loaded addresses, balances, compute units);
//! - `BlockMeta`: each block's slot, parent, hashes, block time and height, after the block's
//!   transactions;
//! - `Slot`: the slot's status as surfpool reports it (`CONFIRMED` as each block is produced).
//!
//! `Subscribe` honours the filters the indexer uses: `transactions` (`vote`, `failed`,
//! `account_include`, `account_exclude`, `account_required`), `slots` and `blocks_meta`, plus
//! `from_slot`, replayed from a window of recent slots ([`FEED_SLOTS`]); a `from_slot` older
//! than the window is refused with the Yellowstone plugin's own `OUT_OF_RANGE` message. A
//! subscriber that falls behind the live channel is ended with `UNAVAILABLE` and resumes with
//! `from_slot`. `Ping` answers; the unary getters answer from the feed's newest block.
//!
//! **What it is not.** Accounts, entries, full blocks, deshred and gossip streams are
//! refused with `UNIMPLEMENTED`; commitment levels are not distinguished (surfpool confirms
//! each block as it is produced); there is no `x-token` check.

use std::{
    collections::{HashSet, VecDeque},
    pin::Pin,
    sync::{Arc, Mutex},
};

use crossbeam_channel::Receiver;
use futures::Stream;
use surfpool_core::surfnet::{GeyserEvent, GeyserSlotStatus};
use tokio::sync::{broadcast, mpsc};
use tonic::{Request, Response, Status, Streaming};
use yellowstone_grpc_proto::prelude::{
    geyser_server::Geyser, subscribe_update::UpdateOneof, BlockHeight, CompiledInstruction,
    GetBlockHeightRequest, GetBlockHeightResponse, GetLatestBlockhashRequest,
    GetLatestBlockhashResponse, GetSlotRequest, GetSlotResponse, GetVersionRequest,
    GetVersionResponse, InnerInstruction, InnerInstructions, IsBlockhashValidRequest,
    IsBlockhashValidResponse, Message, MessageAddressTableLookup, MessageHeader, PingRequest,
    PongResponse, SlotStatus, SubscribeDeshredRequest, SubscribeGossipRequest,
    SubscribeReplayInfoRequest, SubscribeReplayInfoResponse, SubscribeRequest,
    SubscribeRequestFilterTransactions, SubscribeUpdate, SubscribeUpdateBlockMeta,
    SubscribeUpdateDeshred, SubscribeUpdateGossip, SubscribeUpdateSlot, SubscribeUpdateTransaction,
    SubscribeUpdateTransactionInfo, Transaction, TransactionError, TransactionStatusMeta,
    UnixTimestamp,
};

/// Slots of updates kept for `from_slot` replays.
pub const FEED_SLOTS: u64 = 10_000;
/// Updates a live subscriber may fall behind before it is ended.
const LIVE_CAPACITY: usize = 65_536;

/// One update and the keys a transaction touches (for the filters).
#[derive(Clone)]
struct Item {
    slot: u64,
    keys: Arc<HashSet<String>>,
    failed: bool,
    update: SubscribeUpdate,
}

/// The newest block, for the unary getters.
#[derive(Debug, Clone, Default)]
struct Tip {
    slot: u64,
    blockhash: String,
    height: u64,
}

struct Window {
    items: VecDeque<Item>,
    first_slot: u64,
    tip: Tip,
}

/// Converted updates: a replay window and a live channel, written by one thread.
pub struct Feed {
    window: Mutex<Window>,
    live: broadcast::Sender<Item>,
}

impl Feed {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            window: Mutex::new(Window {
                items: VecDeque::new(),
                first_slot: 0,
                tip: Tip::default(),
            }),
            live: broadcast::channel(LIVE_CAPACITY).0,
        })
    }

    /// Starts the thread that converts surfpool's events until their channel closes.
    pub fn start(events: Receiver<GeyserEvent>) -> std::io::Result<Arc<Self>> {
        let feed = Self::new();
        let writer = feed.clone();
        std::thread::Builder::new()
            .name("veil-localnet-geyser".to_owned())
            .spawn(move || {
                while let Ok(event) = events.recv() {
                    if let Some(item) = convert(event) {
                        writer.push(item);
                    }
                }
            })?;
        Ok(feed)
    }

    fn push(&self, item: Item) {
        let Ok(mut window) = self.window.lock() else {
            return;
        };
        if let Some(UpdateOneof::BlockMeta(meta)) = &item.update.update_oneof {
            window.tip = Tip {
                slot: meta.slot,
                blockhash: meta.blockhash.clone(),
                height: meta.block_height.as_ref().map_or(0, |h| h.block_height),
            };
        }
        let oldest_kept = item.slot.saturating_sub(FEED_SLOTS);
        while window.items.front().is_some_and(|i| i.slot < oldest_kept) {
            window.items.pop_front();
            window.first_slot = oldest_kept;
        }
        window.items.push_back(item.clone());
        // Sent under the lock: a subscriber snapshots the window and subscribes atomically.
        let _ = self.live.send(item);
    }
}

fn slot_status(status: &GeyserSlotStatus) -> SlotStatus {
    match status {
        GeyserSlotStatus::Processed => SlotStatus::SlotProcessed,
        GeyserSlotStatus::Confirmed => SlotStatus::SlotConfirmed,
        GeyserSlotStatus::Rooted => SlotStatus::SlotFinalized,
    }
}

fn update(oneof: UpdateOneof) -> SubscribeUpdate {
    SubscribeUpdate {
        filters: Vec::new(),
        update_oneof: Some(oneof),
        created_at: None,
    }
}

/// surfpool's event as a Yellowstone update (`None` for the kinds not served).
fn convert(event: GeyserEvent) -> Option<Item> {
    let no_keys = || Arc::new(HashSet::new());
    match event {
        GeyserEvent::NotifyTransaction(event) => {
            let tx = event.transaction_with_status_meta.transaction;
            let meta = event.transaction_with_status_meta.meta;
            let slot = event.transaction_with_status_meta.slot;
            let message = &tx.message;
            let header = message.header();
            let static_keys = message.static_account_keys();
            let mut keys: HashSet<String> = static_keys.iter().map(|k| k.to_string()).collect();
            keys.extend(meta.loaded_addresses.writable.iter().map(|k| k.to_string()));
            keys.extend(meta.loaded_addresses.readonly.iter().map(|k| k.to_string()));
            let proto_message = Message {
                header: Some(MessageHeader {
                    num_required_signatures: header.num_required_signatures.into(),
                    num_readonly_signed_accounts: header.num_readonly_signed_accounts.into(),
                    num_readonly_unsigned_accounts: header.num_readonly_unsigned_accounts.into(),
                }),
                account_keys: static_keys.iter().map(|k| k.to_bytes().to_vec()).collect(),
                recent_blockhash: message.recent_blockhash().to_bytes().to_vec(),
                instructions: message
                    .instructions()
                    .iter()
                    .map(|ix| CompiledInstruction {
                        program_id_index: ix.program_id_index.into(),
                        accounts: ix.accounts.clone(),
                        data: ix.data.clone(),
                    })
                    .collect(),
                versioned: message.address_table_lookups().is_some(),
                address_table_lookups: message
                    .address_table_lookups()
                    .unwrap_or_default()
                    .iter()
                    .map(|l| MessageAddressTableLookup {
                        account_key: l.account_key.to_bytes().to_vec(),
                        writable_indexes: l.writable_indexes.clone(),
                        readonly_indexes: l.readonly_indexes.clone(),
                    })
                    .collect(),
                config: None,
            };
            let failed = meta.status.is_err();
            let proto_meta = TransactionStatusMeta {
                err: meta.status.as_ref().err().map(|e| TransactionError {
                    err: bincode::serialize(e).unwrap_or_default(),
                }),
                fee: meta.fee,
                pre_balances: meta.pre_balances.clone(),
                post_balances: meta.post_balances.clone(),
                inner_instructions_none: meta.inner_instructions.is_none(),
                inner_instructions: meta
                    .inner_instructions
                    .iter()
                    .flatten()
                    .map(|list| InnerInstructions {
                        index: list.index.into(),
                        instructions: list
                            .instructions
                            .iter()
                            .map(|inner| InnerInstruction {
                                program_id_index: inner.instruction.program_id_index.into(),
                                accounts: inner.instruction.accounts.clone(),
                                data: inner.instruction.data.clone(),
                                stack_height: inner.stack_height,
                            })
                            .collect(),
                    })
                    .collect(),
                log_messages_none: meta.log_messages.is_none(),
                log_messages: meta.log_messages.clone().unwrap_or_default(),
                loaded_writable_addresses: meta
                    .loaded_addresses
                    .writable
                    .iter()
                    .map(|k| k.to_bytes().to_vec())
                    .collect(),
                loaded_readonly_addresses: meta
                    .loaded_addresses
                    .readonly
                    .iter()
                    .map(|k| k.to_bytes().to_vec())
                    .collect(),
                compute_units_consumed: meta.compute_units_consumed,
                return_data_none: true,
                ..Default::default()
            };
            let signature = tx.signatures.first()?.as_ref().to_vec();
            Some(Item {
                slot,
                keys: Arc::new(keys),
                failed,
                update: update(UpdateOneof::Transaction(SubscribeUpdateTransaction {
                    slot,
                    transaction: Some(SubscribeUpdateTransactionInfo {
                        signature: signature.clone(),
                        is_vote: false,
                        transaction: Some(Transaction {
                            signatures: tx.signatures.iter().map(|s| s.as_ref().to_vec()).collect(),
                            message: Some(proto_message),
                        }),
                        meta: Some(proto_meta),
                        index: event.index as u64,
                    }),
                    ..Default::default()
                })),
            })
        }
        GeyserEvent::NotifyBlockMetadata(meta) => Some(Item {
            slot: meta.slot,
            keys: no_keys(),
            failed: false,
            update: update(UpdateOneof::BlockMeta(SubscribeUpdateBlockMeta {
                slot: meta.slot,
                blockhash: meta.blockhash,
                rewards: None,
                block_time: meta.block_time.map(|timestamp| UnixTimestamp { timestamp }),
                block_height: meta
                    .block_height
                    .map(|block_height| BlockHeight { block_height }),
                parent_slot: meta.parent_slot,
                parent_blockhash: meta.parent_blockhash,
                executed_transaction_count: meta.executed_transaction_count,
                entries_count: meta.entry_count,
                ..Default::default()
            })),
        }),
        GeyserEvent::UpdateSlotStatus {
            slot,
            parent,
            status,
        } => Some(Item {
            slot,
            keys: no_keys(),
            failed: false,
            update: update(UpdateOneof::Slot(SubscribeUpdateSlot {
                slot,
                parent,
                status: slot_status(&status) as i32,
                dead_error: None,
                ..Default::default()
            })),
        }),
        _ => None,
    }
}

/// The transaction filter's decision.
fn transaction_matches(filter: &SubscribeRequestFilterTransactions, item: &Item) -> bool {
    if filter.vote == Some(true) {
        return false;
    }
    if filter.failed.is_some_and(|failed| failed != item.failed) {
        return false;
    }
    let include = filter.account_include.is_empty()
        || filter.account_include.iter().any(|k| item.keys.contains(k));
    let exclude = filter.account_exclude.iter().any(|k| item.keys.contains(k));
    let required = filter
        .account_required
        .iter()
        .all(|k| item.keys.contains(k));
    include && !exclude && required
}

/// `item` as `request` wants it (with the names of the filters it matched), or `None`.
fn select(request: &SubscribeRequest, item: &Item) -> Option<SubscribeUpdate> {
    let filters: Vec<String> = match &item.update.update_oneof {
        Some(UpdateOneof::Transaction(_)) => request
            .transactions
            .iter()
            .filter(|(_, filter)| transaction_matches(filter, item))
            .map(|(name, _)| name.clone())
            .collect(),
        Some(UpdateOneof::BlockMeta(_)) => request.blocks_meta.keys().cloned().collect(),
        Some(UpdateOneof::Slot(_)) => request.slots.keys().cloned().collect(),
        _ => Vec::new(),
    };
    if filters.is_empty() {
        return None;
    }
    let mut update = item.update.clone();
    update.filters = filters;
    Some(update)
}

type UpdateStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

fn stream_of<T: Send + 'static>(rx: mpsc::Receiver<Result<T, Status>>) -> UpdateStream<T> {
    Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

/// The `Geyser` service over a [`Feed`].
pub struct Service {
    feed: Arc<Feed>,
}

impl Service {
    /// The service.
    pub fn new(feed: Arc<Feed>) -> Self {
        Self { feed }
    }

    fn tip(&self) -> Tip {
        self.feed
            .window
            .lock()
            .map(|w| w.tip.clone())
            .unwrap_or_default()
    }
}

#[tonic::async_trait]
impl Geyser for Service {
    type SubscribeStream = UpdateStream<SubscribeUpdate>;
    type SubscribeDeshredStream = UpdateStream<SubscribeUpdateDeshred>;
    type SubscribeGossipStream = UpdateStream<SubscribeUpdateGossip>;

    async fn subscribe(
        &self,
        request: Request<Streaming<SubscribeRequest>>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let mut inbound = request.into_inner();
        let first = inbound
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("no subscribe request"))?;
        if !first.accounts.is_empty() || !first.blocks.is_empty() || !first.entry.is_empty() {
            return Err(Status::unimplemented(
                "the localnet streams transactions, slots and block metas only",
            ));
        }
        // The replay and the live subscription are taken under one lock: nothing is missed
        // or sent twice between them.
        let (replay, mut live) = {
            let window = self
                .feed
                .window
                .lock()
                .map_err(|_| Status::internal("the feed is poisoned"))?;
            if let Some(from_slot) = first.from_slot {
                if from_slot < window.first_slot {
                    return Err(Status::out_of_range(format!(
                        "broadcast from {from_slot} is not available, last available: {}",
                        window.first_slot
                    )));
                }
            }
            let replay: Vec<Item> = match first.from_slot {
                Some(from) => window
                    .items
                    .iter()
                    .filter(|i| i.slot >= from)
                    .cloned()
                    .collect(),
                None => Vec::new(),
            };
            (replay, self.feed.live.subscribe())
        };
        let (tx, rx) = mpsc::channel(1024);
        tokio::spawn(async move {
            // Later requests (filter changes, pings) are not applied; keep reading them so
            // the client's stream stays open.
            let reader =
                tokio::spawn(async move { while let Ok(Some(_)) = inbound.message().await {} });
            for item in &replay {
                if let Some(update) = select(&first, item) {
                    if tx.send(Ok(update)).await.is_err() {
                        reader.abort();
                        return;
                    }
                }
            }
            loop {
                tokio::select! {
                    _ = tx.closed() => break,
                    received = live.recv() => match received {
                        Ok(item) => {
                            if let Some(update) = select(&first, &item) {
                                if tx.send(Ok(update)).await.is_err() {
                                    break;
                                }
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            let _ = tx
                                .send(Err(Status::unavailable(format!(
                                    "the subscriber fell {missed} updates behind; resubscribe with from_slot"
                                ))))
                                .await;
                            break;
                        }
                        Err(broadcast::error::RecvError::Closed) => break,
                    },
                }
            }
            reader.abort();
        });
        Ok(Response::new(stream_of(rx)))
    }

    async fn subscribe_deshred(
        &self,
        _request: Request<Streaming<SubscribeDeshredRequest>>,
    ) -> Result<Response<Self::SubscribeDeshredStream>, Status> {
        Err(Status::unimplemented("no deshred stream on the localnet"))
    }

    async fn subscribe_gossip(
        &self,
        _request: Request<SubscribeGossipRequest>,
    ) -> Result<Response<Self::SubscribeGossipStream>, Status> {
        Err(Status::unimplemented("no gossip stream on the localnet"))
    }

    async fn subscribe_replay_info(
        &self,
        _request: Request<SubscribeReplayInfoRequest>,
    ) -> Result<Response<SubscribeReplayInfoResponse>, Status> {
        let first = self.feed.window.lock().map(|w| w.first_slot).unwrap_or(0);
        Ok(Response::new(SubscribeReplayInfoResponse {
            first_available: Some(first),
        }))
    }

    async fn ping(&self, request: Request<PingRequest>) -> Result<Response<PongResponse>, Status> {
        Ok(Response::new(PongResponse {
            count: request.into_inner().count,
        }))
    }

    async fn get_latest_blockhash(
        &self,
        _request: Request<GetLatestBlockhashRequest>,
    ) -> Result<Response<GetLatestBlockhashResponse>, Status> {
        let tip = self.tip();
        Ok(Response::new(GetLatestBlockhashResponse {
            slot: tip.slot,
            blockhash: tip.blockhash,
            last_valid_block_height: tip.height.saturating_add(150),
        }))
    }

    async fn get_block_height(
        &self,
        _request: Request<GetBlockHeightRequest>,
    ) -> Result<Response<GetBlockHeightResponse>, Status> {
        Ok(Response::new(GetBlockHeightResponse {
            block_height: self.tip().height,
        }))
    }

    async fn get_slot(
        &self,
        _request: Request<GetSlotRequest>,
    ) -> Result<Response<GetSlotResponse>, Status> {
        Ok(Response::new(GetSlotResponse {
            slot: self.tip().slot,
        }))
    }

    async fn is_blockhash_valid(
        &self,
        _request: Request<IsBlockhashValidRequest>,
    ) -> Result<Response<IsBlockhashValidResponse>, Status> {
        Err(Status::unimplemented(
            "ask the localnet's JSON-RPC (isBlockhashValid)",
        ))
    }

    async fn get_version(
        &self,
        _request: Request<GetVersionRequest>,
    ) -> Result<Response<GetVersionResponse>, Status> {
        Ok(Response::new(GetVersionResponse {
            version: format!(
                "{{\"server\":\"veil-localnet\",\"version\":\"{}\"}}",
                env!("CARGO_PKG_VERSION")
            ),
        }))
    }
}
