//! The Yellowstone gRPC source against a real gRPC server: a `Geyser` service from
//! `yellowstone-grpc-proto`'s generated server trait, served by tonic on 127.0.0.1, streams
//! `SubscribeUpdate`s built from transactions really executed on the in-process chain, each
//! slot followed by its `BlockMeta` (with the block time) and `SLOT_CONFIRMED`. The indexer
//! connects with `yellowstone-grpc-client` through `GrpcSource` and runs the pipeline into
//! PostgreSQL.

use std::{
    collections::{BTreeMap, VecDeque},
    pin::Pin,
    sync::{Arc, Mutex},
    time::Duration,
};

use anchor_lang::prelude::Pubkey;
use futures::Stream;
use tokio::{net::TcpListener, sync::mpsc, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tonic::{transport::server::TcpIncoming, Request, Response, Status, Streaming};
use veil_harness::Executed;
use veil_indexer::{
    grpc::{GrpcConfig, GrpcError, GrpcSource, GrpcStats, BLOCKS_META_FILTER, TX_FILTER},
    run, Counters, Cursor, PgStore, RunConfig, RunError, TxUpdate,
};
use yellowstone_grpc_proto::prelude::{
    geyser_server::{Geyser, GeyserServer},
    subscribe_update::UpdateOneof,
    CommitmentLevel, CompiledInstruction, GetBlockHeightRequest, GetBlockHeightResponse,
    GetLatestBlockhashRequest, GetLatestBlockhashResponse, GetSlotRequest, GetSlotResponse,
    GetVersionRequest, GetVersionResponse, InnerInstruction, InnerInstructions,
    IsBlockhashValidRequest, IsBlockhashValidResponse, Message, MessageHeader, PingRequest,
    PongResponse, SlotStatus as ProtoSlotStatus, SubscribeDeshredRequest, SubscribeGossipRequest,
    SubscribeReplayInfoRequest, SubscribeReplayInfoResponse, SubscribeRequest, SubscribeUpdate,
    SubscribeUpdateBlockMeta, SubscribeUpdateDeshred, SubscribeUpdateGossip, SubscribeUpdateSlot,
    SubscribeUpdateTransaction, SubscribeUpdateTransactionInfo, Transaction, TransactionStatusMeta,
    UnixTimestamp,
};

use super::support::{
    assert_rows, expected, snapshot, Key, Recorder, Row, BLOCK_TIME_BASE, TXS_PER_SLOT,
};
use crate::relayer::support::TestDb;

const NAME: &str = "grpc";

type UpdateStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// How the server ends connection number k (in order); later connections stream to the end
/// and stay open.
#[derive(Debug, Clone, Copy)]
pub(super) enum Cut {
    /// End the stream cleanly after this many updates.
    End(usize),
    /// Fail the stream with `UNAVAILABLE` after this many updates.
    Fail(usize),
}

/// A Geyser server replaying a recorded chain: every subscribe streams the updates from its
/// `from_slot` (all of them without one), and refuses a `from_slot` below `first_available`
/// the way the Yellowstone plugin does.
struct FakeGeyser {
    updates: Arc<Vec<(u64, SubscribeUpdate)>>,
    first_available: u64,
    cuts: Mutex<VecDeque<Cut>>,
    requests: Arc<Mutex<Vec<SubscribeRequest>>>,
}

fn stream_of<T: Send + 'static>(rx: mpsc::Receiver<Result<T, Status>>) -> UpdateStream<T> {
    Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

#[tonic::async_trait]
impl Geyser for FakeGeyser {
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
        self.requests.lock().unwrap().push(first.clone());
        let (tx, rx) = mpsc::channel(8);
        if let Some(from_slot) = first.from_slot.filter(|s| *s < self.first_available) {
            let message = format!(
                "broadcast from {from_slot} is not available, last available: {}",
                self.first_available
            );
            tx.send(Err(Status::out_of_range(message))).await.unwrap();
            return Ok(Response::new(stream_of(rx)));
        }
        let from = first.from_slot.unwrap_or(0);
        let items: Vec<SubscribeUpdate> = self
            .updates
            .iter()
            .filter(|(slot, _)| *slot >= from)
            .map(|(_, u)| u.clone())
            .collect();
        let cut = self.cuts.lock().unwrap().pop_front();
        tokio::spawn(async move {
            let _inbound = inbound;
            let n = match cut {
                Some(Cut::End(n) | Cut::Fail(n)) => n,
                None => items.len(),
            };
            for item in items.into_iter().take(n) {
                if tx.send(Ok(item)).await.is_err() {
                    return;
                }
            }
            match cut {
                Some(Cut::End(_)) => {}
                Some(Cut::Fail(_)) => {
                    let _ = tx.send(Err(Status::unavailable("server going away"))).await;
                }
                // A live server keeps the stream open until the client leaves.
                None => tx.closed().await,
            }
        });
        Ok(Response::new(stream_of(rx)))
    }

    async fn subscribe_deshred(
        &self,
        _: Request<Streaming<SubscribeDeshredRequest>>,
    ) -> Result<Response<Self::SubscribeDeshredStream>, Status> {
        Err(Status::unimplemented("deshred"))
    }

    async fn subscribe_gossip(
        &self,
        _: Request<SubscribeGossipRequest>,
    ) -> Result<Response<Self::SubscribeGossipStream>, Status> {
        Err(Status::unimplemented("gossip"))
    }

    async fn subscribe_replay_info(
        &self,
        _: Request<SubscribeReplayInfoRequest>,
    ) -> Result<Response<SubscribeReplayInfoResponse>, Status> {
        Ok(Response::new(SubscribeReplayInfoResponse {
            first_available: Some(self.first_available),
        }))
    }

    async fn ping(&self, request: Request<PingRequest>) -> Result<Response<PongResponse>, Status> {
        Ok(Response::new(PongResponse {
            count: request.into_inner().count,
        }))
    }

    async fn get_latest_blockhash(
        &self,
        _: Request<GetLatestBlockhashRequest>,
    ) -> Result<Response<GetLatestBlockhashResponse>, Status> {
        Err(Status::unimplemented("get_latest_blockhash"))
    }

    async fn get_block_height(
        &self,
        _: Request<GetBlockHeightRequest>,
    ) -> Result<Response<GetBlockHeightResponse>, Status> {
        Err(Status::unimplemented("get_block_height"))
    }

    async fn get_slot(
        &self,
        _: Request<GetSlotRequest>,
    ) -> Result<Response<GetSlotResponse>, Status> {
        Err(Status::unimplemented("get_slot"))
    }

    async fn is_blockhash_valid(
        &self,
        _: Request<IsBlockhashValidRequest>,
    ) -> Result<Response<IsBlockhashValidResponse>, Status> {
        Err(Status::unimplemented("is_blockhash_valid"))
    }

    async fn get_version(
        &self,
        _: Request<GetVersionRequest>,
    ) -> Result<Response<GetVersionResponse>, Status> {
        Err(Status::unimplemented("get_version"))
    }
}

/// A running server and what its clients asked for.
pub(super) struct Server {
    endpoint: String,
    requests: Arc<Mutex<Vec<SubscribeRequest>>>,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub(super) async fn start(
        updates: Vec<(u64, SubscribeUpdate)>,
        first_available: u64,
        cuts: &[Cut],
    ) -> Self {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let geyser = FakeGeyser {
            updates: Arc::new(updates),
            first_available,
            cuts: Mutex::new(cuts.iter().copied().collect()),
            requests: requests.clone(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let task = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(GeyserServer::new(geyser))
                .serve_with_incoming(TcpIncoming::from(listener))
                .await
                .expect("geyser server");
        });
        Self {
            endpoint,
            requests,
            task,
        }
    }

    pub(super) fn requests(&self) -> Vec<SubscribeRequest> {
        self.requests.lock().unwrap().clone()
    }

    pub(super) fn config(&self) -> GrpcConfig {
        GrpcConfig {
            backoff_initial: Duration::from_millis(10),
            backoff_max: Duration::from_millis(100),
            channel_capacity: 16,
            ..GrpcConfig::new(self.endpoint.clone())
        }
    }
}

/// `tx` as the Yellowstone plugin sends it: the real signature, the inner instructions with
/// their program and account indexes into the account-key table. The harness keeps the CPIs
/// (program, accounts, data) but not the message, so the table is rebuilt from the keys they
/// reference; its second half is moved to the lookup-table addresses (writable, then
/// read-only) so the source must resolve through them.
pub(super) fn geyser_tx(executed: &Executed, tx: &TxUpdate) -> SubscribeUpdate {
    let mut keys: Vec<Pubkey> = Vec::new();
    let mut index = |key: Pubkey| match keys.iter().position(|k| *k == key) {
        Some(i) => i,
        None => {
            keys.push(key);
            keys.len() - 1
        }
    };
    let mut top = Vec::new();
    let mut inner_instructions = Vec::new();
    for (i, list) in executed.inner.iter().enumerate() {
        let instructions: Vec<InnerInstruction> = list
            .iter()
            .map(|ix| InnerInstruction {
                program_id_index: index(ix.program_id) as u32,
                accounts: ix.accounts.iter().map(|a| index(*a) as u8).collect(),
                data: ix.data.clone(),
                stack_height: Some(u32::from(ix.stack_height)),
            })
            .collect();
        top.push(CompiledInstruction {
            program_id_index: instructions.first().map_or(0, |ix| ix.program_id_index),
            accounts: Vec::new(),
            data: Vec::new(),
        });
        if !instructions.is_empty() {
            inner_instructions.push(InnerInstructions {
                index: i as u32,
                instructions,
            });
        }
    }
    let bytes: Vec<Vec<u8>> = keys.iter().map(|k| k.to_bytes().to_vec()).collect();
    let stat = bytes.len().div_ceil(2);
    let writable = stat + (bytes.len() - stat) / 2;
    let signature = bs58::decode(&executed.signature)
        .into_vec()
        .expect("base58 signature");
    let info = SubscribeUpdateTransactionInfo {
        signature: signature.clone(),
        is_vote: false,
        transaction: Some(Transaction {
            signatures: vec![signature],
            message: Some(Message {
                header: Some(MessageHeader {
                    num_required_signatures: 1,
                    num_readonly_signed_accounts: 0,
                    num_readonly_unsigned_accounts: 0,
                }),
                account_keys: bytes[..stat].to_vec(),
                recent_blockhash: vec![0; 32],
                instructions: top,
                versioned: true,
                ..Default::default()
            }),
        }),
        meta: Some(TransactionStatusMeta {
            inner_instructions,
            loaded_writable_addresses: bytes[stat..writable].to_vec(),
            loaded_readonly_addresses: bytes[writable..].to_vec(),
            ..Default::default()
        }),
        index: u64::from(tx.index_in_slot),
    };
    SubscribeUpdate {
        filters: vec![TX_FILTER.to_owned()],
        update_oneof: Some(UpdateOneof::Transaction(SubscribeUpdateTransaction {
            transaction: Some(info),
            slot: tx.slot,
            bank_id: 0,
        })),
        created_at: None,
    }
}

pub(super) fn slot_update(slot: u64, status: ProtoSlotStatus) -> SubscribeUpdate {
    SubscribeUpdate {
        filters: vec!["slots".to_owned()],
        update_oneof: Some(UpdateOneof::Slot(SubscribeUpdateSlot {
            slot,
            parent: slot.checked_sub(1),
            status: status as i32,
            dead_error: None,
            bank_id: None,
        })),
        created_at: None,
    }
}

/// The block meta of `slot` as the plugin sends it after the slot's transactions: the block
/// time is the one the recorder gives the slot (`BLOCK_TIME_BASE + slot`).
pub(super) fn block_meta(slot: u64, transactions: u64) -> SubscribeUpdate {
    SubscribeUpdate {
        filters: vec![BLOCKS_META_FILTER.to_owned()],
        update_oneof: Some(UpdateOneof::BlockMeta(SubscribeUpdateBlockMeta {
            slot,
            blockhash: bs58::encode([slot as u8; 32]).into_string(),
            rewards: None,
            block_time: Some(UnixTimestamp {
                timestamp: BLOCK_TIME_BASE + slot as i64,
            }),
            block_height: Some(yellowstone_grpc_proto::prelude::BlockHeight {
                block_height: slot - 10,
            }),
            parent_slot: slot - 1,
            parent_blockhash: bs58::encode([slot.wrapping_sub(1) as u8; 32]).into_string(),
            executed_transaction_count: transactions,
            entries_count: 4,
            bank_id: slot,
        })),
        created_at: None,
    }
}

/// A recorded chain: its transactions as the pipeline must see them, and the server's stream
/// (each slot's transactions, then its `BlockMeta` and its `SLOT_CONFIRMED`), tagged with
/// slots.
fn recorded() -> (Vec<TxUpdate>, Vec<(u64, SubscribeUpdate)>) {
    let (txs, stream) = recorded_without_metas();
    let mut with = Vec::new();
    for (slot, update) in stream {
        if matches!(update.update_oneof, Some(UpdateOneof::Slot(_))) {
            let count = txs.iter().filter(|t| t.slot == slot).count() as u64;
            with.push((slot, block_meta(slot, count)));
        }
        with.push((slot, update));
    }
    (txs, with)
}

/// [`recorded`] without block metas.
fn recorded_without_metas() -> (Vec<TxUpdate>, Vec<(u64, SubscribeUpdate)>) {
    let mut rec = Recorder::new();
    rec.registry(10, 4).challenges(2);
    let txs = rec.updates();
    let mut stream = Vec::new();
    for (i, (executed, tx)) in rec.executed.iter().zip(&txs).enumerate() {
        stream.push((tx.slot, geyser_tx(executed, tx)));
        if txs.get(i + 1).is_none_or(|next| next.slot != tx.slot) {
            stream.push((
                tx.slot,
                slot_update(tx.slot, ProtoSlotStatus::SlotConfirmed),
            ));
        }
    }
    (txs, stream)
}

/// Every event row's (slot, block_time), in chain order.
async fn block_times(pool: &sqlx::PgPool) -> Vec<(i64, Option<i64>)> {
    sqlx::query_as("SELECT slot, block_time FROM indexer_events ORDER BY slot, tx_index")
        .fetch_all(pool)
        .await
        .expect("block times")
}

/// The pipeline over a `GrpcSource` in a task of its own.
struct Indexer {
    cancel: CancellationToken,
    task: JoinHandle<(Result<(), RunError>, Arc<GrpcStats>, Counters)>,
}

impl Indexer {
    fn start(store: PgStore, config: GrpcConfig, resume: Option<Cursor>) -> Self {
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        let task = tokio::spawn(async move {
            let mut source = GrpcSource::spawn(config, resume);
            let counters = Counters::default();
            let result = run(&mut source, &store, &counters, &token, RunConfig::default()).await;
            (result, source.stats().clone(), counters)
        });
        Self { cancel, task }
    }

    /// Waits until the committed rows equal `want`, then stops the pipeline.
    async fn stop_when(
        self,
        pool: &sqlx::PgPool,
        want: &BTreeMap<Key, Row>,
    ) -> (Arc<GrpcStats>, Counters) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (_, rows) = snapshot(pool, NAME).await;
            if &rows == want || tokio::time::Instant::now() > deadline || self.task.is_finished() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.cancel.cancel();
        let (result, stats, counters) = self.task.await.expect("pipeline task");
        result.expect("the pipeline runs until cancelled");
        assert_rows(&snapshot(pool, NAME).await.1, want);
        (stats, counters)
    }
}

fn get(counter: &std::sync::atomic::AtomicU64) -> u64 {
    GrpcStats::get(counter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_rows_equal_the_emitted_events() {
    let (txs, stream) = recorded();
    let server = Server::start(stream, 0, &[]).await;
    let db = TestDb::new().await;
    let store = PgStore::new(db.pool.clone(), NAME);

    let indexer = Indexer::start(store, server.config(), None);
    let want = expected(&txs);
    assert!(want.len() > 40, "a real stream: {} events", want.len());
    let (stats, counters) = indexer.stop_when(&db.pool, &want).await;

    assert_eq!(Counters::get(&counters.transactions), txs.len() as u64);
    assert_eq!(Counters::get(&counters.events), want.len() as u64);
    assert_eq!(get(&stats.reconnects), 0);
    assert_eq!(get(&stats.malformed), 0);
    // Every row has its block's time, from the slot's block meta.
    let slots = txs.len().div_ceil(TXS_PER_SLOT) as u64;
    assert_eq!(get(&stats.block_metas), slots);
    assert_eq!(get(&stats.without_block_time), 0);
    assert_eq!(get(&stats.head_slot), txs.last().expect("recorded").slot);
    let times = block_times(&db.pool).await;
    assert_eq!(times.len(), want.len());
    for (slot, time) in &times {
        assert_eq!(*time, Some(BLOCK_TIME_BASE + slot), "slot {slot}");
    }
    let cursor = snapshot(&db.pool, NAME).await.0.expect("cursor");
    let last = txs.last().expect("recorded");
    assert_eq!(
        (
            cursor.slot,
            cursor.index_in_slot,
            cursor.signature.as_deref()
        ),
        (last.slot, last.index_in_slot, Some(last.signature.as_str()))
    );

    // One subscription: confirmed, non-vote transactions of both programs, slot updates,
    // block metas, no replay.
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.commitment, Some(CommitmentLevel::Confirmed as i32));
    assert_eq!(request.from_slot, None);
    let filter = &request.transactions[TX_FILTER];
    assert_eq!(filter.vote, Some(false));
    let mut include = filter.account_include.clone();
    include.sort();
    let mut programs = vec![
        veil_client::registry::PROGRAM_ID.to_string(),
        veil_client::challenge::PROGRAM_ID.to_string(),
    ];
    programs.sort();
    assert_eq!(include, programs);
    assert_eq!(request.slots.len(), 1);
    assert!(request.blocks_meta.contains_key(BLOCKS_META_FILTER));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_without_block_meta_delivers_after_the_wait() {
    // A server that sends no block metas: nothing is stuck; after the wait the transactions
    // go without a block time.
    let (txs, stream) = recorded_without_metas();
    let server = Server::start(stream, 0, &[]).await;
    let db = TestDb::new().await;
    let store = PgStore::new(db.pool.clone(), NAME);
    let config = GrpcConfig {
        block_meta_wait: Duration::from_millis(50),
        ..server.config()
    };

    let indexer = Indexer::start(store, config, None);
    let want = expected(&txs);
    let (stats, counters) = indexer.stop_when(&db.pool, &want).await;
    assert_eq!(Counters::get(&counters.transactions), txs.len() as u64);
    assert_eq!(get(&stats.block_metas), 0);
    assert_eq!(get(&stats.without_block_time), txs.len() as u64);
    assert!(block_times(&db.pool)
        .await
        .iter()
        .all(|(_, time)| time.is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_reconnects_with_from_slot_and_loses_and_duplicates_nothing() {
    let (txs, stream) = recorded();
    // Connection 0 ends cleanly after 8 updates, connection 1 fails after 12; both cut inside
    // a slot whose block meta had not come, so those transactions were held, not delivered,
    // and each replay starts at the last slot delivered, resending it whole.
    let cuts = [Cut::End(8), Cut::Fail(12)];
    let server = Server::start(stream.clone(), 0, &cuts).await;
    let db = TestDb::new().await;
    let store = PgStore::new(db.pool.clone(), NAME);

    let indexer = Indexer::start(store, server.config(), None);
    let want = expected(&txs);
    let (stats, counters) = indexer.stop_when(&db.pool, &want).await;

    // No duplicate reached the pipeline: each transaction was decoded once.
    assert_eq!(Counters::get(&counters.transactions), txs.len() as u64);
    assert_eq!(get(&stats.transactions), txs.len() as u64);
    assert_eq!(get(&stats.reconnects), 2);
    assert!(
        get(&stats.replay_skipped) >= 2,
        "the replays resent delivered transactions"
    );

    // Each reconnect resumed from the slot of the last transaction delivered before the cut:
    // the last slot whose block meta had come.
    let last_tx_slot = |updates: &[(u64, SubscribeUpdate)]| {
        updates
            .iter()
            .rev()
            .find(|(_, u)| matches!(u.update_oneof, Some(UpdateOneof::BlockMeta(_))))
            .map(|(slot, _)| *slot)
    };
    let first_cut = last_tx_slot(&stream[..8]).expect("a delivered slot before the first cut");
    let replay: Vec<_> = stream
        .iter()
        .filter(|(s, _)| *s >= first_cut)
        .cloned()
        .collect();
    let second_cut = last_tx_slot(&replay[..12]).expect("a delivered slot before the second cut");
    let from: Vec<_> = server.requests().iter().map(|r| r.from_slot).collect();
    assert_eq!(from, [None, Some(first_cut), Some(second_cut)]);
    assert!(second_cut > first_cut);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_dead_slot_removes_its_rows() {
    let (txs, mut stream) = recorded();
    let dead = txs[7].slot;
    // The slot dies after later slots were delivered.
    stream.push((dead, slot_update(dead, ProtoSlotStatus::SlotDead)));
    let server = Server::start(stream, 0, &[]).await;
    let db = TestDb::new().await;
    let store = PgStore::new(db.pool.clone(), NAME);

    let indexer = Indexer::start(store, server.config(), None);
    let alive: Vec<TxUpdate> = txs.iter().filter(|t| t.slot != dead).cloned().collect();
    let want = expected(&alive);
    assert!(
        want.len() < expected(&txs).len(),
        "the dead slot had events"
    );
    let (stats, counters) = indexer.stop_when(&db.pool, &want).await;
    assert_eq!(get(&stats.dead_slots), 1);
    assert_eq!(Counters::get(&counters.dead_slots), 1);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM indexer_events WHERE slot = $1")
        .bind(dead as i64)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_old_from_slot_yields_replay_unavailable() {
    let (txs, stream) = recorded();
    let first_available = txs[12].slot;
    let server = Server::start(stream, first_available, &[]).await;
    let db = TestDb::new().await;

    // A persisted cursor older than the server's replay window: a typed refusal, no retries.
    let old = Cursor {
        slot: txs[0].slot,
        index_in_slot: txs[0].index_in_slot,
        signature: Some(txs[0].signature.clone()),
    };
    let mut source = GrpcSource::spawn(server.config(), Some(old.clone()));
    let counters = Counters::default();
    let store = PgStore::new(db.pool.clone(), NAME);
    let result = tokio::time::timeout(
        Duration::from_secs(30),
        run(
            &mut source,
            &store,
            &counters,
            &CancellationToken::new(),
            RunConfig::default(),
        ),
    )
    .await
    .expect("the refusal ends the run");
    let Err(RunError::Source(error)) = result else {
        panic!("expected a source error, got {result:?}");
    };
    match GrpcError::of(&error) {
        Some(GrpcError::ReplayUnavailable {
            from_slot,
            first_available: first,
        }) => assert_eq!((*from_slot, *first), (old.slot, first_available)),
        other => panic!("expected ReplayUnavailable, got {other:?}"),
    }
    assert_eq!(get(&source.stats().reconnects), 0);
    assert_eq!(server.requests()[0].from_slot, Some(old.slot));

    // A cursor inside the window resumes there: only what follows it is delivered.
    let resume = &txs[20];
    let cursor = Cursor {
        slot: resume.slot,
        index_in_slot: resume.index_in_slot,
        signature: Some(resume.signature.clone()),
    };
    let store = PgStore::new(db.pool.clone(), NAME);
    let indexer = Indexer::start(store, server.config(), Some(cursor));
    let want = expected(&txs[21..]);
    let (stats, _) = indexer.stop_when(&db.pool, &want).await;
    assert_eq!(get(&stats.transactions), (txs.len() - 21) as u64);
    assert_eq!(server.requests()[1].from_slot, Some(resume.slot));
}
