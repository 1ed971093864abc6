//! Challenges through the relayer's HTTP API, over real sockets: the wallets sign the unsigned
//! transactions the API builds and hand them back, the relayer attests as the gatekeeper and
//! cranks settle and expire; token balances are read from the localnet and the indexer's
//! backfill of it yields the rows.

use std::time::Duration;

use anchor_lang::{
    prelude::Pubkey,
    solana_program::{clock::Clock, sysvar::SysvarId},
};
use anchor_spl::associated_token::get_associated_token_address;
use base64::Engine;
use challenge::{state::Window, ConfigArgs};
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::Transaction;
use veil_client::challenge as cix;
use veil_localnet::{Localnet, LocalnetConfig};
use veil_relayer::platform::auth::{CreatedKey, Scope};

use super::{
    backfill, send,
    wire::{create_mint, fund_tokens, Wire},
    SOL,
};
use crate::relayer::support::{TestApp, CHAIN_SEED};

/// 100 tokens of 6 decimals.
const START: u64 = 100_000_000;
/// Each party's bond: 10 tokens.
const BOND: u64 = 10_000_000;

struct Setup {
    _net: Localnet,
    rpc: RpcClient,
    /// The challenge program's admin (pauses it).
    admin: Keypair,
    t: TestApp,
    wire: Wire,
    key: CreatedKey,
    creator: Keypair,
    counterparty: Keypair,
    arbiter: Keypair,
    treasury: Pubkey,
    mint: Pubkey,
}

async fn setup() -> Setup {
    setup_with(|_| {}).await
}

async fn setup_with(change: impl FnOnce(&mut veil_relayer::platform::config::Config)) -> Setup {
    let seed: [u8; 32] = hex::decode(CHAIN_SEED).unwrap().try_into().unwrap();
    let relayer = Keypair::new_from_array(seed);
    let (admin, issuer, creator, counterparty, arbiter) = (
        Keypair::new(),
        Keypair::new(),
        Keypair::new(),
        Keypair::new(),
        Keypair::new(),
    );
    let treasury = Pubkey::new_unique();
    let net = Localnet::start(LocalnetConfig {
        slot_time: Duration::from_millis(50),
        airdrop: vec![
            relayer.pubkey(),
            admin.pubkey(),
            issuer.pubkey(),
            creator.pubkey(),
            counterparty.pubkey(),
        ],
        airdrop_lamports: 10 * SOL,
        ..LocalnetConfig::default()
    })
    .expect("localnet starts");
    let rpc = RpcClient::new_with_commitment(
        net.rpc_url().to_owned(),
        solana_commitment_config::CommitmentConfig::confirmed(),
    );
    // The relayer is the challenge program's gatekeeper; short Enforced windows.
    let init = cix::initialize(
        &admin.pubkey(),
        ConfigArgs {
            gatekeeper: relayer.pubkey(),
            treasury,
            accept_window: Window { min: 1, max: 3_600 },
            response_window: Window { min: 1, max: 3_600 },
            max_treasury_bps: 3_000,
            arbiter_window: 3_600,
            bond_mints: Vec::new(),
        },
        None,
    );
    send(&rpc, &admin, &[init], &[])
        .await
        .expect("initialize the challenge program");
    let mint = create_mint(&rpc, &issuer, &issuer.pubkey()).await;
    for party in [&creator, &counterparty] {
        fund_tokens(&rpc, &issuer, &mint, &party.pubkey(), START).await;
    }
    let url = net.rpc_url().to_owned();
    let t = TestApp::with(|c| {
        c.rpc_url = Some(url);
        c.anchor_interval_secs = 3_600;
        change(c);
    })
    .await;
    // The relayer's operator: challenge flows and the gatekeeper's role.
    let key = TestApp::create_key(&t.state, &[Scope::Challenges, Scope::Gatekeeper], 1_000).await;
    let wire = Wire::serve(&t).await;
    Setup {
        _net: net,
        rpc,
        admin,
        t,
        wire,
        key,
        creator,
        counterparty,
        arbiter,
        treasury,
        mint,
    }
}

impl Setup {
    /// POSTs `body` to `path`, expecting an unsigned transaction for `wallet`; signs it with
    /// the wallet and hands it back through `/api/v2/transactions`. The challenge it is for,
    /// and the landed signature.
    async fn sign_and_send(&self, path: &str, body: Value, wallet: &Keypair) -> (String, String) {
        let built = self.wire.post(path, &body, &self.key).await;
        assert_eq!(built.status, 200, "{path}: {}", built.body);
        assert_eq!(built.body["signer"], json!(wallet.pubkey().to_string()));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(built.body["transaction"].as_str().expect("a transaction"))
            .unwrap();
        let mut tx: Transaction = bincode::deserialize(&bytes).unwrap();
        let blockhash = tx.message.recent_blockhash;
        tx.try_sign(&[wallet], blockhash).expect("the wallet signs");
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(bincode::serialize(&tx).unwrap());
        let landed = self
            .wire
            .post(
                "/api/v2/transactions",
                &json!({ "transaction": encoded }),
                &self.key,
            )
            .await;
        assert_eq!(landed.status, 200, "{path}: {}", landed.body);
        (
            built.body["challenge"].as_str().unwrap().to_owned(),
            landed.body["signature"].as_str().unwrap().to_owned(),
        )
    }

    /// A relayer step (attest, settle, expire).
    async fn relayer_step(&self, address: &str, step: &str, body: Value) -> Value {
        let answer = self
            .wire
            .post(
                &format!("/api/v2/challenges/{address}/{step}"),
                &body,
                &self.key,
            )
            .await;
        assert_eq!(answer.status, 200, "{step}: {}", answer.body);
        answer.body
    }

    async fn view(&self, address: &str) -> Value {
        let answer = self
            .wire
            .get(&format!("/api/v2/challenges/{address}"), &self.key)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body
    }

    async fn tokens(&self, owner: &Pubkey) -> u64 {
        let account = get_associated_token_address(owner, &self.mint);
        match self.rpc.get_token_account_balance(&account).await {
            Ok(balance) => balance.amount.parse().unwrap(),
            Err(_) => 0,
        }
    }

    /// The chain's clock, from the Clock sysvar.
    async fn chain_now(&self) -> i64 {
        let data = self
            .rpc
            .get_account_data(&<Clock as SysvarId>::id())
            .await
            .unwrap();
        bincode::deserialize::<Clock>(&data).unwrap().unix_timestamp
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_fire_challenge_through_the_api_slashes_the_loser_and_the_indexer_rows_appear() {
    let s = setup().await;
    let (creator, counterparty) = (s.creator.pubkey(), s.counterparty.pubkey());
    // The creator signs create; the counterparty accepts. A bonded challenge has a response
    // deadline (within the test config's hour).
    let response_deadline = s.chain_now().await + 3_000;
    let body = json!({
        "creator": creator.to_string(), "mode": "fire",
        "counterparty": counterparty.to_string(), "arbiter": s.arbiter.pubkey().to_string(),
        "terms": "first to 10 wins", "bond_mint": s.mint.to_string(), "bond_amount": BOND,
        "winner_share_bps": 7_000, "treasury_share_bps": 2_000, "nonce": 1,
        "response_deadline": response_deadline,
    });
    let (address, _) = s
        .sign_and_send("/api/v2/challenges", body, &s.creator)
        .await;
    assert_eq!(address, cix::challenge_pda(&creator, 1).0.to_string());
    assert_eq!(s.view(&address).await["status"], "awaiting_counterparty");
    let accept = format!("/api/v2/challenges/{address}/accept");
    s.sign_and_send(
        &accept,
        json!({"counterparty": counterparty.to_string()}),
        &s.counterparty,
    )
    .await;
    assert_eq!(s.view(&address).await["status"], "accepted");

    // Locking before the gatekeeper attested is refused by the program, typed.
    let early = s
        .wire
        .post(
            &format!("/api/v2/challenges/{address}/lock"),
            &json!({"party": "creator"}),
            &s.key,
        )
        .await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(early.body["transaction"].as_str().unwrap())
        .unwrap();
    let mut tx: Transaction = bincode::deserialize(&bytes).unwrap();
    let blockhash = tx.message.recent_blockhash;
    tx.try_sign(&[&s.creator], blockhash).unwrap();
    let refused = s
        .wire
        .post(
            "/api/v2/transactions",
            &json!({"transaction": base64::engine::general_purpose::STANDARD.encode(bincode::serialize(&tx).unwrap())}),
            &s.key,
        )
        .await;
    assert_eq!(
        (
            refused.status,
            refused.code(),
            &refused.body["error"]["details"]["rule"]
        ),
        (409, "CHALLENGE_REFUSED", &json!("NotVerified"))
    );

    // The relayer attests both parties: each holds the bond.
    for party in ["creator", "counterparty"] {
        let attested = s
            .relayer_step(&address, "attest", json!({"party": party}))
            .await;
        assert_eq!(attested["passed"], json!(true));
        // Again: the recorded attestation, nothing sent.
        let again = s
            .relayer_step(&address, "attest", json!({"party": party}))
            .await;
        assert_eq!(again, attested);
    }
    let attestations: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM challenge_attestations WHERE signature IS NOT NULL",
    )
    .fetch_one(&s.t.db.pool)
    .await
    .unwrap();
    assert_eq!(attestations, 2);

    // Both deposit, the creator locks, both confirm the creator won.
    let deposit = format!("/api/v2/challenges/{address}/deposit");
    s.sign_and_send(&deposit, json!({"party": "creator"}), &s.creator)
        .await;
    s.sign_and_send(&deposit, json!({"party": "counterparty"}), &s.counterparty)
        .await;
    assert_eq!(
        (s.tokens(&creator).await, s.tokens(&counterparty).await),
        (START - BOND, START - BOND)
    );
    s.sign_and_send(
        &format!("/api/v2/challenges/{address}/lock"),
        json!({"party": "creator"}),
        &s.creator,
    )
    .await;
    let confirm = format!("/api/v2/challenges/{address}/confirm");
    s.sign_and_send(
        &confirm,
        json!({"party": "creator", "outcome": "creator_wins"}),
        &s.creator,
    )
    .await;
    s.sign_and_send(
        &confirm,
        json!({"party": "counterparty", "outcome": "creator_wins"}),
        &s.counterparty,
    )
    .await;
    let completed = s.view(&address).await;
    assert_eq!(
        (&completed["status"], &completed["outcome"]),
        (&json!("completed"), &json!("creator_wins"))
    );

    // The relayer settles: the winner gets its bond, 70% of the loser's and the remainder;
    // the treasury 20%; the vault is closed.
    let settled = s.relayer_step(&address, "settle", json!({})).await;
    assert_eq!(
        (
            s.tokens(&creator).await,
            s.tokens(&counterparty).await,
            s.tokens(&s.treasury).await
        ),
        (START - BOND + 18_000_000, START - BOND, 2_000_000)
    );
    assert_eq!(s.view(&address).await["vault_closed"], json!(true));
    // Settling again answers the recorded settlement and pays nobody twice.
    let twice = s
        .wire
        .post(
            &format!("/api/v2/challenges/{address}/settle"),
            &json!({}),
            &s.key,
        )
        .await;
    assert_eq!(
        (twice.status, &twice.body["signature"]),
        (200, &settled["signature"]),
        "the recorded settlement: {}",
        twice.body
    );
    assert_eq!(s.tokens(&creator).await, START - BOND + 18_000_000);

    // The indexer's rows: the challenge, its status path, and the slash.
    backfill(&s.rpc, &s.t.db.pool).await;
    let challenge = cix::challenge_pda(&creator, 1).0.to_bytes().to_vec();
    let row: (String, i64) = sqlx::query_as(
        "SELECT mode, bond_amount::int8 FROM indexer_challenges WHERE challenge = $1",
    )
    .bind(&challenge)
    .fetch_one(&s.t.db.pool)
    .await
    .unwrap();
    assert_eq!(row, ("Fire".to_owned(), BOND as i64));
    let status: String =
        sqlx::query_scalar("SELECT status FROM indexer_challenge_current WHERE challenge = $1")
            .bind(&challenge)
            .fetch_one(&s.t.db.pool)
            .await
            .unwrap();
    assert_eq!(status, "Completed");
    let releases: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT to_creator::int8, to_counterparty::int8, to_treasury::int8, slashed::int8
         FROM indexer_bond_releases WHERE challenge = $1",
    )
    .bind(&challenge)
    .fetch_all(&s.t.db.pool)
    .await
    .unwrap();
    assert_eq!(releases, vec![(18_000_000, 0, 2_000_000, BOND as i64)]);

    // The key that built the create lists the challenge as indexed; another key does not.
    let listed = s.wire.get("/api/v2/challenges", &s.key).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let rows = listed.body["challenges"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{}", listed.body);
    assert_eq!(
        (
            &rows[0]["address"],
            &rows[0]["status"],
            &rows[0]["counterparty"],
            &rows[0]["counterparty_accepted"]
        ),
        (
            &json!(address),
            &json!("completed"),
            &json!(counterparty.to_string()),
            &json!(true)
        )
    );
    let other = TestApp::create_key(&s.t.state, &[Scope::Challenges], 1_000).await;
    let listed = s.wire.get("/api/v2/challenges", &other).await;
    assert_eq!(listed.body["challenges"], json!([]), "{}", listed.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_challenge_reads_are_cached_and_dropped_by_the_indexer_and_by_the_relayers_own_steps(
) {
    // A TTL far longer than the test: only invalidations can refresh an answer.
    let s = setup_with(|c| c.challenge_read_ttl_ms = 600_000).await;
    let challenges = s.t.state.challenges.clone().expect("a chain");
    let (_stop, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(
        challenges
            .read_cache()
            .clone()
            .run_listener(s.t.db.pool.clone(), stop),
    );
    // Wait until the cache's connection LISTENs.
    for _ in 0..100 {
        let listening: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%veil_challenge%'",
        )
        .fetch_one(&s.t.db.pool)
        .await
        .unwrap();
        if listening > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (creator, counterparty) = (s.creator.pubkey(), s.counterparty.pubkey());
    let body = json!({
        "creator": creator.to_string(), "mode": "gatekeeper",
        "counterparty": counterparty.to_string(), "terms": "a cached bet", "nonce": 7,
    });
    let (address, _) = s
        .sign_and_send("/api/v2/challenges", body, &s.creator)
        .await;
    let chain_reads = || {
        s.t.state
            .metrics
            .challenge_reads_total
            .with_label_values(&["chain"])
            .get()
    };
    let before = chain_reads();
    let first = s.view(&address).await;
    assert_eq!(first["status"], "awaiting_counterparty");
    for _ in 0..20 {
        let again = s.view(&address).await;
        assert_eq!(again["slot"], first["slot"], "{again}");
    }
    assert_eq!(chain_reads() - before, 1, "21 reads, one RPC call");

    // The counterparty accepts straight over RPC, past this relayer: the cached answer stands,
    // with the slot it was read at.
    let pubkey = address.parse().unwrap();
    send(
        &s.rpc,
        &s.counterparty,
        &[cix::accept(&counterparty, &pubkey)],
        &[],
    )
    .await
    .expect("accept lands");
    let stale = s.view(&address).await;
    assert_eq!(
        (&stale["status"], &stale["slot"]),
        (&json!("awaiting_counterparty"), &first["slot"])
    );
    // The indexer records the accept: its notification drops the entry.
    backfill(&s.rpc, &s.t.db.pool).await;
    let mut fresh = stale;
    for _ in 0..100 {
        fresh = s.view(&address).await;
        if fresh["status"] == "accepted" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(fresh["status"], "accepted", "{fresh}");
    assert!(fresh["slot"].as_u64() > first["slot"].as_u64(), "{fresh}");

    // The relayer's own step drops it at once: the next read shows the attestation.
    s.relayer_step(&address, "attest", json!({"party": "creator"}))
        .await;
    let attested = s.view(&address).await;
    assert_eq!(
        attested["creator_state"]["verified"],
        json!(true),
        "{attested}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_the_crank_expires_an_overdue_enforced_challenge_and_refunds_its_bond() {
    let s = setup().await;
    let (creator, counterparty) = (s.creator.pubkey(), s.counterparty.pubkey());
    let now = s.chain_now().await;
    // Room for four confirmed transactions on a loaded machine before the accept deadline.
    let accept_deadline = now + 6;
    let body = json!({
        "creator": creator.to_string(), "mode": "enforced",
        "counterparty": counterparty.to_string(), "arbiter": s.arbiter.pubkey().to_string(),
        "terms": "respond within seconds", "bond_mint": s.mint.to_string(), "bond_amount": BOND,
        "winner_share_bps": 5_000, "treasury_share_bps": 1_000,
        "accept_deadline": accept_deadline, "response_deadline": accept_deadline + 4,
        "nonce": 7,
    });
    s.sign_and_send("/api/v2/challenges", body, &s.creator)
        .await;
    let address = cix::challenge_pda(&creator, 7).0.to_string();
    s.sign_and_send(
        &format!("/api/v2/challenges/{address}/accept"),
        json!({"counterparty": counterparty.to_string()}),
        &s.counterparty,
    )
    .await;
    s.relayer_step(&address, "attest", json!({"party": "creator"}))
        .await;
    s.sign_and_send(
        &format!("/api/v2/challenges/{address}/deposit"),
        json!({"party": "creator"}),
        &s.creator,
    )
    .await;
    assert_eq!(s.tokens(&creator).await, START - BOND);

    // Before the deadline an expiry is refused, typed.
    let early = s
        .wire
        .post(
            &format!("/api/v2/challenges/{address}/expire"),
            &json!({}),
            &s.key,
        )
        .await;
    assert_eq!(
        (
            early.status,
            early.code(),
            &early.body["error"]["details"]["rule"]
        ),
        (409, "CHALLENGE_REFUSED", &json!("DeadlineNotReached"))
    );

    // The background crank expires it once the chain's clock passes the response deadline.
    let challenges = s.t.state.challenges.clone().expect("challenges configured");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let crank = tokio::spawn(challenges.run_crank(Duration::from_millis(250), stop_rx));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if s.view(&address).await["status"] == "expired" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not expired in time"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = stop_tx.send(true);
    crank.await.unwrap();
    let expired = s.view(&address).await;
    assert_eq!(expired["vault_closed"], json!(true));
    assert_eq!(
        (s.tokens(&creator).await, s.tokens(&counterparty).await),
        (START, START)
    );
    assert!(s.chain_now().await > accept_deadline + 4);
    // One record: the refused early attempt, then the crank's, which landed.
    let sent: Vec<(String, String, Vec<String>)> = sqlx::query_as(
        "SELECT status, signature, signatures FROM chain_submissions WHERE key LIKE 'expire:%'",
    )
    .fetch_all(&s.t.db.pool)
    .await
    .unwrap();
    assert_eq!(sent.len(), 1);
    let (status, landed, signatures) = &sent[0];
    assert_eq!((status.as_str(), signatures.len()), ("landed", 2));
    assert_eq!(signatures.last(), Some(landed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_a_bond_of_u64_max_is_indexed_with_its_exact_amount() {
    // Audit finding 8: a bond above i64::MAX used to fail the indexer's batch on every restart.
    let s = setup().await;
    let creator = s.creator.pubkey();
    let address = s.created_fire(11, u64::MAX).await;
    // An event after it, in a later transaction: it must be indexed too.
    s.accept(&address).await;

    backfill(&s.rpc, &s.t.db.pool).await;
    let challenge = cix::challenge_pda(&creator, 11).0.to_bytes().to_vec();
    let amount: String =
        sqlx::query_scalar("SELECT bond_amount::text FROM indexer_challenges WHERE challenge = $1")
            .bind(&challenge)
            .fetch_one(&s.t.db.pool)
            .await
            .unwrap();
    assert_eq!(amount, u64::MAX.to_string());
    let status: String =
        sqlx::query_scalar("SELECT status FROM indexer_challenge_current WHERE challenge = $1")
            .bind(&challenge)
            .fetch_one(&s.t.db.pool)
            .await
            .unwrap();
    assert_eq!(status, "Accepted");
    let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM indexer_dead_letters")
        .fetch_one(&s.t.db.pool)
        .await
        .unwrap();
    assert_eq!(dead, 0);
}

impl Setup {
    /// Creates a Fire challenge (nonce `nonce`, each party's bond `bond`) through the API; its
    /// address.
    async fn created_fire(&self, nonce: u64, bond: u64) -> String {
        let response_deadline = self.chain_now().await + 3_000;
        let body = json!({
            "creator": self.creator.pubkey().to_string(), "mode": "fire",
            "counterparty": self.counterparty.pubkey().to_string(),
            "arbiter": self.arbiter.pubkey().to_string(),
            "terms": "attest me", "bond_mint": self.mint.to_string(), "bond_amount": bond,
            "winner_share_bps": 5_000, "treasury_share_bps": 1_000, "nonce": nonce,
            "response_deadline": response_deadline,
        });
        self.sign_and_send("/api/v2/challenges", body, &self.creator)
            .await
            .0
    }

    /// The counterparty accepts `address`.
    async fn accept(&self, address: &str) {
        self.sign_and_send(
            &format!("/api/v2/challenges/{address}/accept"),
            json!({ "counterparty": self.counterparty.pubkey().to_string() }),
            &self.counterparty,
        )
        .await;
    }

    /// A Fire challenge the counterparty accepted; its address.
    async fn accepted_fire(&self, nonce: u64) -> String {
        let address = self.created_fire(nonce, BOND).await;
        self.accept(&address).await;
        address
    }

    async fn attest_answer(&self, address: &str, party: &str) -> super::wire::Answer {
        self.wire
            .post(
                &format!("/api/v2/challenges/{address}/attest"),
                &json!({ "party": party }),
                &self.key,
            )
            .await
    }

    /// Attests `party` and expects the program's refusal `rule`, with nothing stored.
    async fn attest_refused(&self, address: &str, party: &str, rule: &str) {
        let refused = self.attest_answer(address, party).await;
        assert_eq!(
            (
                refused.status,
                refused.code(),
                &refused.body["error"]["details"]["rule"]
            ),
            (409, "CHALLENGE_REFUSED", &json!(rule)),
            "{}",
            refused.body
        );
        assert_eq!(self.attestation_rows(address).await, 0);
    }

    async fn attestation_rows(&self, address: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM challenge_attestations WHERE challenge = $1")
            .bind(address)
            .fetch_one(&self.t.db.pool)
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_attest_before_acceptance_is_refused_and_stores_nothing() {
    // Audit finding 10: attesting the creator right after creation, before it held the bond,
    // stored funds_ok=false, which every later attestation reused to cancel the challenge.
    let s = setup().await;
    let address = s.created_fire(31, BOND).await;
    s.attest_refused(&address, "creator", "InvalidStatus").await;

    // After acceptance the attestation is judged on what holds now, and passes.
    s.accept(&address).await;
    let attested = s
        .relayer_step(&address, "attest", json!({"party": "creator"}))
        .await;
    assert_eq!(attested["passed"], json!(true));
    assert_eq!(s.view(&address).await["status"], "accepted");
    // Attesting a verified party again returns the landed record, nothing new is sent.
    let again = s
        .relayer_step(&address, "attest", json!({"party": "creator"}))
        .await;
    assert_eq!(again["signature"], attested["signature"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_only_the_gatekeeper_role_attests() {
    // Reviewer's finding (issue 18): any `challenges` key could attest, and a failed funds
    // check cancels the challenge, so any API client could cancel anyone's challenge.
    let s = setup().await;
    let address = s.accepted_fire(34).await;
    let dapp = TestApp::create_key(&s.t.state, &[Scope::Challenges], 1_000).await;
    for party in ["creator", "counterparty"] {
        let refused = s
            .wire
            .post(
                &format!("/api/v2/challenges/{address}/attest"),
                &json!({ "party": party }),
                &dapp,
            )
            .await;
        assert_eq!(
            (refused.status, refused.code()),
            (403, "AUTH_SCOPE_FORBIDDEN"),
            "{}",
            refused.body
        );
        assert_eq!(
            refused.body["error"]["details"]["required_scope"],
            json!("gatekeeper"),
            "{}",
            refused.body
        );
    }
    // Nothing was checked, stored or sent: the challenge is as it was.
    assert_eq!(s.attestation_rows(&address).await, 0);
    let view = s.view(&address).await;
    assert_eq!(view["status"], "accepted", "{view}");
    assert_eq!(view["creator_state"]["verified"], json!(false), "{view}");
    // The gatekeeper's key attests.
    let attested = s
        .relayer_step(&address, "attest", json!({"party": "creator"}))
        .await;
    assert_eq!(attested["passed"], json!(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_forwarding_takes_v0_and_refuses_other_programs() {
    // Reviewer's finding (issue 18): `/api/v2/transactions` forwarded any signed legacy
    // transaction to any program, an open relay on the relayer's RPC quota; and no v0.
    use anchor_lang::solana_program::{instruction::AccountMeta, system_program};
    use solana_message::{v0, VersionedMessage};
    use solana_transaction::versioned::VersionedTransaction;

    let s = setup().await;
    let address = s.created_fire(35, BOND).await;
    // The counterparty's accept, built by the API, is sent as a v0 transaction.
    let built = s
        .wire
        .post(
            &format!("/api/v2/challenges/{address}/accept"),
            &json!({ "counterparty": s.counterparty.pubkey().to_string() }),
            &s.key,
        )
        .await;
    assert_eq!(built.status, 200, "{}", built.body);
    let legacy: Transaction = bincode::deserialize(
        &base64::engine::general_purpose::STANDARD
            .decode(built.body["transaction"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let message = VersionedMessage::V0(v0::Message {
        header: legacy.message.header,
        account_keys: legacy.message.account_keys.clone(),
        recent_blockhash: legacy.message.recent_blockhash,
        instructions: legacy.message.instructions.clone(),
        address_table_lookups: vec![],
    });
    let signature = s
        .counterparty
        .sign_message(&bincode::serialize(&message).unwrap());
    let v0_tx = VersionedTransaction {
        signatures: vec![signature],
        message,
    };
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(bincode::serialize(&v0_tx).unwrap());
    let landed = s
        .wire
        .post(
            "/api/v2/transactions",
            &json!({ "transaction": encoded }),
            &s.key,
        )
        .await;
    assert_eq!(landed.status, 200, "{}", landed.body);
    assert_eq!(landed.body["signature"], json!(signature.to_string()));
    assert_eq!(s.view(&address).await["status"], "accepted");

    // A plain SOL transfer, properly signed, is not the relayer's traffic.
    let stranger = Keypair::new();
    let mut data = 2u32.to_le_bytes().to_vec();
    data.extend_from_slice(&1_000_000u64.to_le_bytes());
    let transfer = anchor_lang::solana_program::instruction::Instruction {
        program_id: system_program::ID,
        accounts: vec![
            AccountMeta::new(s.creator.pubkey(), true),
            AccountMeta::new(stranger.pubkey(), false),
        ],
        data,
    };
    let before = s.rpc.get_balance(&s.creator.pubkey()).await.unwrap();
    let blockhash = s.rpc.get_latest_blockhash().await.unwrap();
    let tx = Transaction::new_signed_with_payer(
        &[transfer],
        Some(&s.creator.pubkey()),
        &[&s.creator],
        blockhash,
    );
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(bincode::serialize(&tx).unwrap());
    let refused = s
        .wire
        .post(
            "/api/v2/transactions",
            &json!({ "transaction": encoded }),
            &s.key,
        )
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (403, "TRANSACTION_PROGRAM_NOT_ALLOWED"),
        "{}",
        refused.body
    );
    assert_eq!(
        refused.body["error"]["details"]["program"],
        json!(system_program::ID.to_string())
    );
    // Nothing was sent: the transfer never landed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        s.rpc.get_balance(&s.creator.pubkey()).await.unwrap(),
        before
    );
    assert_eq!(s.rpc.get_balance(&stranger.pubkey()).await.unwrap(), 0);
    let status = s
        .rpc
        .get_signature_statuses(&[tx.signatures[0]])
        .await
        .unwrap()
        .value;
    assert_eq!(status, vec![None]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_a_refused_attestation_is_not_kept() {
    let s = setup().await;
    let address = s.accepted_fire(32).await;
    // The program refuses while paused: the record written before sending must go.
    let pause = cix::set_paused(&s.admin.pubkey(), true);
    send(&s.rpc, &s.admin, &[pause], &[]).await.expect("pause");
    s.attest_refused(&address, "counterparty", "Paused").await;
    let unpause = cix::set_paused(&s.admin.pubkey(), false);
    send(&s.rpc, &s.admin, &[unpause], &[])
        .await
        .expect("unpause");
    let attested = s
        .relayer_step(&address, "attest", json!({"party": "counterparty"}))
        .await;
    assert_eq!(attested["passed"], json!(true));
    assert_eq!(s.attestation_rows(&address).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_a_deposited_bond_counts_as_funds() {
    // Audit finding 10: only the wallet balance was read, so a party that had already
    // deposited its bond (and kept less than a bond besides) was judged unfunded and the
    // challenge cancelled.
    let s = setup().await;
    let address = s.accepted_fire(33).await;
    // The creator keeps exactly one bond, then deposits it: its wallet is empty.
    let from = get_associated_token_address(&s.creator.pubkey(), &s.mint);
    let to = get_associated_token_address(&s.counterparty.pubkey(), &s.mint);
    let away = anchor_spl::token::spl_token::instruction::transfer(
        &anchor_spl::token::ID,
        &from,
        &to,
        &s.creator.pubkey(),
        &[],
        START - BOND,
    )
    .unwrap();
    send(&s.rpc, &s.creator, &[away], &[])
        .await
        .expect("transfer");
    s.sign_and_send(
        &format!("/api/v2/challenges/{address}/deposit"),
        json!({ "party": "creator" }),
        &s.creator,
    )
    .await;
    assert_eq!(s.tokens(&s.creator.pubkey()).await, 0);
    let attested = s
        .relayer_step(&address, "attest", json!({"party": "creator"}))
        .await;
    assert_eq!(attested["passed"], json!(true), "{attested}");
    let view = s.view(&address).await;
    assert_eq!(view["status"], "accepted");
    assert_eq!(view["creator_state"]["verified"], json!(true));
}

impl Setup {
    /// `wallet` signs in with Sign-In With Solana; the verification's id.
    async fn sign_in(&self, wallet: &Keypair) -> String {
        let issued = self
            .wire
            .post(
                "/gatekeeper/v2/wallet/challenge",
                &json!({ "chain_id": "solana:localnet", "address": wallet.pubkey().to_string() }),
                &self.key,
            )
            .await;
        assert_eq!(issued.status, 201, "{}", issued.body);
        let message = issued.body["message"].as_str().unwrap();
        let signature = wallet.sign_message(message.as_bytes()).to_string();
        let verified = self
            .wire
            .post(
                "/gatekeeper/v2/wallet/verify",
                &json!({ "message": message, "signature": signature }),
                &self.key,
            )
            .await;
        assert_eq!(verified.status, 201, "{}", verified.body);
        verified.body["verification_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The challenge account as the program stores it.
    async fn account(&self, address: &str) -> challenge::state::Challenge {
        let data = self
            .rpc
            .get_account_data(&address.parse().unwrap())
            .await
            .unwrap();
        veil_client::decode::account(&data).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_a_fire_challenge_whose_counterparty_fails_the_funds_check_is_cancelled_and_both_bonds_refunded(
) {
    let s = setup().await;
    let address = s.accepted_fire(41).await;
    let deposit = format!("/api/v2/challenges/{address}/deposit");
    s.sign_and_send(&deposit, json!({"party": "creator"}), &s.creator)
        .await;
    s.sign_and_send(&deposit, json!({"party": "counterparty"}), &s.counterparty)
        .await;
    assert_eq!(
        (
            s.tokens(&s.creator.pubkey()).await,
            s.tokens(&s.counterparty.pubkey()).await
        ),
        (START - BOND, START - BOND)
    );
    let creator_id = s.sign_in(&s.creator).await;
    let counterparty_id = s.sign_in(&s.counterparty).await;
    let attest = format!("/api/v2/challenges/{address}/attest");

    // Refusals attest nothing: the creator's verification cited for the counterparty, an
    // unknown verification, a requirement without a verification, evidence while the
    // gatekeeper is off.
    let mismatch = s
        .wire
        .post(
            &attest,
            &json!({ "party": "counterparty", "wallet_verification_id": creator_id }),
            &s.key,
        )
        .await;
    assert_eq!(
        (mismatch.status, mismatch.code()),
        (422, "CHALLENGE_VERIFICATION_MISMATCH"),
        "{}",
        mismatch.body
    );
    assert_eq!(
        mismatch.body["error"]["details"]["expected"],
        json!(s.counterparty.pubkey().to_string())
    );
    let unknown = s
        .wire
        .post(
            &attest,
            &json!({ "party": "counterparty",
                     "wallet_verification_id": "00000000-0000-4000-8000-000000000000" }),
            &s.key,
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (404, "GATEKEEPER_VERIFICATION_NOT_FOUND")
    );
    let required = s
        .wire
        .post(
            &attest,
            &json!({ "party": "counterparty",
                     "funds": { "asset": s.mint.to_string(), "threshold": "1" } }),
            &s.key,
        )
        .await;
    assert_eq!(
        (required.status, required.code()),
        (422, "CHALLENGE_VERIFICATION_REQUIRED")
    );
    use veil_relayer::platform::flags::{Flag, Rollout};
    let flag = |rollout| std::collections::BTreeMap::from([(Flag::GatekeeperV2, rollout)]);
    s.t.state
        .flags
        .set(&flag(Rollout::Off), "test")
        .await
        .unwrap();
    let off = s
        .wire
        .post(
            &attest,
            &json!({ "party": "counterparty", "wallet_verification_id": counterparty_id }),
            &s.key,
        )
        .await;
    assert_eq!((off.status, off.code()), (503, "FEATURE_DISABLED"));
    s.t.state
        .flags
        .set(&flag(Rollout::On), "test")
        .await
        .unwrap();
    assert_eq!(s.attestation_rows(&address).await, 0);

    // The creator holds 90 tokens after its bond: the terms ask for 50. Passed.
    let requirement =
        |threshold: &str| json!({ "asset": s.mint.to_string(), "threshold": threshold });
    let creator = s
        .relayer_step(
            &address,
            "attest",
            json!({ "party": "creator", "wallet_verification_id": creator_id,
                    "funds": requirement("50") }),
        )
        .await;
    assert_eq!(creator["passed"], json!(true), "{creator}");
    assert_eq!(creator["wallet_verification_id"], json!(creator_id));
    assert_eq!(
        creator["funds_attestation_ids"].as_array().unwrap().len(),
        2
    );
    let account = s.account(&address).await;
    assert_eq!(
        hex::encode(account.creator_state.attestation_hash),
        creator["attestation_hash"].as_str().unwrap()
    );
    assert_eq!(s.view(&address).await["status"], "accepted");

    // The counterparty also holds 90: the terms ask for 1,000. Failed: the program cancels
    // and refunds both bonds.
    let counterparty = s
        .relayer_step(
            &address,
            "attest",
            json!({ "party": "counterparty", "wallet_verification_id": counterparty_id,
                    "funds": requirement("1000") }),
        )
        .await;
    assert_eq!(counterparty["passed"], json!(false), "{counterparty}");
    let account = s.account(&address).await;
    assert_eq!(account.status, challenge::state::Status::Cancelled);
    assert_eq!(
        hex::encode(account.counterparty_state.attestation_hash),
        counterparty["attestation_hash"].as_str().unwrap()
    );
    assert!(account.vault_closed);
    assert_eq!(
        (
            s.tokens(&s.creator.pubkey()).await,
            s.tokens(&s.counterparty.pubkey()).await,
            s.tokens(&s.treasury).await
        ),
        (START, START, 0)
    );

    // The record cites the verification and both funds attestations: the bond's (covered by
    // the deposit: passed) and the terms' (failed). Neither holds a balance.
    let (wallet_ok, funds_ok, verification, cited): (bool, bool, String, Vec<String>) =
        sqlx::query_as(
            "SELECT wallet_ok, funds_ok, wallet_verification_id::text,
                    funds_attestation_ids::text[]
             FROM challenge_attestations WHERE challenge = $1 AND party = 'counterparty'",
        )
        .bind(&address)
        .fetch_one(&s.t.db.pool)
        .await
        .unwrap();
    assert_eq!((wallet_ok, funds_ok), (true, false));
    assert_eq!(verification, counterparty_id);
    assert_eq!(
        json!(cited),
        counterparty["funds_attestation_ids"],
        "the answer names the stored attestations"
    );
    let mut outcomes = Vec::new();
    for id in &cited {
        let (passed, threshold, asset): (bool, String, String) = sqlx::query_as(
            "SELECT passed, threshold, asset FROM gatekeeper_funds_attestations WHERE id = $1::uuid",
        )
        .bind(id)
        .fetch_one(&s.t.db.pool)
        .await
        .unwrap();
        assert_eq!(asset, s.mint.to_string());
        outcomes.push((passed, threshold));
    }
    assert_eq!(
        outcomes,
        vec![(true, "0".to_owned()), (false, "1000".to_owned())]
    );
    let row: String = sqlx::query_scalar(
        "SELECT row_to_json(a)::text FROM challenge_attestations a WHERE challenge = $1 AND party = 'counterparty'",
    )
    .bind(&address)
    .fetch_one(&s.t.db.pool)
    .await
    .unwrap();
    let held = START - BOND;
    for needle in [held.to_string(), format!("{held:x}")] {
        assert!(!row.contains(&needle) && !counterparty.to_string().contains(&needle));
    }

    // Again: the landed record, nothing sent.
    let again = s
        .relayer_step(
            &address,
            "attest",
            json!({ "party": "counterparty", "wallet_verification_id": counterparty_id }),
        )
        .await;
    assert_eq!(again, counterparty);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_a_session_takes_its_own_wallets_steps_and_no_one_elses() {
    let s = setup().await;
    let address = s.accepted_fire(61).await;
    // The creator signs in with its wallet through the Rust client: no API key from here on.
    let client = veil_rest_client::Client::builder(&s.wire.base)
        .build()
        .unwrap();
    let creator = s.creator.insecure_clone();
    client
        .sign_in("solana:localnet", &creator.pubkey().to_string(), |m| {
            creator.sign_message(m.as_bytes()).to_string()
        })
        .await
        .expect("the creator signs in");
    let step = |path: &str| format!("/api/v2/challenges/{address}/{path}");
    let post = |path: String, body: Value| {
        let client = client.clone();
        async move { client.call(reqwest::Method::POST, &path, Some(&body)).await }
    };
    // The counterparty's deposit, its lock, its confirmation, the arbiter's resolution: not
    // the creator's to take.
    for (path, body) in [
        ("deposit", json!({"party": "counterparty"})),
        ("lock", json!({"party": "counterparty"})),
        (
            "confirm",
            json!({"party": "counterparty", "outcome": "creator_wins"}),
        ),
        ("resolve", json!({"outcome": "creator_wins"})),
    ] {
        let refused = post(step(path), body).await.unwrap_err();
        assert_eq!(
            refused.code(),
            Some("AUTH_SESSION_WALLET_MISMATCH"),
            "{path}: {refused}"
        );
    }
    // Its own deposit: built for its wallet, signed by it, forwarded by its session.
    let built = post(step("deposit"), json!({"party": "creator"}))
        .await
        .expect("the creator's own deposit")
        .body;
    assert_eq!(built["signer"], json!(creator.pubkey().to_string()));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(built["transaction"].as_str().unwrap())
        .unwrap();
    let mut tx: Transaction = bincode::deserialize(&bytes).unwrap();
    let blockhash = tx.message.recent_blockhash;
    tx.try_sign(&[&creator], blockhash).unwrap();
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(bincode::serialize(&tx).unwrap());
    post(
        "/api/v2/transactions".to_owned(),
        json!({ "transaction": encoded }),
    )
    .await
    .expect("the session forwards what its wallet signed");
    assert_eq!(s.tokens(&creator.pubkey()).await, START - BOND);
    let view = client.challenge(&address).await.unwrap();
    assert_eq!(
        view["creator_state"]["bond_deposited"],
        json!(true),
        "{view}"
    );
    assert_eq!(
        view["counterparty_state"]["bond_deposited"],
        json!(false),
        "{view}"
    );
    // The gatekeeper attests its own party on its sign-in, and only that: another party, or
    // evidence other than its own sign-in, is refused.
    let refused = post(step("attest"), json!({"party": "counterparty"}))
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Some("AUTH_SESSION_WALLET_MISMATCH"),
        "{refused}"
    );
    let refused = post(
        step("attest"),
        json!({"party": "creator", "wallet_verification_id": "00000000-0000-0000-0000-000000000000"}),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Some("INVALID_BODY"), "{refused}");
    let attested = post(step("attest"), json!({"party": "creator"}))
        .await
        .expect("the creator's own attestation")
        .body;
    let signed_in: String = sqlx::query_scalar(
        "SELECT verification_id::text FROM auth_sessions WHERE address = $1 AND revoked_at IS NULL",
    )
    .bind(creator.pubkey().to_string())
    .fetch_one(&s.t.db.pool)
    .await
    .unwrap();
    assert_eq!(
        (&attested["passed"], &attested["wallet_verification_id"]),
        (&json!(true), &json!(signed_in)),
        "{attested}"
    );
    let view = client.challenge(&address).await.unwrap();
    assert_eq!(view["creator_state"]["verified"], json!(true), "{view}");
    // The relayer's own steps stay behind keys.
    let refused = post(step("settle"), json!({})).await.unwrap_err();
    assert_eq!(refused.code(), Some("AUTH_INVALID_API_KEY"), "{refused}");
}
