//! The RPC backfill and the gap path against real servers: a local axum server speaking
//! Solana JSON-RPC 2.0 (`getSignaturesForAddress`, `getTransaction`, in the response shapes
//! of Solana's docs) over transactions really executed on the in-process chain, and the Geyser
//! gRPC server of `grpc.rs`, whose replay window starts after the indexed cursor.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        atomic::{AtomicU32, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use anchor_lang::prelude::Pubkey;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response as HttpResponse},
    routing::post,
    Json, Router,
};
use serde_json::{json, Value};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use veil_harness::Executed;
use veil_indexer::{
    gaps::{run_live, GapReport, LiveConfig},
    grpc::GrpcStats,
    rpc::{RpcBackfill, RpcConfig, RpcError, RpcStats, SlotRange},
    run, Counters, PgStore, RunConfig, Source, SourceError, TxUpdate, Update,
};
use yellowstone_grpc_proto::prelude::SlotStatus;

use super::{
    grpc::{block_meta, geyser_tx, slot_update, Server},
    support::{all, assert_rows, expected, run_to_end, snapshot, table_counts, Key, Recorder, Row},
};
use crate::relayer::support::TestDb;

const NAME: &str = "rpc";

/// The signature of a failed transaction the server lists (and never has to serve).
fn failed_signature() -> String {
    bs58::encode([7u8; 64]).into_string()
}

/// A recorded chain: its transactions as a live source delivers them, and what landed.
fn recorded() -> (Vec<TxUpdate>, Vec<Executed>) {
    let mut rec = Recorder::new();
    rec.registry(10, 4).challenges(2);
    (rec.updates(), rec.executed)
}

/// The account-key table of `executed`, rebuilt from the keys its CPIs reference (the harness
/// does not keep the message), and its top-level and inner instructions as key indexes.
struct Compiled {
    keys: Vec<Pubkey>,
    top: Vec<u32>,
    inner: Vec<(u32, Vec<CompiledIx>)>,
}

/// An inner instruction as key indexes: (program, accounts, data, stack height).
type CompiledIx = (u32, Vec<u32>, Vec<u8>, u32);

fn compile(executed: &Executed, extra: Option<Pubkey>) -> Compiled {
    let mut keys: Vec<Pubkey> = Vec::new();
    let mut index = |key: Pubkey| match keys.iter().position(|k| *k == key) {
        Some(i) => i as u32,
        None => {
            keys.push(key);
            keys.len() as u32 - 1
        }
    };
    let mut top = Vec::new();
    let mut inner = Vec::new();
    for (i, list) in executed.inner.iter().enumerate() {
        let ixs: Vec<_> = list
            .iter()
            .map(|ix| {
                (
                    index(ix.program_id),
                    ix.accounts.iter().map(|a| index(*a)).collect(),
                    ix.data.clone(),
                    u32::from(ix.stack_height),
                )
            })
            .collect();
        top.push(ixs.first().map_or(0, |ix| ix.0));
        if !ixs.is_empty() {
            inner.push((i as u32, ixs));
        }
    }
    if let Some(extra) = extra {
        index(extra);
    }
    Compiled { keys, top, inner }
}

/// Splits a key table as a v0 message does: static keys, then the loaded writable and
/// read-only addresses (the second half of the table, so resolution must go through them).
fn split(keys: &[Pubkey]) -> (usize, usize) {
    let stat = keys.len().div_ceil(2);
    (stat, stat + (keys.len() - stat) / 2)
}

/// `tx` as `getTransaction` answers it with `encoding: "json"`.
fn rpc_tx(executed: &Executed, tx: &TxUpdate, extra: Option<Pubkey>) -> Value {
    let c = compile(executed, extra);
    let b58: Vec<String> = c.keys.iter().map(Pubkey::to_string).collect();
    let (stat, writable) = split(&c.keys);
    let inner: Vec<Value> = c
        .inner
        .iter()
        .map(|(index, ixs)| {
            let instructions: Vec<Value> = ixs
                .iter()
                .map(|(program, accounts, data, height)| {
                    json!({
                        "programIdIndex": program,
                        "accounts": accounts,
                        "data": bs58::encode(data).into_string(),
                        "stackHeight": height,
                    })
                })
                .collect();
            json!({"index": index, "instructions": instructions})
        })
        .collect();
    let top: Vec<Value> = c
        .top
        .iter()
        .map(|p| json!({"programIdIndex": p, "accounts": [], "data": "", "stackHeight": null}))
        .collect();
    json!({
        "slot": tx.slot,
        "blockTime": tx.block_time,
        "version": 0,
        "meta": {
            "err": null,
            "status": {"Ok": null},
            "fee": 5000,
            "preBalances": [],
            "postBalances": [],
            "innerInstructions": inner,
            "logMessages": executed.logs,
            "preTokenBalances": [],
            "postTokenBalances": [],
            "rewards": [],
            "loadedAddresses": {"writable": &b58[stat..writable], "readonly": &b58[writable..]},
            "computeUnitsConsumed": 0,
        },
        "transaction": {
            "signatures": [tx.signature],
            "message": {
                "header": {
                    "numRequiredSignatures": 1,
                    "numReadonlySignedAccounts": 0,
                    "numReadonlyUnsignedAccounts": 0,
                },
                "accountKeys": &b58[..stat],
                "recentBlockhash": "11111111111111111111111111111111",
                "instructions": top,
                "addressTableLookups": [],
            },
        },
    })
}

/// One listed signature: (slot, index in slot, signature, failed).
type Listed = (u64, u32, String, bool);

/// What the JSON-RPC server knows and what it was asked.
struct RpcChain {
    /// Per program (base58), its signatures newest first.
    listings: HashMap<String, Vec<Listed>>,
    /// `getTransaction` results by signature.
    txs: HashMap<String, Value>,
    /// Block times by slot.
    times: HashMap<u64, Option<i64>>,
    /// Each block's signatures in block order: the listed ones at their index in the slot,
    /// vote transactions in every other position.
    blocks: HashMap<u64, Vec<String>>,
    /// Answer this many requests with HTTP 429 before serving.
    throttle: AtomicU32,
    /// Every served call: (method, params).
    calls: Mutex<Vec<(String, Value)>>,
}

impl RpcChain {
    /// The chain of `txs`: every fourth transaction also mentions the other program, so both
    /// listings return it; a failed transaction is listed in the slot of `txs[failed_after]`.
    fn new(txs: &[TxUpdate], executed: &[Executed], failed_after: usize) -> Self {
        let registry = veil_client::registry::PROGRAM_ID;
        let challenge = veil_client::challenge::PROGRAM_ID;
        let mut listings: HashMap<String, Vec<Listed>> = HashMap::new();
        let mut by_sig = HashMap::new();
        let mut times = HashMap::new();
        for (i, (tx, e)) in txs.iter().zip(executed).enumerate() {
            let mentioned = |p: &Pubkey| {
                e.inner
                    .iter()
                    .flatten()
                    .any(|ix| ix.program_id == *p || ix.accounts.contains(p))
            };
            let mut programs: Vec<Pubkey> = [registry, challenge]
                .into_iter()
                .filter(|p| mentioned(p))
                .collect();
            let extra = (i % 4 == 0 && programs.len() == 1).then(|| {
                let other = if programs[0] == registry {
                    challenge
                } else {
                    registry
                };
                programs.push(other);
                other
            });
            for p in &programs {
                listings.entry(p.to_string()).or_default().push((
                    tx.slot,
                    tx.index_in_slot,
                    tx.signature.clone(),
                    false,
                ));
            }
            by_sig.insert(tx.signature.clone(), rpc_tx(e, tx, extra));
            times.insert(tx.slot, tx.block_time);
        }
        let f = &txs[failed_after];
        listings.entry(registry.to_string()).or_default().push((
            f.slot,
            f.index_in_slot + 100,
            failed_signature(),
            true,
        ));
        for list in listings.values_mut() {
            list.sort_by_key(|l| std::cmp::Reverse((l.0, l.1)));
        }
        let mut blocks: HashMap<u64, Vec<String>> = HashMap::new();
        for (slot, index, signature, _) in listings.values().flatten() {
            let block = blocks.entry(*slot).or_default();
            let at = *index as usize;
            while block.len() <= at {
                block.push(bs58::encode([block.len() as u8 + 1; 64]).into_string());
            }
            block[at] = signature.clone();
        }
        Self {
            listings,
            txs: by_sig,
            times,
            blocks,
            throttle: AtomicU32::new(0),
            calls: Mutex::new(Vec::new()),
        }
    }

    fn calls(&self, method: &str) -> Vec<Value> {
        let calls = self.calls.lock().unwrap();
        calls
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, p)| p.clone())
            .collect()
    }

    fn signatures(&self, params: &Value) -> Value {
        let empty = Vec::new();
        let list = params[0]
            .as_str()
            .and_then(|a| self.listings.get(a))
            .unwrap_or(&empty);
        let options = &params[1];
        let limit = options["limit"].as_u64().unwrap_or(1000) as usize;
        let start = match options["before"].as_str() {
            Some(before) => match list.iter().position(|l| l.2 == before) {
                Some(i) => i + 1,
                None => list.len(),
            },
            None => 0,
        };
        let until = options["until"].as_str();
        let page: Vec<Value> = list[start..]
            .iter()
            .take_while(|l| Some(l.2.as_str()) != until)
            .take(limit)
            .map(|(slot, _, signature, failed)| {
                json!({
                    "signature": signature,
                    "slot": slot,
                    "err": if *failed { json!({"InstructionError": [0, {"Custom": 6000}]}) } else { Value::Null },
                    "memo": null,
                    "blockTime": self.times.get(slot).copied().flatten(),
                    "confirmationStatus": "confirmed",
                })
            })
            .collect();
        Value::Array(page)
    }
}

async fn json_rpc(State(chain): State<Arc<RpcChain>>, Json(body): Json<Value>) -> HttpResponse {
    let throttled = chain
        .throttle
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if throttled {
        return (StatusCode::TOO_MANY_REQUESTS, "rate limited").into_response();
    }
    let method = body["method"].as_str().unwrap_or_default().to_owned();
    let params = body["params"].clone();
    chain
        .calls
        .lock()
        .unwrap()
        .push((method.clone(), params.clone()));
    let id = body["id"].clone();
    let answer = match method.as_str() {
        "getSignaturesForAddress" => {
            json!({"jsonrpc": "2.0", "result": chain.signatures(&params), "id": id})
        }
        "getBlock" => {
            let block = params[0].as_u64().and_then(|slot| {
                let signatures = chain.blocks.get(&slot)?;
                Some(json!({
                    "blockhash": bs58::encode([slot as u8; 32]).into_string(),
                    "previousBlockhash": bs58::encode([slot.wrapping_sub(1) as u8; 32]).into_string(),
                    "parentSlot": slot - 1,
                    "blockHeight": slot - 10,
                    "blockTime": chain.times.get(&slot).copied().flatten(),
                    "signatures": signatures,
                }))
            });
            json!({"jsonrpc": "2.0", "result": block, "id": id})
        }
        "getTransaction" => {
            let tx = params[0]
                .as_str()
                .and_then(|s| chain.txs.get(s))
                .cloned()
                .unwrap_or(Value::Null);
            json!({"jsonrpc": "2.0", "result": tx, "id": id})
        }
        _ => {
            json!({"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": id})
        }
    };
    Json(answer).into_response()
}

/// The JSON-RPC server on 127.0.0.1.
struct RpcServer {
    url: String,
    chain: Arc<RpcChain>,
    task: JoinHandle<()>,
}

impl Drop for RpcServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RpcServer {
    async fn start(chain: RpcChain) -> Self {
        let chain = Arc::new(chain);
        let app = Router::new()
            .route("/", post(json_rpc))
            .with_state(chain.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("JSON-RPC server");
        });
        Self { url, chain, task }
    }

    fn config(&self, page_limit: usize) -> RpcConfig {
        RpcConfig {
            page_limit,
            backoff_initial: Duration::from_millis(10),
            backoff_max: Duration::from_millis(50),
            max_requests_per_second: None,
            ..RpcConfig::new(self.url.clone())
        }
    }
}

/// Everything a backfill source yields, or its error.
async fn drain(mut source: RpcBackfill) -> Result<Vec<TxUpdate>, RpcError> {
    let mut out = Vec::new();
    loop {
        match source.next().await {
            Ok(Some(Update::Tx(tx))) => out.push(tx),
            Ok(Some(Update::Slot(_))) => panic!("a backfill yields no slot updates"),
            Ok(None) => return Ok(out),
            Err(error) => {
                assert!(RpcError::of(&error).is_some(), "not an RPC error: {error}");
                let SourceError::Transport(inner) = error;
                return Err(*inner.downcast::<RpcError>().expect("an RPC error"));
            }
        }
    }
}

/// Runs a backfill of `range` into `store` to its end.
async fn backfill_into(store: &PgStore, config: RpcConfig, range: SlotRange) -> Counters {
    let mut source = RpcBackfill::spawn(config, range).expect("backfill starts");
    let counters = Counters::default();
    run(
        &mut source,
        store,
        &counters,
        &CancellationToken::new(),
        RunConfig::default(),
    )
    .await
    .expect("backfill runs");
    counters
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_backfill_rows_equal_the_emitted_events_in_range() {
    let (txs, executed) = recorded();
    let server = RpcServer::start(RpcChain::new(&txs, &executed, 10)).await;
    let (from, to) = (txs[9].slot, txs[25].slot);
    assert!(txs[0].slot < from);
    let in_range: Vec<TxUpdate> = txs
        .iter()
        .filter(|t| (from..=to).contains(&t.slot))
        .cloned()
        .collect();

    // What the source yields: each transaction of the range once (both listings merged), in
    // ascending (slot, index) order, equal to what the chain executed, at its position in its
    // block (among vote transactions); the listed failed transaction is delivered failed, at
    // its own position, without a fetch.
    let source = RpcBackfill::spawn(server.config(3), SlotRange::new(from, to)).unwrap();
    let stats = source.stats().clone();
    let got = drain(source).await.expect("backfill");
    assert_eq!(got.len(), in_range.len() + 1);
    let order: Vec<(u64, u32)> = got.iter().map(|t| (t.slot, t.index_in_slot)).collect();
    let mut sorted = order.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(order, sorted, "ascending and unique");
    let by_sig: BTreeMap<&str, &TxUpdate> = got.iter().map(|t| (t.signature.as_str(), t)).collect();
    for want in &in_range {
        let got = by_sig[want.signature.as_str()];
        assert_eq!(
            (
                got.slot,
                got.index_in_slot,
                got.block_time,
                &got.inner,
                got.failed
            ),
            (
                want.slot,
                want.index_in_slot,
                want.block_time,
                &want.inner,
                false
            )
        );
    }
    let failed_tx = by_sig[failed_signature().as_str()];
    assert!(failed_tx.failed);
    assert_eq!(failed_tx.index_in_slot, txs[10].index_in_slot + 100);
    // One getBlock per slot of the range, signatures only.
    let blocks = server.chain.calls("getBlock");
    let mut slots: Vec<u64> = blocks.iter().map(|p| p[0].as_u64().unwrap()).collect();
    slots.sort();
    let want_slots: Vec<u64> = in_range
        .iter()
        .map(|t| t.slot)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(slots, want_slots);
    assert_eq!(RpcStats::get(&stats.blocks), want_slots.len() as u64);
    for params in &blocks {
        assert_eq!(params[1]["transactionDetails"], "signatures");
        assert_eq!(params[1]["rewards"], false);
        assert_eq!(params[1]["commitment"], "confirmed");
    }
    let fetched = server.chain.calls("getTransaction");
    assert_eq!(fetched.len(), in_range.len());
    for params in &fetched {
        assert_eq!(params[1]["encoding"], "json");
        assert_eq!(params[1]["maxSupportedTransactionVersion"], 0);
        assert_ne!(params[0], failed_signature().as_str());
    }

    // Pagination: pages of 3, each after the previous page's last signature, confirmed, and
    // paging stops below the range rather than reading the whole history.
    let pages = server.chain.calls("getSignaturesForAddress");
    assert_eq!(RpcStats::get(&stats.pages), pages.len() as u64);
    assert!(pages.len() > 6, "{} pages", pages.len());
    for page in &pages {
        assert_eq!(page[1]["limit"], 3);
        assert_eq!(page[1]["commitment"], "confirmed");
    }
    assert!(pages.iter().filter(|p| p[1]["before"].is_string()).count() >= pages.len() - 2);
    let failed = failed_signature();
    let mut slot_of: HashMap<&str, u64> =
        txs.iter().map(|t| (t.signature.as_str(), t.slot)).collect();
    slot_of.insert(&failed, txs[10].slot);
    for page in &pages {
        if let Some(before) = page[1]["before"].as_str() {
            assert!(slot_of[before] >= from, "paged on below the range");
        }
    }

    // Into PostgreSQL: the rows are exactly the events emitted in the range.
    let db = TestDb::new().await;
    let store = PgStore::new(db.pool.clone(), NAME);
    let counters = backfill_into(&store, server.config(3), SlotRange::new(from, to)).await;
    let want = expected(&in_range);
    assert!(want.len() > 20, "{} events in range", want.len());
    assert_rows(&snapshot(&db.pool, NAME).await.1, &want);
    assert_eq!(Counters::get(&counters.failed_skipped), 1);
    let cursor = snapshot(&db.pool, NAME).await.0.expect("cursor");
    assert_eq!(cursor.slot, to);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_backfill_retries_after_429_and_gives_up_typed() {
    let (txs, executed) = recorded();
    let server = RpcServer::start(RpcChain::new(&txs, &executed, 0)).await;
    let range = SlotRange::new(txs[0].slot, txs[8].slot);

    // Two 429s, then success: retried, same result as without them.
    server.chain.throttle.store(2, Ordering::SeqCst);
    let source = RpcBackfill::spawn(server.config(1000), range.clone()).unwrap();
    let stats = source.stats().clone();
    let got = drain(source).await.expect("retried to success");
    assert_eq!(got.len(), 9 + 1);
    assert_eq!(RpcStats::get(&stats.retries), 2);
    assert_eq!(
        RpcStats::get(&stats.requests),
        server.chain.calls.lock().unwrap().len() as u64 + 2
    );

    // Still throttled after every retry: the typed HTTP error, after 1 + max_retries attempts.
    server.chain.throttle.store(1_000, Ordering::SeqCst);
    let config = RpcConfig {
        max_retries: 2,
        ..server.config(1000)
    };
    let error = drain(RpcBackfill::spawn(config, range).unwrap())
        .await
        .expect_err("gives up");
    assert!(
        matches!(
            error,
            RpcError::Http {
                method: "getSignaturesForAddress",
                status: 429,
                attempts: 3
            }
        ),
        "{error:?}"
    );

    // Bad arguments are refused before any request.
    assert!(matches!(
        RpcBackfill::spawn(server.config(1001), SlotRange::new(1, 2)),
        Err(RpcError::PageLimit(1001))
    ));
    assert!(matches!(
        RpcBackfill::spawn(server.config(10), SlotRange::new(5, 4)),
        Err(RpcError::EmptyRange {
            from_slot: 5,
            to_slot: 4
        })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_backfill_over_written_rows_changes_nothing() {
    let (txs, executed) = recorded();
    let server = RpcServer::start(RpcChain::new(&txs, &executed, 3)).await;
    let db = TestDb::new().await;
    let store = PgStore::new(db.pool.clone(), NAME);
    run_to_end(&store, all(&txs), RunConfig::default()).await;
    let want = expected(&txs);
    let (cursor, rows) = snapshot(&db.pool, NAME).await;
    assert_rows(&rows, &want);
    let counts = table_counts(&db.pool).await;

    let last = txs.last().expect("recorded").slot;
    backfill_into(&store, server.config(5), SlotRange::new(txs[0].slot, last)).await;
    let (after, rows) = snapshot(&db.pool, NAME).await;
    assert_rows(&rows, &want);
    assert_eq!(table_counts(&db.pool).await, counts);
    assert_eq!(after.map(|c| c.slot), cursor.map(|c| c.slot));
}

/// Runs [`run_live`] in a task until the committed rows equal `want` (or 30 s pass), then
/// cancels it: its report, counters and gRPC stats.
async fn live_until(
    store: &PgStore,
    pool: &sqlx::PgPool,
    config: LiveConfig,
    want: &BTreeMap<Key, Row>,
) -> (GapReport, Counters, Arc<GrpcStats>) {
    let cancel = CancellationToken::new();
    let stats = Arc::new(GrpcStats::default());
    let task = {
        let (store, cancel, stats) = (store.clone(), cancel.clone(), stats.clone());
        tokio::spawn(async move {
            let counters = Counters::default();
            let report = run_live(&store, &counters, &stats, &cancel, &config).await;
            (report, counters)
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while &snapshot(pool, NAME).await.1 != want
        && tokio::time::Instant::now() < deadline
        && !task.is_finished()
    {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    cancel.cancel();
    let (report, counters) = task.await.expect("live task");
    let report = report.expect("the live pipeline runs until cancelled");
    (report, counters, stats)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_gap_is_backfilled_then_grpc_resumes() {
    let (txs, executed) = recorded();
    let first_available = txs[15].slot;
    let updates = txs
        .iter()
        .zip(&executed)
        .map(|(tx, e)| (tx.slot, geyser_tx(e, tx)))
        .collect();
    let geyser = Server::start(updates, first_available, &[]).await;
    let rpc = RpcServer::start(RpcChain::new(&txs, &executed, 8)).await;
    let db = TestDb::new().await;
    let store = PgStore::new(db.pool.clone(), NAME);

    // Indexed up to txs[3]; the live server's replay window has since moved past it.
    run_to_end(&store, all(&txs[..4]), RunConfig::default()).await;
    let old = snapshot(&db.pool, NAME).await.0.expect("cursor");
    assert_eq!(old.signature.as_deref(), Some(txs[3].signature.as_str()));

    let config = LiveConfig::new(geyser.config(), rpc.config(4));
    let want = expected(&txs);
    let (report, counters, _) = live_until(&store, &db.pool, config, &want).await;

    // The final rows are exactly the emitted set: the gap from the RPC, the rest from gRPC.
    assert_rows(&snapshot(&db.pool, NAME).await.1, &want);
    assert_eq!(
        report,
        GapReport {
            backfilled: vec![(old.slot, first_available)]
        }
    );
    let from: Vec<_> = geyser.requests().iter().map(|r| r.from_slot).collect();
    assert_eq!(from, [Some(old.slot), Some(first_available)]);
    // gRPC skipped its replay of `first_available` (the backfill had it whole), so each
    // transaction from the cursor's slot on was decoded once; the failed listing was skipped.
    // The backfill redid the cursor's slot whole.
    let delivered = txs.iter().filter(|t| t.slot >= old.slot).count();
    assert_eq!(Counters::get(&counters.transactions), delivered as u64);
    assert_eq!(Counters::get(&counters.failed_skipped), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_live_stream_gap_is_detected_and_backfilled() {
    let (txs, executed) = recorded();
    // The live server never has these slots: not their transactions, block metas or slot
    // updates. The block after them names the last one as its parent.
    let (gap_from, gap_to) = (txs[7].slot, txs[13].slot);
    assert!(gap_to > gap_from, "the gap spans slots");
    let mut updates = Vec::new();
    for (i, (tx, e)) in txs.iter().zip(&executed).enumerate() {
        updates.push((tx.slot, geyser_tx(e, tx)));
        if txs.get(i + 1).is_none_or(|next| next.slot != tx.slot) {
            let count = txs.iter().filter(|t| t.slot == tx.slot).count() as u64;
            updates.push((tx.slot, block_meta(tx.slot, count)));
            updates.push((tx.slot, slot_update(tx.slot, SlotStatus::SlotConfirmed)));
        }
    }
    updates.retain(|(slot, _)| !(gap_from..=gap_to).contains(slot));
    let geyser = Server::start(updates, 0, &[]).await;
    let rpc = RpcServer::start(RpcChain::new(&txs, &executed, 8)).await;
    let db = TestDb::new().await;
    let store = PgStore::new(db.pool.clone(), NAME);

    let config = LiveConfig::new(geyser.config(), rpc.config(4));
    let want = expected(&txs);
    let (report, counters, stats) = live_until(&store, &db.pool, config, &want).await;

    // Every emitted event is a row, once: the missing slots from the RPC, the rest from gRPC.
    assert_rows(&snapshot(&db.pool, NAME).await.1, &want);
    assert_eq!(
        report,
        GapReport {
            backfilled: vec![(gap_from, gap_to)]
        }
    );
    assert_eq!(GrpcStats::get(&stats.gaps), 1);
    assert_eq!(Counters::get(&counters.backfills), 1);
    assert_eq!(
        Counters::get(&counters.backfilled_slots),
        gap_to - gap_from + 1
    );
    // The stream started at the tip, then resumed from the end of the backfilled range.
    let from: Vec<_> = geyser.requests().iter().map(|r| r.from_slot).collect();
    assert_eq!(from, [None, Some(gap_to)]);
    // The backfill asked for the gap's transactions only.
    let fetched: Vec<Value> = rpc.chain.calls("getTransaction");
    let gap_txs = txs
        .iter()
        .filter(|t| (gap_from..=gap_to).contains(&t.slot))
        .count();
    assert_eq!(
        fetched.len(),
        gap_txs,
        "one getTransaction per transaction of the gap"
    );
}
