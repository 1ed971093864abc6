//! The local chain over the wire: the programs behind surfpool-core's real JSON-RPC, driven
//! with `solana-rpc-client`, and the indexer's RPC backfill reading it back.

use std::{sync::Arc, time::Duration};

use anchor_lang::{prelude::Pubkey, AccountDeserialize};
use registry::{
    error::RegistryError,
    state::{Config, IdBatch},
};
use serde_json::{json, Value};
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;
use tokio_util::sync::CancellationToken;
use veil_client::registry as ix;
use veil_harness::scalar;
use veil_indexer::{
    rpc::{RpcBackfill, RpcConfig, SlotRange},
    run, Counters, PgStore, RunConfig,
};
use veil_localnet::{Localnet, LocalnetConfig};
use veil_relayer::{
    chittyid::anchor::{Anchorer, DEFAULT_NAMESPACE},
    cli::{self, VerifyArgs},
    platform::breaker::{BreakerState, CircuitBreaker},
    platform::chain::{store, ChainClient, ChainConfig, ChainError},
};

use crate::relayer::support::{code, TestApp, TestDb, CHAIN_SEED};

mod challenges;
mod gatekeeper;
pub(crate) mod geyser;
mod ownership;
pub(crate) mod stack;
pub(crate) mod wire;

/// Backfills every slot of the chain at `rpc` into the indexer tables of `pool`.
pub(crate) async fn backfill(rpc: &RpcClient, pool: &sqlx::PgPool) {
    let head = rpc.get_slot().await.unwrap();
    let mut source = RpcBackfill::spawn(
        RpcConfig {
            max_requests_per_second: None,
            ..RpcConfig::new(rpc.url())
        },
        SlotRange::new(0, head),
    )
    .expect("backfill starts");
    run(
        &mut source,
        &PgStore::new(pool.clone(), "localnet"),
        &Counters::default(),
        &CancellationToken::new(),
        RunConfig::default(),
    )
    .await
    .expect("backfill over the localnet");
}

pub(crate) const SOL: u64 = 1_000_000_000;
pub(crate) const TRACK: [u8; 32] = [7; 32];

/// Sends `ixs` signed by `payer` (and `signers`) and waits for confirmation.
pub(crate) async fn send(
    rpc: &RpcClient,
    payer: &Keypair,
    ixs: &[anchor_lang::solana_program::instruction::Instruction],
    signers: &[&Keypair],
) -> Result<String, TransactionError> {
    let blockhash = rpc.get_latest_blockhash().await.expect("blockhash");
    let mut all: Vec<&Keypair> = vec![payer];
    all.extend_from_slice(signers);
    let tx = Transaction::new_signed_with_payer(ixs, Some(&payer.pubkey()), &all, blockhash);
    match rpc.send_and_confirm_transaction(&tx).await {
        Ok(signature) => Ok(signature.to_string()),
        Err(error) => Err(error
            .get_transaction_error()
            .unwrap_or_else(|| panic!("not a transaction error: {error}"))),
    }
}

/// A localnet with `slot_ms` slots whose registry names `registrar` its registrar (both
/// funded), and a confirmed-commitment client of it.
async fn registry_chain(registrar: &Keypair, slot_ms: u64) -> (Localnet, RpcClient) {
    let admin = Keypair::new();
    let net = Localnet::start(LocalnetConfig {
        slot_time: Duration::from_millis(slot_ms),
        airdrop: vec![registrar.pubkey(), admin.pubkey()],
        airdrop_lamports: 10 * SOL,
        ..LocalnetConfig::default()
    })
    .expect("localnet starts");
    let rpc =
        RpcClient::new_with_commitment(net.rpc_url().to_owned(), CommitmentConfig::confirmed());
    let init = ix::initialize(
        &admin.pubkey(),
        &registrar.pubkey(),
        &Pubkey::new_unique(),
        None,
    );
    send(&rpc, &admin, &[init], &[]).await.expect("initialize");
    (net, rpc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_runs_the_programs_behind_json_rpc_and_the_backfill_reads_them() {
    let admin = Keypair::new();
    let registrar = Keypair::new();
    let stranger = Keypair::new();
    let treasury = Pubkey::new_unique();
    let net = Localnet::start(LocalnetConfig {
        slot_time: Duration::from_millis(50),
        airdrop: vec![admin.pubkey(), registrar.pubkey(), stranger.pubkey()],
        airdrop_lamports: 10 * SOL,
        ..LocalnetConfig::default()
    })
    .expect("localnet starts");
    let rpc =
        RpcClient::new_with_commitment(net.rpc_url().to_owned(), CommitmentConfig::confirmed());

    // Funded at start, over getBalance.
    assert_eq!(rpc.get_balance(&admin.pubkey()).await.unwrap(), 10 * SOL);

    // The registry, over sendTransaction: its config account is what getAccountInfo returns.
    let init = ix::initialize(&admin.pubkey(), &registrar.pubkey(), &treasury, None);
    send(&rpc, &admin, &[init], &[]).await.expect("initialize");
    let data = rpc.get_account_data(&ix::config_pda().0).await.unwrap();
    let config = Config::try_deserialize(&mut data.as_slice()).expect("a Config account");
    assert_eq!(
        (
            config.admin,
            config.registrar,
            config.treasury,
            config.paused
        ),
        (admin.pubkey(), registrar.pubkey(), treasury, false)
    );
    let account = rpc.get_account(&ix::config_pda().0).await.unwrap();
    assert_eq!(account.owner, ix::PROGRAM_ID);

    // A program error comes back typed: a stranger may not create a track.
    let denied = send(
        &rpc,
        &stranger,
        &[ix::create_track(
            &stranger.pubkey(),
            TRACK,
            20,
            0,
            veil_harness::builder::FRESHNESS_SLOTS,
        )],
        &[],
    )
    .await
    .expect_err("only the admin creates tracks");
    assert_eq!(
        denied,
        TransactionError::InstructionError(
            0,
            solana_instruction_error::InstructionError::Custom(
                RegistryError::NotAdmin as u32 + anchor_lang::error::ERROR_CODE_OFFSET
            )
        )
    );

    // A track and three roots; getTransaction carries the emit_cpi! events.
    let created = send(
        &rpc,
        &admin,
        &[ix::create_track(
            &admin.pubkey(),
            TRACK,
            20,
            0,
            veil_harness::builder::FRESHNESS_SLOTS,
        )],
        &[],
    )
    .await
    .expect("create_track");
    let roots: Vec<[u8; 32]> = (1..=3).map(|i| scalar(500 + i)).collect();
    for (i, root) in roots.iter().enumerate() {
        let publish = ix::publish_root(&registrar.pubkey(), TRACK, *root, i as u64 + 1, 0);
        send(&rpc, &registrar, &[publish], &[])
            .await
            .expect("publish_root");
    }
    // The indexer's backfill over this chain's JSON-RPC: every event is a row.
    let db = TestDb::new().await;
    backfill(&rpc, &db.pool).await;
    let kinds: Vec<(String, i64)> =
        sqlx::query_as("SELECT kind, count(*) FROM indexer_events GROUP BY kind ORDER BY kind")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        kinds,
        [
            ("MerkleRootUpdated".to_owned(), 3),
            ("RegistryInitialized".to_owned(), 1),
            ("TrackCreated".to_owned(), 1)
        ]
    );
    let indexed: Vec<(Vec<u8>, i64, i64)> = sqlx::query_as(
        "SELECT root, leaf_count, slot FROM indexer_merkle_roots ORDER BY root_index",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let got: Vec<(Vec<u8>, i64)> = indexed.iter().map(|r| (r.0.clone(), r.1)).collect();
    let want: Vec<(Vec<u8>, i64)> = roots
        .iter()
        .enumerate()
        .map(|(i, r)| (r.to_vec(), i as i64 + 1))
        .collect();
    assert_eq!(got, want);
    // The track row is the create_track transaction's, read back through getTransaction.
    let track: (String, Vec<u8>, i16) =
        sqlx::query_as("SELECT signature, track_id, depth FROM indexer_tracks")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(track, (created, TRACK.to_vec(), 20));
}

/// The relayer's anchorer for `t`, sending through `url` with `relayer` as its chain key: quick
/// polls, one retry.
fn anchorer(
    t: &TestApp,
    url: &str,
    relayer: &Keypair,
    breaker: Arc<CircuitBreaker>,
) -> (Anchorer, Arc<ChainClient>) {
    let chain = Arc::new(ChainClient::new(
        ChainConfig {
            poll_interval: Duration::from_millis(50),
            max_retries: 1,
            backoff_initial: Duration::from_millis(10),
            backoff_max: Duration::from_millis(20),
            ..ChainConfig::new(url)
        },
        relayer.insecure_clone(),
        breaker,
        t.db.pool.clone(),
    ));
    let anchorer = Anchorer::new(
        t.db.pool.clone(),
        chain.clone(),
        t.state.verifier.clone(),
        DEFAULT_NAMESPACE,
        veil_relayer::platform::outbox::Outbox::new(t.state.flags.clone()),
    );
    (anchorer, chain)
}

/// The registry's `IdBatch` of batch `batch_id`, read over JSON-RPC.
async fn id_batch(rpc: &RpcClient, first_seq: u64) -> IdBatch {
    let pda = ix::id_batch_pda(&DEFAULT_NAMESPACE, first_seq).0;
    let data = rpc.get_account_data(&pda).await.expect("IdBatch account");
    IdBatch::try_deserialize(&mut data.as_slice()).expect("an IdBatch")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_anchors_a_pending_batch_once_and_verify_returns_the_chain_evidence() {
    let t = TestApp::new().await;
    let mut ids = Vec::new();
    for i in 0..4u8 {
        let (_, body) = t.mint(&"ab".repeat(32), &hex::encode([i, 9])).await;
        ids.push(body["id"].as_str().expect("minted").to_owned());
    }
    let (_, cut) = t.post("/admin/batches/cut", &json!({}), &t.admin).await;
    let batch_id = cut["batch"]["batch_id"].as_i64().expect("a batch");
    let root = cut["batch"]["root"].as_str().unwrap().to_owned();

    // The relayer's chain key is the registry's registrar.
    let relayer = Keypair::new();
    let (net, rpc) = registry_chain(&relayer, 50).await;

    let breaker = Arc::new(CircuitBreaker::new("rpc", t.state.config.breaker()));
    let (anchorer, chain) = anchorer(&t, net.rpc_url(), &relayer, breaker);
    let anchored = anchorer.anchor_pending(10).await.expect("anchoring");
    assert_eq!(anchored.len(), 1);
    assert_eq!(anchored[0].batch_id, batch_id);
    // The first batch of a fresh database covers sequence numbers [0, 4).
    assert_eq!(anchored[0].first_seq, 0);
    let landed = anchored[0].landed.clone();

    // On chain: the batch's IdBatch account holds its root and size.
    let on_chain = id_batch(&rpc, 0).await;
    assert_eq!(hex::encode(on_chain.batch_root), root);
    assert_eq!((on_chain.first_seq, on_chain.count), (0, 4));
    assert_eq!(on_chain.namespace, DEFAULT_NAMESPACE);
    assert_eq!(on_chain.slot, landed.slot);

    // In the database, and in what verify returns for each ID.
    let (status, signature, slot): (String, Option<String>, Option<i64>) = sqlx::query_as(
        "SELECT status, anchor_signature, anchor_slot FROM id_batches WHERE id = $1",
    )
    .bind(batch_id)
    .fetch_one(&t.db.pool)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), signature.as_deref(), slot),
        (
            "anchored",
            Some(landed.signature.as_str()),
            Some(landed.slot as i64)
        )
    );
    // The same transaction recorded one `chittyid.anchored` event for webhooks, with the
    // transaction and its slot, and one `chittyid.minted` per ID.
    let (subject, data, event_signature, event_slot): (String, String, String, i64) =
        sqlx::query_as(
            "SELECT subject, data::text, signature, slot FROM outbox_events
             WHERE type = 'chittyid.anchored'",
        )
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
    assert_eq!(subject, batch_id.to_string());
    assert_eq!(
        (event_signature.as_str(), event_slot),
        (landed.signature.as_str(), landed.slot as i64)
    );
    let data: serde_json::Value = serde_json::from_str(&data).unwrap();
    let mut event_ids: Vec<String> = serde_json::from_value(data["ids"].clone()).unwrap();
    let mut minted_ids = ids.clone();
    event_ids.sort();
    minted_ids.sort();
    assert_eq!(event_ids, minted_ids);
    assert_eq!(
        (&data["root"], &data["namespace"]),
        (&json!(root), &json!("CHI"))
    );
    let minted: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox_events WHERE type = 'chittyid.minted'")
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
    assert_eq!(minted, 4);
    for id in &ids {
        let (_, body) = t
            .get(&format!("/api/v2/chittyid/verify/{id}"), &t.key)
            .await;
        assert_eq!(body["evidence"]["status"], "anchored", "{body}");
        assert_eq!(body["evidence"]["batch"]["status"], "anchored");
        assert_eq!(
            body["evidence"]["batch"]["anchor"],
            json!({"signature": landed.signature, "slot": landed.slot})
        );
        assert_eq!(
            body["evidence"]["batch"]["root"],
            Value::String(root.clone())
        );
    }
    // The offline CLI re-verifies the evidence and checks the batch against the chain; a slot
    // the chain does not have is named.
    let (_, verified) = t
        .get(&format!("/api/v2/chittyid/verify/{}", ids[0]), &t.key)
        .await;
    let dir = std::env::temp_dir().join(format!("veil-localnet-cli-{}", landed.slot));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("evidence.json");
    std::fs::write(&file, serde_json::to_vec(&verified).unwrap()).unwrap();
    let args = VerifyArgs {
        id: None,
        file: Some(file.clone()),
        url: "http://127.0.0.1:1".into(),
        api_key: None,
        vrf_public_key: None,
        rpc_url: Some(net.rpc_url().to_owned()),
        anchor_namespace: DEFAULT_NAMESPACE,
    };
    let report = cli::verify(&args).await.expect("valid, and on chain");
    assert!(report.chain_checked && report.batch_checked);
    let mut moved = verified.clone();
    moved["evidence"]["batch"]["anchor"]["slot"] = json!(landed.slot + 1);
    std::fs::write(&file, serde_json::to_vec(&moved).unwrap()).unwrap();
    match cli::verify(&args).await {
        Err(cli::CliError::ChainMismatch {
            field: "slot",
            chain,
            ..
        }) => {
            assert_eq!(chain, landed.slot.to_string())
        }
        other => panic!("expected a slot mismatch, got {other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);

    let status = rpc
        .get_signature_statuses(&[landed.signature.parse().unwrap()])
        .await
        .unwrap()
        .value[0]
        .clone()
        .expect("the anchor transaction is known to the chain");
    assert_eq!((status.slot, status.err), (landed.slot, None));

    // Once: nothing is pending any more, and submitting the same effect again returns the
    // recorded landing without sending anything.
    assert!(anchorer.anchor_pending(10).await.unwrap().is_empty());
    let key = format!("anchor_id_batch:{batch_id}");
    let again = chain
        .submit(
            &key,
            &[ix::anchor_id_batch(
                &relayer.pubkey(),
                DEFAULT_NAMESPACE,
                [1; 32],
                batch_id as u64,
                4,
            )],
            &[],
        )
        .await
        .expect("the recorded outcome");
    // The same landing, read from the record: not sent by this call.
    assert_eq!(
        (&again.signature, again.slot, again.by_this_call),
        (&landed.signature, landed.slot, false)
    );
    let submission = store::get(&t.db.pool, &key)
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(
        submission.signatures,
        std::slice::from_ref(&landed.signature)
    );
    assert_eq!(
        submission.record,
        store::Record::Landed {
            signature: landed.signature.clone(),
            slot: landed.slot
        }
    );
}

/// What the JSON-RPC proxy in front of the localnet does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Forwards everything.
    Pass,
    /// Answers this many `sendTransaction`s with their signature without forwarding them (a
    /// node that accepted the transaction and lost it), then forwards.
    Lose(u32),
    /// Forwards the next `sendTransaction`, then answers everything with HTTP 503.
    DownAfterSend,
    /// Answers everything with HTTP 503.
    Down,
}

/// A JSON-RPC proxy in front of the localnet, for outages and lost transactions.
pub(crate) struct Proxy {
    /// Requests received, whatever the mode.
    hits: std::sync::atomic::AtomicUsize,
    upstream: String,
    mode: std::sync::Mutex<Mode>,
    client: reqwest::Client,
}

impl Proxy {
    pub(crate) fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
}

async fn proxy(
    axum::extract::State(proxy): axum::extract::State<Arc<Proxy>>,
    axum::Json(body): axum::Json<Value>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    proxy.hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let sending = body["method"] == "sendTransaction";
    let lose = {
        let mut mode = proxy.mode.lock().unwrap();
        match *mode {
            Mode::Down => {
                return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down").into_response()
            }
            Mode::DownAfterSend if sending => {
                *mode = Mode::Down;
                false
            }
            Mode::Lose(n) if sending && n > 0 => {
                *mode = Mode::Lose(n - 1);
                true
            }
            _ => false,
        }
    };
    if lose {
        // The wire transaction starts with the signature count (one byte here), then the
        // first signature.
        use base64::Engine as _;
        let wire = base64::engine::general_purpose::STANDARD
            .decode(body["params"][0].as_str().unwrap_or_default())
            .expect("a base64 transaction");
        let signature = bs58::encode(&wire[1..65]).into_string();
        return axum::Json(json!({"jsonrpc": "2.0", "result": signature, "id": body["id"]}))
            .into_response();
    }
    let answer = proxy
        .client
        .post(&proxy.upstream)
        .json(&body)
        .send()
        .await
        .expect("the localnet answers")
        .json::<Value>()
        .await
        .expect("JSON-RPC");
    axum::Json(answer).into_response()
}

/// Starts a proxy to `upstream`; its URL and handle.
pub(crate) async fn start_proxy(upstream: &str) -> (String, Arc<Proxy>) {
    let state = Arc::new(Proxy {
        hits: Default::default(),
        upstream: upstream.to_owned(),
        mode: std::sync::Mutex::new(Mode::Pass),
        client: reqwest::Client::new(),
    });
    let app = axum::Router::new()
        .route("/", axum::routing::post(proxy))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, state)
}

/// A relayer with one pending batch, a localnet whose registry names `relayer` registrar, and
/// a proxy in front of it.
struct Anchoring {
    t: TestApp,
    net: Localnet,
    rpc: RpcClient,
    relayer: Keypair,
    batch_id: i64,
    proxy_url: String,
    proxy: Arc<Proxy>,
}

impl Anchoring {
    async fn new() -> Self {
        let t = TestApp::new().await;
        for i in 0..3u8 {
            t.mint(&"cd".repeat(32), &hex::encode([i, 7])).await;
        }
        let (_, cut) = t.post("/admin/batches/cut", &json!({}), &t.admin).await;
        let batch_id = cut["batch"]["batch_id"].as_i64().expect("a batch");
        let relayer = Keypair::new();
        // Short slots: a blockhash (150 blocks) expires in a few seconds.
        let (net, rpc) = registry_chain(&relayer, 20).await;
        let (proxy_url, proxy) = start_proxy(net.rpc_url()).await;
        Self {
            t,
            net,
            rpc,
            relayer,
            batch_id,
            proxy_url,
            proxy,
        }
    }

    fn anchorer(&self, breaker: Arc<CircuitBreaker>) -> (Anchorer, Arc<ChainClient>) {
        anchorer(&self.t, &self.proxy_url, &self.relayer, breaker)
    }

    async fn batch_status(&self) -> (String, Option<String>) {
        sqlx::query_as("SELECT status, anchor_signature FROM id_batches WHERE id = $1")
            .bind(self.batch_id)
            .fetch_one(&self.t.db.pool)
            .await
            .unwrap()
    }

    async fn on_chain(&self) -> IdBatch {
        let first_seq: i64 = sqlx::query_scalar("SELECT first_seq FROM id_batches WHERE id = $1")
            .bind(self.batch_id)
            .fetch_one(&self.t.db.pool)
            .await
            .unwrap();
        id_batch(&self.rpc, first_seq as u64).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_a_lost_transaction_is_rebuilt_after_its_blockhash_expires_and_lands_once() {
    let a = Anchoring::new().await;
    let breaker = Arc::new(CircuitBreaker::new("rpc", a.t.state.config.breaker()));
    let (anchorer, _) = a.anchorer(breaker);
    a.proxy.set(Mode::Lose(1));

    let anchored = anchorer
        .anchor_pending(10)
        .await
        .expect("anchored after a rebuild");
    let landed = anchored[0].landed.clone();
    let key = format!("anchor_id_batch:{}", a.batch_id);
    let submission = store::get(&a.t.db.pool, &key)
        .await
        .unwrap()
        .expect("recorded");
    // Two transactions were built: the lost one, and after its expiry the one that landed.
    assert_eq!(submission.signatures.len(), 2, "{submission:?}");
    assert_eq!(submission.signatures[1], landed.signature);
    let lost = a
        .rpc
        .get_signature_statuses(&[submission.signatures[0].parse().unwrap()])
        .await
        .unwrap();
    assert_eq!(lost.value[0], None, "the lost transaction never landed");
    assert_eq!(a.on_chain().await.slot, landed.slot);
    assert_eq!(
        a.batch_status().await,
        ("anchored".to_owned(), Some(landed.signature))
    );
    drop(a.net);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_an_rpc_outage_opens_the_breaker_and_the_submission_completes_once_after_it() {
    let a = Anchoring::new().await;
    let ticker = Arc::new(veil_relayer::platform::breaker::ManualTicker::new());
    let breaker = Arc::new(CircuitBreaker::with_ticker(
        "rpc",
        veil_relayer::platform::breaker::BreakerConfig {
            failure_threshold: 2,
            open_for: Duration::from_secs(30),
        },
        ticker.clone(),
    ));
    let (anchorer, _) = a.anchorer(breaker.clone());

    // The node takes the transaction, then goes away before its status can be read.
    a.proxy.set(Mode::DownAfterSend);
    let error = anchorer
        .anchor_pending(10)
        .await
        .expect_err("the RPC is down");
    assert!(
        matches!(
            error,
            veil_relayer::chittyid::anchor::AnchorError::Chain {
                source: ChainError::Transport { .. } | ChainError::Unavailable { .. },
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(breaker.state(), BreakerState::Open);
    // While open, nothing reaches the node.
    let refused = anchorer
        .anchor_pending(10)
        .await
        .expect_err("the breaker is open");
    assert!(
        matches!(
            refused,
            veil_relayer::chittyid::anchor::AnchorError::Chain {
                source: ChainError::Unavailable {
                    state: BreakerState::Open,
                    ..
                },
                ..
            }
        ),
        "{refused:?}"
    );
    assert_eq!(a.batch_status().await, ("pending".to_owned(), None));
    let key = format!("anchor_id_batch:{}", a.batch_id);
    let sent = store::get(&a.t.db.pool, &key)
        .await
        .unwrap()
        .expect("recorded");
    assert!(matches!(sent.record, store::Record::Sending { .. }));

    // The node is back; after `open_for` one probe goes through and closes the breaker.
    a.proxy.set(Mode::Pass);
    ticker.advance(Duration::from_secs(30));
    assert_eq!(breaker.state(), BreakerState::HalfOpen);
    let anchored = anchorer
        .anchor_pending(10)
        .await
        .expect("anchored after the outage");
    assert_eq!(breaker.state(), BreakerState::Closed);
    // Exactly once: the transaction sent before the outage is the one that landed.
    let landed = anchored[0].landed.clone();
    let after = store::get(&a.t.db.pool, &key)
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(after.signatures, sent.signatures);
    assert_eq!(after.signatures, std::slice::from_ref(&landed.signature));
    assert_eq!(a.on_chain().await.slot, landed.slot);
    assert_eq!(
        a.batch_status().await,
        ("anchored".to_owned(), Some(landed.signature))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_anchor_route_is_503_while_the_rpc_is_down_then_anchors_once() {
    let seed: [u8; 32] = hex::decode(CHAIN_SEED).unwrap().try_into().unwrap();
    let relayer = Keypair::new_from_array(seed);
    let (net, _rpc) = registry_chain(&relayer, 50).await;
    let (proxy_url, proxy) = start_proxy(net.rpc_url()).await;
    let t = TestApp::with(|c| {
        c.rpc_url = Some(proxy_url.clone());
        c.breaker_failures = 2;
        c.breaker_open_secs = 1;
        // Only this test's explicit calls anchor.
        c.anchor_interval_secs = 3_600;
    })
    .await;
    let (_, minted) = t.mint(&"ef".repeat(32), "01").await;
    let id = minted["id"].as_str().expect("minted").to_owned();
    t.post("/admin/batches/cut", &json!({}), &t.admin).await;

    // The RPC is down: a typed 503, and the breaker opens.
    proxy.set(Mode::Down);
    let (status, body) = t.post("/admin/batches/anchor", &json!({}), &t.admin).await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (503, "CHAIN_UNAVAILABLE"),
        "{body}"
    );
    let (_, health) = t.get("/health", &t.key).await;
    assert_eq!(health["rpc_breaker"], "OPEN");
    // While it is open the node is not called at all.
    let hits = proxy.hits.load(std::sync::atomic::Ordering::SeqCst);
    let (status, body) = t.post("/admin/batches/anchor", &json!({}), &t.admin).await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (503, "CHAIN_UNAVAILABLE"),
        "{body}"
    );
    assert_eq!(proxy.hits.load(std::sync::atomic::Ordering::SeqCst), hits);

    // Back: after `open_for` the breaker lets a probe through, which closes it.
    proxy.set(Mode::Pass);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (_, health) = t.get("/health", &t.key).await;
    assert_eq!(health["rpc_breaker"], "HALF_OPEN");
    let (status, body) = t.post("/admin/batches/anchor", &json!({}), &t.admin).await;
    assert_eq!(status.as_u16(), 200, "{body}");
    let anchored = body["anchored"].as_array().expect("a list");
    assert_eq!(anchored.len(), 1);
    let (_, health) = t.get("/health", &t.key).await;
    assert_eq!(health["rpc_breaker"], "CLOSED");
    let (_, verified) = t
        .get(&format!("/api/v2/chittyid/verify/{id}"), &t.key)
        .await;
    assert_eq!(verified["evidence"]["status"], "anchored");
    assert_eq!(
        verified["evidence"]["batch"]["anchor"]["signature"],
        anchored[0]["signature"]
    );
    // Again: nothing pending, nothing sent.
    let (status, body) = t.post("/admin/batches/anchor", &json!({}), &t.admin).await;
    assert_eq!((status.as_u16(), body), (200, json!({"anchored": []})));
    let signatures: Vec<Vec<String>> =
        sqlx::query_scalar("SELECT signatures FROM chain_submissions")
            .fetch_all(&t.db.pool)
            .await
            .unwrap();
    assert_eq!(signatures.len(), 1);
    assert_eq!(signatures[0].len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anchor_route_without_an_rpc_url_is_501_chain_not_configured() {
    let t = TestApp::new().await;
    let (status, body) = t.post("/admin/batches/anchor", &json!({}), &t.admin).await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (501, "CHAIN_NOT_CONFIGURED"),
        "{body}"
    );
    let (_, health) = t.get("/health", &t.key).await;
    assert_eq!(health["rpc_breaker"], Value::Null);
}
