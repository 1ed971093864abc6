//! `ingest-bench`: decoded events persisted per second, end to end, and the lag from the
//! Geyser server sending a transaction to the commit of the batch that holds it.
//!
//! A tonic `Geyser` server in this binary streams synthetic but valid transaction updates
//! over loopback gRPC: two top-level instructions each, whose inner instructions are the
//! event CPIs `emit_cpi!` makes (`EVENT_IX_TAG_LE ‖ discriminator ‖ borsh(event)`) of a real
//! registry `OwnershipVerified` and a real challenge `VerificationAttested`, followed after
//! each slot by its `BlockMeta` (with a block time) and `SLOT_CONFIRMED`. The indexer reads
//! them through the real [`GrpcSource`], decodes them and writes them with the real
//! [`PgStore`] into a freshly created database, once per batch size. The server stamps each
//! transaction's send time in a table keyed by signature; the store records the lag of every
//! transaction of a batch after its commit.
//!
//! ```sh
//! cargo run --profile perf -p veil-indexer --features dev-keys --bin ingest-bench -- --txs 100000 --batch-sizes 256,1024,4096
//! ```

use std::{
    collections::HashMap,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use anchor_lang::{event::EVENT_IX_TAG_LE, prelude::Pubkey, Event};
use challenge::{events::VerificationAttested, state::Party};
use clap::Parser;
use futures::Stream;
use registry::events::OwnershipVerified;
use sqlx::{postgres::PgPoolOptions, Connection, Executor, PgConnection};
use tokio::{net::TcpListener, sync::mpsc};
use tokio_util::sync::CancellationToken;
use tonic::{transport::server::TcpIncoming, Request, Response, Status, Streaming};
use veil_indexer::{
    grpc::{GrpcConfig, GrpcSource, GrpcStats, BLOCKS_META_FILTER, SLOT_FILTER, TX_FILTER},
    run, Batch, Counters, Cursor, Persist, PersistError, PgStore, RunConfig,
};
use yellowstone_grpc_proto::prelude::{
    geyser_server::{Geyser, GeyserServer},
    subscribe_update::UpdateOneof,
    CompiledInstruction, GetBlockHeightRequest, GetBlockHeightResponse, GetLatestBlockhashRequest,
    GetLatestBlockhashResponse, GetSlotRequest, GetSlotResponse, GetVersionRequest,
    GetVersionResponse, InnerInstruction, InnerInstructions, IsBlockhashValidRequest,
    IsBlockhashValidResponse, Message, MessageHeader, PingRequest, PongResponse, SlotStatus,
    SubscribeDeshredRequest, SubscribeGossipRequest, SubscribeReplayInfoRequest,
    SubscribeReplayInfoResponse, SubscribeRequest, SubscribeUpdate, SubscribeUpdateBlockMeta,
    SubscribeUpdateDeshred, SubscribeUpdateGossip, SubscribeUpdateSlot, SubscribeUpdateTransaction,
    SubscribeUpdateTransactionInfo, Transaction, TransactionStatusMeta, UnixTimestamp,
};

#[derive(Debug, Parser)]
#[command(about = "Indexer ingest: events/s and commit lag over a local Geyser gRPC stream")]
struct Args {
    /// Transactions streamed per run (two events each).
    #[arg(long, default_value_t = 100_000)]
    txs: usize,
    /// Transactions per slot.
    #[arg(long, default_value_t = 64)]
    txs_per_slot: usize,
    /// Batch sizes to try (transactions per database transaction), one run each.
    #[arg(long, value_delimiter = ',', default_value = "256,1024,4096")]
    batch_sizes: Vec<usize>,
    /// Writer counts to try (batches written at once), one run each with every batch size.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    writers: Vec<usize>,
    /// PostgreSQL server; a database `veil_ingest_bench` is recreated on it for every run.
    #[arg(
        long,
        env = "VEIL_TEST_PG",
        default_value = "postgres://postgres@127.0.0.1:5432"
    )]
    pg: String,
    /// Tokio worker threads (server and indexer share them).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Transactions per second the server paces its stream at; 0 sends as fast as the
    /// indexer takes them (throughput, with the lag of full buffers).
    #[arg(long, default_value_t = 0)]
    rate: u64,
}

const DATABASE: &str = "veil_ingest_bench";
const FIRST_SLOT: u64 = 300_000_000;
const BLOCK_TIME_BASE: i64 = 1_800_000_000;

/// Send times, in nanoseconds since `epoch`, of the transactions, found by signature.
struct Stamps {
    epoch: Instant,
    by_signature: HashMap<String, usize>,
    sent_ns: Vec<AtomicU64>,
}

impl Stamps {
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }
}

/// The stream, built before the clock starts: (transaction number or none, update).
struct Recorded {
    updates: Vec<(Option<usize>, SubscribeUpdate)>,
    stamps: Arc<Stamps>,
}

fn signature_of(i: usize) -> [u8; 64] {
    let mut sig = [0x5au8; 64];
    sig[..8].copy_from_slice(&(i as u64).to_le_bytes());
    sig[56..].copy_from_slice(&(!(i as u64)).to_le_bytes());
    sig
}

fn event_cpi(event: &impl Event) -> Vec<u8> {
    // What `emit_cpi!` puts in its self-CPI: the tag, then `Event::data` (discriminator ‖ borsh).
    EVENT_IX_TAG_LE
        .iter()
        .copied()
        .chain(event.data())
        .collect()
}

fn bytes32(i: usize, salt: u8) -> [u8; 32] {
    let mut out = [salt; 32];
    out[..8].copy_from_slice(&(i as u64).to_le_bytes());
    out
}

fn transaction(i: usize, slot: u64, index: u64) -> SubscribeUpdate {
    let payer = Pubkey::new_from_array(bytes32(i % 1024, 0xa1));
    let registry_authority = Pubkey::find_program_address(&[b"__event_authority"], &registry::ID).0;
    let challenge_authority =
        Pubkey::find_program_address(&[b"__event_authority"], &challenge::ID).0;
    let keys = [
        payer,
        registry::ID,
        challenge::ID,
        registry_authority,
        challenge_authority,
    ];
    let verified = OwnershipVerified {
        track_id: bytes32(i % 8, 0x01),
        nullifier: bytes32(i, 0x02),
        root: bytes32(i / 1000, 0x03),
        scope: [0; 32],
        signal_hash: bytes32(i, 0x04),
        slot,
    };
    let attested = VerificationAttested {
        challenge: Pubkey::new_from_array(bytes32(i / 2, 0x05)),
        party: if i.is_multiple_of(2) {
            Party::Creator
        } else {
            Party::Counterparty
        },
        passed: true,
        attestation_hash: bytes32(i, 0x06),
    };
    let signature = signature_of(i).to_vec();
    let info = SubscribeUpdateTransactionInfo {
        signature: signature.clone(),
        is_vote: false,
        transaction: Some(Transaction {
            signatures: vec![signature],
            message: Some(Message {
                header: Some(MessageHeader {
                    num_required_signatures: 1,
                    num_readonly_signed_accounts: 0,
                    num_readonly_unsigned_accounts: 4,
                }),
                account_keys: keys.iter().map(|k| k.to_bytes().to_vec()).collect(),
                recent_blockhash: vec![7; 32],
                instructions: vec![
                    CompiledInstruction {
                        program_id_index: 1,
                        accounts: vec![0, 3],
                        data: vec![0; 8],
                    },
                    CompiledInstruction {
                        program_id_index: 2,
                        accounts: vec![0, 4],
                        data: vec![1; 8],
                    },
                ],
                versioned: false,
                ..Default::default()
            }),
        }),
        meta: Some(TransactionStatusMeta {
            fee: 5_000,
            inner_instructions: vec![
                InnerInstructions {
                    index: 0,
                    instructions: vec![InnerInstruction {
                        program_id_index: 1,
                        accounts: vec![3],
                        data: event_cpi(&verified),
                        stack_height: Some(2),
                    }],
                },
                InnerInstructions {
                    index: 1,
                    instructions: vec![InnerInstruction {
                        program_id_index: 2,
                        accounts: vec![4],
                        data: event_cpi(&attested),
                        stack_height: Some(2),
                    }],
                },
            ],
            inner_instructions_none: false,
            ..Default::default()
        }),
        index,
    };
    SubscribeUpdate {
        filters: vec![TX_FILTER.to_owned()],
        update_oneof: Some(UpdateOneof::Transaction(SubscribeUpdateTransaction {
            transaction: Some(info),
            slot,
            bank_id: 0,
        })),
        created_at: None,
    }
}

fn block_meta(slot: u64, transactions: u64) -> SubscribeUpdate {
    SubscribeUpdate {
        filters: vec![BLOCKS_META_FILTER.to_owned()],
        update_oneof: Some(UpdateOneof::BlockMeta(SubscribeUpdateBlockMeta {
            slot,
            blockhash: bs58::encode(bytes32(slot as usize, 0x07)).into_string(),
            rewards: None,
            block_time: Some(UnixTimestamp {
                timestamp: block_time(slot),
            }),
            block_height: None,
            parent_slot: slot - 1,
            parent_blockhash: bs58::encode(bytes32(slot as usize - 1, 0x07)).into_string(),
            executed_transaction_count: transactions,
            entries_count: 0,
            bank_id: 0,
        })),
        created_at: None,
    }
}

fn block_time(slot: u64) -> i64 {
    BLOCK_TIME_BASE + (slot - FIRST_SLOT) as i64 * 2 / 5
}

fn slot_confirmed(slot: u64) -> SubscribeUpdate {
    SubscribeUpdate {
        filters: vec![SLOT_FILTER.to_owned()],
        update_oneof: Some(UpdateOneof::Slot(SubscribeUpdateSlot {
            slot,
            parent: Some(slot - 1),
            status: SlotStatus::SlotConfirmed as i32,
            dead_error: None,
            bank_id: None,
        })),
        created_at: None,
    }
}

fn record(txs: usize, per_slot: usize) -> Recorded {
    let mut updates = Vec::with_capacity(txs + 2 * txs / per_slot + 2);
    let mut by_signature = HashMap::with_capacity(txs);
    for i in 0..txs {
        let slot = FIRST_SLOT + (i / per_slot) as u64;
        let index = (i % per_slot) as u64;
        updates.push((Some(i), transaction(i, slot, index)));
        by_signature.insert(bs58::encode(signature_of(i)).into_string(), i);
        if i + 1 == txs || (i + 1).is_multiple_of(per_slot) {
            updates.push((None, block_meta(slot, index + 1)));
            updates.push((None, slot_confirmed(slot)));
        }
    }
    let stamps = Stamps {
        epoch: Instant::now(),
        by_signature,
        sent_ns: (0..txs).map(|_| AtomicU64::new(0)).collect(),
    };
    Recorded {
        updates,
        stamps: Arc::new(stamps),
    }
}

type UpdateStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

fn stream_of<T: Send + 'static>(rx: mpsc::Receiver<Result<T, Status>>) -> UpdateStream<T> {
    Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

/// Streams the recorded updates once to each subscriber, stamping each transaction as it
/// goes out, then keeps the stream open like a live server.
struct BenchGeyser {
    recorded: Arc<Recorded>,
    rate: u64,
}

#[tonic::async_trait]
impl Geyser for BenchGeyser {
    type SubscribeStream = UpdateStream<SubscribeUpdate>;
    type SubscribeDeshredStream = UpdateStream<SubscribeUpdateDeshred>;
    type SubscribeGossipStream = UpdateStream<SubscribeUpdateGossip>;

    async fn subscribe(
        &self,
        request: Request<Streaming<SubscribeRequest>>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let mut inbound = request.into_inner();
        inbound
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("no subscribe request"))?;
        let (tx, rx) = mpsc::channel(256);
        let recorded = self.recorded.clone();
        let rate = self.rate;
        tokio::spawn(async move {
            let _inbound = inbound;
            let stamps = &recorded.stamps;
            let start = tokio::time::Instant::now();
            for (i, update) in &recorded.updates {
                if let Some(i) = i {
                    // Paced: transaction i leaves no earlier than i / rate after the start.
                    if rate > 0 && i.is_multiple_of(16) {
                        let due = Duration::from_nanos((*i as u64) * 1_000_000_000 / rate);
                        tokio::time::sleep_until(start + due).await;
                    }
                    stamps.sent_ns[*i].store(stamps.now_ns(), Ordering::Relaxed);
                }
                if tx.send(Ok(update.clone())).await.is_err() {
                    return;
                }
            }
            tx.closed().await;
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
            first_available: Some(FIRST_SLOT),
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

/// [`PgStore`] that, after each commit, records the lag of every transaction of the batch and
/// stops the run once all of them are in.
struct Timed {
    inner: PgStore,
    stamps: Arc<Stamps>,
    lags_ns: Mutex<Vec<u64>>,
    last_commit_ns: AtomicU64,
    writing_ns: AtomicU64,
    batches: AtomicU64,
    want: usize,
    done: CancellationToken,
}

impl Persist for Timed {
    async fn write_after(
        &self,
        batch: &Batch,
        after: Option<&Cursor>,
    ) -> Result<bool, PersistError> {
        let began = self.stamps.now_ns();
        let covered = self.inner.write_after(batch, after).await?;
        let now = self.stamps.now_ns();
        self.writing_ns.fetch_add(now - began, Ordering::Relaxed);
        self.last_commit_ns.store(now, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        let mut lags = self.lags_ns.lock().unwrap_or_else(|e| e.into_inner());
        let mut last: Option<&str> = None;
        for event in &batch.events {
            if last == Some(event.signature.as_str()) {
                continue;
            }
            last = Some(event.signature.as_str());
            if let Some(&i) = self.stamps.by_signature.get(&event.signature) {
                let sent = self.stamps.sent_ns[i].load(Ordering::Relaxed);
                lags.push(now.saturating_sub(sent));
            }
        }
        if lags.len() >= self.want {
            self.done.cancel();
        }
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

/// One run's figures.
struct Figures {
    batch: usize,
    writers: usize,
    events: u64,
    rows_with_time: i64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    batches: u64,
    writing: f64,
    without_block_time: u64,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1e6
}

async fn fresh_database(pg: &str) -> sqlx::PgPool {
    let mut admin = PgConnection::connect(&format!("{pg}/postgres"))
        .await
        .expect("PostgreSQL");
    admin
        .execute(format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)").as_str())
        .await
        .expect("drop");
    admin
        .execute(format!("CREATE DATABASE {DATABASE}").as_str())
        .await
        .expect("create");
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect(&format!("{pg}/{DATABASE}"))
        .await
        .expect("bench database");
    veil_indexer::MIGRATOR.run(&pool).await.expect("migrations");
    pool
}

async fn run_once(args: &Args, batch: usize, writers: usize) -> Figures {
    let pool = fresh_database(&args.pg).await;
    let rate = args.rate;
    // Built before the clock starts: the stream and the signature table.
    let recorded = Arc::new(record(args.txs, args.txs_per_slot));
    let stamps = recorded.stamps.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let server = tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(GeyserServer::new(BenchGeyser { recorded, rate }))
            .serve_with_incoming(TcpIncoming::from(listener))
            .await
            .expect("geyser server");
    });

    let done = CancellationToken::new();
    let store = Timed {
        inner: PgStore::new(pool.clone(), "ingest-bench"),
        stamps: stamps.clone(),
        lags_ns: Mutex::new(Vec::with_capacity(args.txs)),
        last_commit_ns: AtomicU64::new(0),
        writing_ns: AtomicU64::new(0),
        batches: AtomicU64::new(0),
        want: args.txs,
        done: done.clone(),
    };
    let config = GrpcConfig::new(endpoint);
    let counters = Counters::default();
    let start_ns = stamps.now_ns();
    let mut source = GrpcSource::spawn(config, None);
    let ran = tokio::time::timeout(
        Duration::from_secs(600),
        run(
            &mut source,
            &store,
            &counters,
            &done,
            RunConfig {
                max_batch_txs: batch,
                writers,
            },
        ),
    )
    .await;
    ran.expect("the run finishes").expect("the pipeline runs");
    let without_block_time = GrpcStats::get(&source.stats().without_block_time);
    drop(source);
    server.abort();

    let first_sent = stamps
        .sent_ns
        .iter()
        .map(|s| s.load(Ordering::Relaxed))
        .min()
        .unwrap_or(start_ns);
    let seconds =
        (store.last_commit_ns.load(Ordering::Relaxed) - first_sent.max(start_ns)) as f64 / 1e9;
    let mut lags = store.lags_ns.into_inner().unwrap_or_default();
    lags.sort_unstable();
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM indexer_events")
        .fetch_one(&pool)
        .await
        .expect("count");
    let rows_with_time: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM indexer_verifications WHERE block_time IS NOT NULL",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(
        events as u64,
        Counters::get(&counters.events),
        "every decoded event is a row"
    );
    assert_eq!(events as usize, 2 * args.txs, "two events per transaction");
    pool.close().await;
    Figures {
        batch,
        writers,
        events: events as u64,
        rows_with_time,
        seconds,
        p50_ms: percentile(&lags, 0.50),
        p99_ms: percentile(&lags, 0.99),
        max_ms: percentile(&lags, 1.0),
        batches: store.batches.load(Ordering::Relaxed),
        writing: store.writing_ns.load(Ordering::Relaxed) as f64 / 1e9 / seconds,
        without_block_time,
    }
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "ingest-bench: {} transactions x 2 events, {} per slot, {} worker threads, rate {}",
        args.txs,
        args.txs_per_slot,
        args.threads,
        match args.rate {
            0 => "unpaced".to_owned(),
            r => format!("{r} tx/s"),
        }
    );
    println!(
        "| writers | batch (txs) | events | seconds | events/s | lag p50 ms | lag p99 ms | lag max ms | \
         commits | time in commits | rows with block_time | without block meta |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &writers in &args.writers {
        for &batch in &args.batch_sizes {
            let f = runtime.block_on(run_once(&args, batch, writers));
            print_row(&f);
        }
    }
}

fn print_row(f: &Figures) {
    {
        println!(
            "| {} | {} | {} | {:.2} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {:.0}% | {} | {} |",
            f.writers,
            f.batch,
            f.events,
            f.seconds,
            f.events as f64 / f.seconds,
            f.p50_ms,
            f.p99_ms,
            f.max_ms,
            f.batches,
            f.writing * 100.0,
            f.rows_with_time,
            f.without_block_time,
        );
    }
}
