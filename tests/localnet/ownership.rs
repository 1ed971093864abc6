//! The private proof of token ownership end to end, over real sockets: a wallet holding an
//! SPL token registers through the relayer's HTTP API, the root is published on the localnet,
//! `/prove` proves, `/verify-ownership` spends the nullifier on chain, and the indexer's
//! backfill of the localnet yields exactly one verification row.

use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;
use veil_circuits::identity;
use veil_client::registry as ix;
use veil_localnet::{Localnet, LocalnetConfig};
use veil_poseidon::to_be_bytes;
use veil_relayer::{platform::auth::Scope, registry::registration_message};

use super::{
    backfill, send,
    wire::{create_mint, fund_tokens, Wire},
    SOL,
};
use crate::relayer::support::{keyless, session_sign_in, TestApp, CHAIN_SEED};

/// A wallet's identity: the secret from its signature over the identity message.
struct Member {
    wallet: Keypair,
    secret: [u8; 32],
    commitment: [u8; 32],
}

impl Member {
    fn new(wallet: Keypair) -> Self {
        let signature = wallet.sign_message(identity::IDENTITY_MESSAGE);
        let secret = identity::secret_from_signature(signature.as_ref());
        Self {
            commitment: to_be_bytes(&identity::commitment(&secret)),
            secret: to_be_bytes(&secret),
            wallet,
        }
    }

    /// The register body for `mint`, signed by the wallet.
    fn registration(&self, mint: &Pubkey) -> Value {
        let message = registration_message(mint, &self.commitment);
        let signature = self.wallet.sign_message(message.as_bytes());
        json!({
            "wallet": self.wallet.pubkey().to_string(),
            "mint": mint.to_string(),
            "commitment": hex::encode(self.commitment),
            "signature": signature.to_string(),
        })
    }
}

/// The relayer's chain key, which is the registry's admin and registrar here.
fn relayer_key() -> Keypair {
    let seed: [u8; 32] = hex::decode(CHAIN_SEED).unwrap().try_into().unwrap();
    Keypair::new_from_array(seed)
}

/// A local chain (50 ms slots) with `relayer` and `funded` holding SOL, and the registry
/// initialized with `relayer` as its admin and registrar.
async fn registry_chain(
    relayer: &Keypair,
    funded: &[Pubkey],
) -> (
    Localnet,
    solana_rpc_client::nonblocking::rpc_client::RpcClient,
) {
    let net = Localnet::start(LocalnetConfig {
        slot_time: Duration::from_millis(50),
        airdrop: [relayer.pubkey()]
            .into_iter()
            .chain(funded.iter().copied())
            .collect(),
        airdrop_lamports: 10 * SOL,
        ..LocalnetConfig::default()
    })
    .expect("localnet starts");
    let rpc = solana_rpc_client::nonblocking::rpc_client::RpcClient::new_with_commitment(
        net.rpc_url().to_owned(),
        solana_commitment_config::CommitmentConfig::confirmed(),
    );
    let init = ix::initialize(
        &relayer.pubkey(),
        &relayer.pubkey(),
        &Pubkey::new_unique(),
        None,
    );
    send(&rpc, relayer, &[init], &[]).await.expect("initialize");
    (net, rpc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_ownership_register_publish_prove_verify_once_and_the_indexer_row_appears() {
    let relayer = relayer_key();
    let issuer = Keypair::new();
    let holder = Member::new(Keypair::new());
    let outsider = Member::new(Keypair::new());
    let (net, rpc) = registry_chain(&relayer, &[issuer.pubkey()]).await;
    let mint = create_mint(&rpc, &issuer, &issuer.pubkey()).await;
    let holding = fund_tokens(&rpc, &issuer, &mint, &holder.wallet.pubkey(), 1_000_000).await;

    let url = net.rpc_url().to_owned();
    let t = TestApp::with(|c| {
        c.rpc_url = Some(url);
        c.anchor_interval_secs = 3_600;
    })
    .await;
    let key = TestApp::create_key(&t.state, &[Scope::Registry], 1_000).await;
    let wire = Wire::serve(&t).await;

    // Register: the chain shows the holding; the leaf is the first of the track.
    let registered = wire
        .post(
            "/api/v2/registry/register",
            &holder.registration(&mint),
            &key,
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    let track_id = veil_zk::track_id_for(&mint.to_bytes());
    let leaf = identity::leaf(
        &identity::commitment(&veil_poseidon::from_be_bytes(&holder.secret).unwrap()),
        &veil_poseidon::from_be_bytes(&veil_zk::token_id_for(&mint.to_bytes())).unwrap(),
        &veil_poseidon::from_be_bytes(&track_id).unwrap(),
    );
    assert_eq!(
        registered.body,
        json!({
            "track_id": hex::encode(track_id),
            "leaf_index": 0,
            "leaf": hex::encode(to_be_bytes(&leaf)),
            "created": true,
            "token_account": holding.to_string(),
            "qualifies": true,
        })
    );
    // Reviewer's finding (issue 18): the answer carried the balance (`amount`), which the
    // registry must never reveal. Neither the answer nor the member's row holds it.
    assert!(
        !registered.body.to_string().contains("1000000"),
        "{}",
        registered.body
    );
    // The same registration again changes nothing.
    let again = wire
        .post(
            "/api/v2/registry/register",
            &holder.registration(&mint),
            &key,
        )
        .await;
    assert_eq!((again.status, &again.body["created"]), (200, &json!(false)));
    // The holder's own session (signed in with the wallet, no API key) registers the same
    // way, on the chain's word: already registered, unchanged.
    let (session, _) = session_sign_in(
        &t,
        "solana:localnet",
        &holder.wallet.pubkey().to_string(),
        |m| holder.wallet.sign_message(m.as_bytes()).to_string(),
    )
    .await;
    let (status, body) = keyless(
        &t,
        axum::http::Method::POST,
        "/api/v2/registry/register",
        Some(holder.registration(&mint)),
        session["token"].as_str(),
    )
    .await;
    assert_eq!((status, &body["created"]), (200, &json!(false)), "{body}");

    // Refusals, each typed: no token, a forged signature, a second identity for the wallet.
    let refused = wire
        .post(
            "/api/v2/registry/register",
            &outsider.registration(&mint),
            &key,
        )
        .await;
    assert_eq!(
        (
            refused.status,
            refused.code(),
            &refused.body["error"]["details"]["reason"]
        ),
        (422, "TOKEN_NOT_HELD", &json!("no_account"))
    );
    let mut forged = holder.registration(&mint);
    forged["signature"] = json!(outsider
        .wallet
        .sign_message(registration_message(&mint, &holder.commitment).as_bytes())
        .to_string());
    let refused = wire.post("/api/v2/registry/register", &forged, &key).await;
    assert_eq!(
        (refused.status, refused.code()),
        (400, "WALLET_SIGNATURE_INVALID")
    );
    let second = Member {
        wallet: holder.wallet.insecure_clone(),
        ..Member::new(Keypair::new())
    };
    let refused = wire
        .post(
            "/api/v2/registry/register",
            &second.registration(&mint),
            &key,
        )
        .await;
    assert_eq!(
        (
            refused.status,
            refused.code(),
            &refused.body["error"]["details"]
        ),
        (
            409,
            "REGISTRY_ALREADY_REGISTERED",
            &json!({"reason": "wallet_registered", "leaf_index": 0})
        )
    );

    // Not provable before the root is published.
    let recipient = Pubkey::new_unique();
    let prove_body = json!({
        "secret": hex::encode(holder.secret),
        "mint": mint.to_string(),
        "action": "claim-access",
        "recipient": recipient.to_string(),
    });
    let early = wire.post("/api/v2/prove", &prove_body, &key).await;
    assert_eq!(
        (early.status, early.code(), &early.body["error"]["details"]),
        (
            409,
            "REGISTRY_NOT_PUBLISHED",
            &json!({"leaf_index": 0, "published_leaves": 0})
        )
    );

    // Publish: the track is created, and its root is the tree of the one leaf.
    let published = wire
        .post(
            "/api/v2/registry/publish",
            &json!({"mint": mint.to_string()}),
            &t.admin,
        )
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    let tree = veil_merkle::Tree::from_leaves(20, vec![leaf]).unwrap();
    let root = to_be_bytes(&tree.root());
    assert_eq!(published.body["root"], json!(hex::encode(root)));
    assert_eq!(
        (&published.body["leaf_count"], &published.body["sent"]),
        (&json!(1), &json!(true))
    );
    let data = rpc
        .get_account_data(&ix::track_pda(&track_id).0)
        .await
        .expect("the track exists on chain");
    let track = veil_client::decode::track(&data).expect("a Track");
    assert_eq!(
        (track.latest_root().expect("a root").root, track.leaf_count),
        (root, 1)
    );
    // Nothing new: nothing sent, the same evidence.
    let unchanged = wire
        .post(
            "/api/v2/registry/publish",
            &json!({"mint": mint.to_string()}),
            &t.admin,
        )
        .await;
    assert_eq!(unchanged.body["sent"], json!(false));
    assert_eq!(unchanged.body["signature"], published.body["signature"]);

    // Prove: the public inputs are the published root, the holder's nullifier, the signal.
    let proved = wire.post("/api/v2/prove", &prove_body, &key).await;
    assert_eq!(proved.status, 200, "{}", proved.body);
    let secret = veil_poseidon::from_be_bytes(&holder.secret).unwrap();
    let nullifier = to_be_bytes(&identity::nullifier(
        &secret,
        &veil_poseidon::from_be_bytes(&track_id).unwrap(),
        &veil_poseidon::Fr::from(0u64),
    ));
    let signal = veil_zk::signal_hash(b"claim-access", &recipient.to_bytes());
    assert_eq!(
        proved.body["public_inputs"],
        json!({
            "root": hex::encode(root),
            "nullifier": hex::encode(nullifier),
            "track_id": hex::encode(track_id),
            "scope": hex::encode([0u8; 32]),
            "signal_hash": hex::encode(signal),
        })
    );
    let outsider_proof = wire
        .post(
            "/api/v2/prove",
            &json!({
                "secret": hex::encode(outsider.secret),
                "mint": mint.to_string(),
                "action": "claim-access",
                "recipient": recipient.to_string(),
            }),
            &key,
        )
        .await;
    assert_eq!(
        (outsider_proof.status, outsider_proof.code()),
        (404, "REGISTRY_NOT_A_MEMBER")
    );

    // A proof re-targeted at another signal is refused before anything is sent.
    let mut tampered = proved.body.clone();
    tampered["public_inputs"]["signal_hash"] = json!(hex::encode(veil_zk::signal_hash(
        b"claim-access",
        &Pubkey::new_unique().to_bytes()
    )));
    let refused = wire.post("/api/v2/verify-ownership", &tampered, &key).await;
    assert_eq!((refused.status, refused.code()), (422, "PROOF_INVALID"));

    // Verify: the nullifier is spent on chain, once.
    let verified = wire
        .post("/api/v2/verify-ownership", &proved.body, &key)
        .await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    let signature = verified.body["signature"].as_str().expect("a signature");
    assert_eq!(verified.body["nullifier"], json!(hex::encode(nullifier)));
    let record = rpc
        .get_account(&ix::nullifier_pda(&track_id, &nullifier).0)
        .await
        .expect("the nullifier record exists");
    assert_eq!(record.owner, ix::PROGRAM_ID);

    // The same proof again: a typed conflict that says where it was spent; nothing is sent.
    let replay = wire
        .post("/api/v2/verify-ownership", &proved.body, &key)
        .await;
    assert_eq!(
        (replay.status, replay.code()),
        (409, "NULLIFIER_ALREADY_USED")
    );
    assert_eq!(
        replay.body["error"]["details"],
        json!({"signature": signature, "slot": verified.body["slot"]})
    );
    let sent: Vec<Vec<String>> = sqlx::query_scalar(
        "SELECT signatures FROM chain_submissions WHERE key LIKE 'verify_ownership:%'",
    )
    .fetch_all(&t.db.pool)
    .await
    .unwrap();
    assert_eq!(sent, vec![vec![signature.to_owned()]]);

    // The indexer's backfill of the chain: exactly one verification, with no wallet in it.
    backfill(&rpc, &t.db.pool).await;
    type Row = (String, Vec<u8>, Vec<u8>, Vec<u8>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT signature, track_id, nullifier, signal_hash FROM indexer_verifications",
    )
    .fetch_all(&t.db.pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![(
            signature.to_owned(),
            track_id.to_vec(),
            nullifier.to_vec(),
            signal.to_vec()
        )]
    );
    let metrics = wire.get("/metrics", &key).await;
    for line in [
        "prover_requests_total{result=\"proved\"} 1",
        "tx_submitted_total{result=\"conflict\"} 1",
        // create_track, publish_root, verify_ownership.
        "tx_submitted_total{result=\"landed\"} 3",
        "proof_generation_seconds_count 1",
    ] {
        assert!(metrics.text.contains(line), "{line} in\n{}", metrics.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prove_answers_429_with_retry_after_while_the_prover_is_full() {
    // `/prove` reads the database only; the RPC URL is never called here.
    let t = TestApp::with(|c| {
        c.rpc_url = Some("http://127.0.0.1:9".into());
        c.anchor_interval_secs = 3_600;
        c.prover_workers = 1;
        c.prover_queue = 0;
    })
    .await;
    let key = TestApp::create_key(&t.state, &[Scope::Registry], 1_000).await;
    let wire = Wire::serve(&t).await;
    // One member under a published root, written as register and publish would.
    let member = Member::new(Keypair::new());
    let mint = Pubkey::new_unique();
    let track_id = veil_zk::track_id_for(&mint.to_bytes());
    let token_id = veil_zk::token_id_for(&mint.to_bytes());
    let leaf = identity::leaf(
        &veil_poseidon::from_be_bytes(&member.commitment).unwrap(),
        &veil_poseidon::from_be_bytes(&token_id).unwrap(),
        &veil_poseidon::from_be_bytes(&track_id).unwrap(),
    );
    use veil_relayer::registry::store;
    store::register(
        &t.db.pool,
        1 << 20,
        &store::NewMember {
            track_id: &track_id,
            mint: &mint.to_string(),
            commitment: &member.commitment,
            token_id: &token_id,
            leaf: &to_be_bytes(&leaf),
            wallet: &member.wallet.pubkey().to_string(),
            token_account: &Pubkey::new_unique().to_string(),
        },
    )
    .await
    .unwrap();
    let root = to_be_bytes(
        &veil_merkle::Tree::from_leaves(20, vec![leaf])
            .unwrap()
            .root(),
    );
    store::published(
        &t.db.pool,
        &track_id,
        &store::Published {
            leaves: 1,
            root,
            slot: 1,
            signature: "s".into(),
            snapshot_slot: 1,
        },
        &[true],
    )
    .await
    .unwrap();
    let body = json!({
        "secret": hex::encode(member.secret),
        "mint": mint.to_string(),
        "action": "claim-access",
        "recipient": Pubkey::new_unique().to_string(),
    });

    // The one worker is taken (the key may still be loading: that request waits, admitted)…
    let registry = t.state.registry.clone().expect("registry configured");
    let first = {
        let (wire_base, body, key) = (wire.base.clone(), body.clone(), key.clone());
        let clock = t.clock.clone();
        tokio::spawn(async move {
            Wire::at(&wire_base, clock)
                .post("/api/v2/prove", &body, &key)
                .await
        })
    };
    while registry.prover().in_flight() == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // …so the next request is refused at once, with a typed 429 and Retry-After.
    let busy = wire.post("/api/v2/prove", &body, &key).await;
    assert_eq!(
        (busy.status, busy.code(), &busy.body["error"]["details"]),
        (429, "PROVER_BUSY", &json!({"capacity": 1}))
    );
    let retry: u64 = busy
        .retry_after
        .as_deref()
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds");
    assert!(retry >= 1);
    // The admitted request completes with the proof.
    let proved = first.await.unwrap();
    assert_eq!(proved.status, 200, "{}", proved.body);
    assert_eq!(
        proved.body["public_inputs"]["root"],
        json!(hex::encode(root))
    );
    let metrics = wire.get("/metrics", &key).await;
    assert!(metrics
        .text
        .contains("prover_requests_total{result=\"busy\"} 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_a_sold_token_stops_proving_within_the_freshness_window() {
    // Audit finding 7: ownership was a registration-time snapshot. W1 registers, proves, then
    // sends its token to W2, which registers; the next publication finds only W2 holding.
    let relayer = relayer_key();
    let issuer = Keypair::new();
    let first = Member::new(Keypair::new());
    let second = Member::new(Keypair::new());
    let (net, rpc) = registry_chain(&relayer, &[issuer.pubkey(), first.wallet.pubkey()]).await;
    let mint = create_mint(&rpc, &issuer, &issuer.pubkey()).await;
    let from = fund_tokens(&rpc, &issuer, &mint, &first.wallet.pubkey(), 1).await;
    // W2's account exists, empty, so that it can receive the token.
    let to = fund_tokens(&rpc, &issuer, &mint, &second.wallet.pubkey(), 0).await;

    // A window of 200 slots (10 s at 50 ms): room for a loaded machine to prove and verify
    // inside it, short enough to wait out.
    const WINDOW: u64 = 200;
    let url = net.rpc_url().to_owned();
    let t = TestApp::with(|c| {
        c.rpc_url = Some(url);
        c.anchor_interval_secs = 3_600;
        c.root_freshness_slots = WINDOW;
    })
    .await;
    let key = TestApp::create_key(&t.state, &[Scope::Registry], 1_000).await;
    let wire = Wire::serve(&t).await;
    let publish = || async {
        let published = wire
            .post(
                "/api/v2/registry/publish",
                &json!({"mint": mint.to_string()}),
                &t.admin,
            )
            .await;
        assert_eq!(published.status, 200, "{}", published.body);
        published.body
    };
    let prove = |member: &Member| {
        json!({
            "secret": hex::encode(member.secret),
            "mint": mint.to_string(),
            "action": "claim-access",
            "recipient": Pubkey::new_unique().to_string(),
        })
    };

    let register = |member: &Member| {
        let body = member.registration(&mint);
        let (wire, key) = (&wire, &key);
        async move {
            let registered = wire.post("/api/v2/registry/register", &body, key).await;
            assert_eq!(registered.status, 201, "{}", registered.body);
        }
    };

    register(&first).await;
    let before = publish().await;
    assert_eq!(before["holders"], json!(1));
    let old_proof = wire.post("/api/v2/prove", &prove(&first), &key).await;
    assert_eq!(old_proof.status, 200, "{}", old_proof.body);

    // W1 sells: the token moves to W2, which registers.
    let transfer = anchor_spl::token::spl_token::instruction::transfer(
        &anchor_spl::token::ID,
        &from,
        &to,
        &first.wallet.pubkey(),
        &[],
        1,
    )
    .unwrap();
    send(&rpc, &first.wallet, &[transfer], &[])
        .await
        .expect("transfer");
    register(&second).await;
    let after = publish().await;
    assert_eq!(
        (&after["leaf_count"], &after["holders"], &after["sent"]),
        (&json!(2), &json!(1), &json!(true))
    );
    assert!(after["snapshot_slot"].as_u64() > before["snapshot_slot"].as_u64());

    // W1 can no longer prove; W2 proves and verifies.
    let refused = wire.post("/api/v2/prove", &prove(&first), &key).await;
    assert_eq!(
        (
            refused.status,
            refused.code(),
            &refused.body["error"]["details"]["leaf_index"]
        ),
        (409, "REGISTRY_NOT_HELD_AT_SNAPSHOT", &json!(0)),
        "{}",
        refused.body
    );
    let new_proof = wire.post("/api/v2/prove", &prove(&second), &key).await;
    assert_eq!(new_proof.status, 200, "{}", new_proof.body);
    let verified = wire
        .post("/api/v2/verify-ownership", &new_proof.body, &key)
        .await;
    assert_eq!(verified.status, 200, "{}", verified.body);

    // W1's old proof, against the root that still had it, is refused once that root's
    // snapshot is outside the window.
    let old_snapshot = before["snapshot_slot"].as_u64().unwrap();
    while rpc.get_slot().await.unwrap() <= old_snapshot + WINDOW + 1 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stale = wire
        .post("/api/v2/verify-ownership", &old_proof.body, &key)
        .await;
    assert_eq!(
        (stale.status, stale.code()),
        (409, "ROOT_TOO_OLD"),
        "{}",
        stale.body
    );
}

/// Forwards every request to the relayer and keeps its method, target and body.
#[derive(Clone)]
struct Capture {
    upstream: String,
    http: reqwest::Client,
    seen: std::sync::Arc<parking_lot::Mutex<Vec<String>>>,
}

async fn capture(
    axum::extract::State(c): axum::extract::State<Capture>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    c.seen.lock().push(format!(
        "{} {} {:?} {}",
        parts.method,
        parts.uri,
        parts.headers,
        String::from_utf8_lossy(&bytes)
    ));
    let mut forwarded = c
        .http
        .request(parts.method, format!("{}{}", c.upstream, parts.uri))
        .body(bytes);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            forwarded = forwarded.header(name, value);
        }
    }
    let answer = forwarded.send().await.unwrap();
    let status = answer.status();
    let mut response =
        axum::response::Response::new(axum::body::Body::from(answer.bytes().await.unwrap()));
    *response.status_mut() = status;
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_a_member_proves_on_its_own_machine_and_the_relayer_never_sees_its_secret() {
    use veil_member::{proof_body, scope, Identity, PublishedLeaves};
    let relayer = relayer_key();
    let issuer = Keypair::new();
    let (alice, other) = (Keypair::new(), Member::new(Keypair::new()));
    let (net, rpc) = registry_chain(&relayer, &[issuer.pubkey()]).await;
    let mint = create_mint(&rpc, &issuer, &issuer.pubkey()).await;
    fund_tokens(&rpc, &issuer, &mint, &alice.pubkey(), 1_000_000).await;
    fund_tokens(&rpc, &issuer, &mint, &other.wallet.pubkey(), 1_000_000).await;
    let url = net.rpc_url().to_owned();
    let t = TestApp::with(|c| {
        c.rpc_url = Some(url);
        c.anchor_interval_secs = 3_600;
    })
    .await;
    let key = TestApp::create_key(&t.state, &[Scope::Registry], 1_000).await;
    let wire = Wire::serve(&t).await;
    // Someone else registered first: alice's leaf is not the first.
    let first = wire
        .post(
            "/api/v2/registry/register",
            &other.registration(&mint),
            &key,
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);

    // Everything alice's machine sends goes through this recorder.
    let seen = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    let proxy = Capture {
        upstream: wire.base.clone(),
        http: reqwest::Client::new(),
        seen: seen.clone(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let through = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            axum::Router::new().fallback(capture).with_state(proxy),
        )
        .await
    });

    // Alice: her wallet signs in (a session) and registers her commitment.
    let identity = Identity::from_wallet(&alice);
    let client = veil_rest_client::Client::builder(&through).build().unwrap();
    client
        .sign_in("solana:localnet", &alice.pubkey().to_string(), |m| {
            alice.sign_message(m.as_bytes()).to_string()
        })
        .await
        .unwrap();
    let registered = client
        .call(
            reqwest::Method::POST,
            "/api/v2/registry/register",
            Some(&identity.registration(&alice, &mint.to_bytes())),
        )
        .await
        .expect("registered");
    assert_eq!(registered.body["leaf_index"], json!(1));
    // Not published yet: the leaves route says so, typed.
    let early = client
        .call(
            reqwest::Method::GET,
            &format!("/api/v2/registry/tracks/{mint}/leaves"),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(early.code(), Some("REGISTRY_TRACK_NOT_FOUND"), "{early}");
    // The publisher (RELAYER_PUBLISH_INTERVAL_SECS) publishes the track with new members,
    // once: its next round finds nothing behind.
    let registry = t.state.registry.clone().expect("a registry with an RPC");
    let sent = registry.publish_behind().await.expect("a publisher round");
    assert_eq!(
        sent.iter()
            .map(|o| (o.track_id, o.published.leaves, o.holders))
            .collect::<Vec<_>>(),
        vec![(veil_zk::track_id_for(&mint.to_bytes()), 2, 2)]
    );
    assert!(registry.publish_behind().await.unwrap().is_empty());
    let published_root = hex::encode(sent[0].published.root);

    // Her machine fetches the leaves (nobody's wallet in them), proves, and submits.
    let leaves = client
        .call(
            reqwest::Method::GET,
            &format!("/api/v2/registry/tracks/{mint}/leaves"),
            None,
        )
        .await
        .unwrap()
        .body;
    assert_eq!(leaves["root"], json!(published_root));
    assert_eq!(leaves["leaves"].as_array().unwrap().len(), 2);
    for wallet in [alice.pubkey(), other.wallet.pubkey()] {
        assert!(!leaves.to_string().contains(&wallet.to_string()));
    }
    let recipient = Pubkey::new_unique();
    let signal = veil_zk::signal_hash(b"claim-access", &recipient.to_bytes());
    let witness = identity
        .witness(
            &mint.to_bytes(),
            &PublishedLeaves::from_json(&leaves).unwrap(),
            &scope(0),
            &signal,
        )
        .expect("her leaf is under the root");
    let depth = usize::from(veil_zk::vk::TREE_DEPTH);
    let prover = std::sync::Arc::new(
        veil_circuits::prover::Prover::new(
            veil_circuits::keys::generate(depth, veil_circuits::keys::DEV_SEED).unwrap(),
            depth,
        )
        .unwrap(),
    );
    let local = prover.clone();
    let (proof, inputs) = tokio::task::spawn_blocking(move || local.prove(&witness).unwrap())
        .await
        .unwrap();
    let verified = client
        .call(
            reqwest::Method::POST,
            "/api/v2/verify-ownership",
            Some(&proof_body(&proof, &inputs)),
        )
        .await
        .expect("the local proof verifies on chain");
    assert_eq!(
        verified.body["nullifier"],
        json!(hex::encode(inputs.nullifier))
    );
    let track_id = veil_zk::track_id_for(&mint.to_bytes());
    rpc.get_account(&ix::nullifier_pda(&track_id, &inputs.nullifier).0)
        .await
        .expect("the nullifier is spent on chain");
    // Someone else's wallet cannot prove with her leaves.
    let stranger = Identity::from_wallet(&Keypair::new());
    assert!(matches!(
        stranger.witness(
            &mint.to_bytes(),
            &PublishedLeaves::from_json(&leaves).unwrap(),
            &scope(0),
            &signal
        ),
        Err(veil_member::MemberError::NotAMember)
    ));

    // The same through her machine's prover server, as the web app calls it: only pages of
    // the allowed origin, only JSON. Its proof is valid; submitting it again meets the spent
    // nullifier, passed on typed.
    let app = "http://127.0.0.1:5173";
    let server_client = veil_rest_client::Client::builder(&through).build().unwrap();
    server_client
        .sign_in("solana:localnet", &alice.pubkey().to_string(), |m| {
            alice.sign_message(m.as_bytes()).to_string()
        })
        .await
        .unwrap();
    let state = std::sync::Arc::new(veil_member::server::ProverState::for_wallet(
        alice.insecure_clone(),
        server_client,
        prover.clone(),
        vec![app.to_owned()],
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local_prover = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, veil_member::server::router(state)).await });
    let http = reqwest::Client::new();
    let ask = json!({"mint": mint.to_string(), "action": "claim-access",
                     "recipient": recipient.to_string()});
    let foreign = http
        .post(format!("{local_prover}/prove"))
        .header("origin", "http://evil.example")
        .json(&ask)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    let form = http
        .post(format!("{local_prover}/prove"))
        .header("origin", app)
        .header("content-type", "text/plain")
        .body(ask.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    let bad = http
        .post(format!("{local_prover}/prove"))
        .header("origin", app)
        .json(&json!({"mint": "nope", "action": "a", "recipient": recipient.to_string()}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(
        bad["error"]["message"], "`mint` must be a base58 address",
        "{bad}"
    );
    let served = http
        .post(format!("{local_prover}/prove"))
        .header("origin", app)
        .json(&ask)
        .send()
        .await
        .unwrap();
    let status = served.status();
    let headers = served.headers().clone();
    let served: Value = served.json().await.unwrap();
    assert_eq!(status, 200, "{served}");
    assert_eq!(
        headers["access-control-allow-origin"], app,
        "CORS for the app's origin"
    );
    assert_eq!(
        served["proof"]["public_inputs"]["nullifier"],
        json!(hex::encode(inputs.nullifier)),
        "one member, one track, one scope: one nullifier"
    );
    let proof_bytes: [u8; 256] = hex::decode(served["proof"]["proof"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    veil_zk::verify(&veil_zk::ProofBytes::from_bytes(&proof_bytes), &inputs)
        .expect("the served proof verifies");
    let mut again = ask.clone();
    again["submit"] = json!(true);
    let spent = http
        .post(format!("{local_prover}/prove"))
        .header("origin", app)
        .json(&again)
        .send()
        .await
        .unwrap();
    assert_eq!(spent.status(), 409);
    let spent: Value = spent.json().await.unwrap();
    assert_eq!(spent["error"]["code"], "NULLIFIER_ALREADY_USED", "{spent}");
    let health: Value = http
        .get(format!("{local_prover}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        health["commitment"],
        json!(hex::encode(identity.commitment()))
    );

    // The prover for page wallets (what veil-stack runs for the web app): the page sends its
    // wallet's identity signature and the leaves it fetched; the server never calls the
    // relayer.
    let pages = std::sync::Arc::new(veil_member::server::ProverState::for_pages(
        prover.clone(),
        vec![app.to_owned()],
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let page_prover = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, veil_member::server::router(pages)).await });
    let page_post = |path: &str, body: Value| {
        http.post(format!("{page_prover}{path}"))
            .header("origin", app)
            .json(&body)
            .send()
    };
    let identity_signature = alice.sign_message(identity::IDENTITY_MESSAGE).to_string();
    let from_page: Value = page_post(
        "/identity",
        json!({"wallet": alice.pubkey().to_string(), "identity_signature": identity_signature}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        from_page["commitment"],
        json!(hex::encode(identity.commitment()))
    );
    let forged = page_post(
        "/identity",
        json!({"wallet": alice.pubkey().to_string(),
               "identity_signature": Keypair::new().sign_message(identity::IDENTITY_MESSAGE).to_string()}),
    )
    .await
    .unwrap();
    assert_eq!(forged.status(), 400);
    let forged: Value = forged.json().await.unwrap();
    assert_eq!(forged["error"]["code"], "IDENTITY_SIGNATURE_INVALID");
    let anonymous = page_post(
        "/prove",
        json!({"mint": mint.to_string(), "action": "claim-access",
        "recipient": recipient.to_string(), "leaves": leaves}),
    )
    .await
    .unwrap();
    assert_eq!(anonymous.status(), 400);
    let anonymous: Value = anonymous.json().await.unwrap();
    assert_eq!(anonymous["error"]["code"], "IDENTITY_REQUIRED");
    let page_proof = page_post(
        "/prove",
        json!({"mint": mint.to_string(), "action": "claim-access",
        "recipient": recipient.to_string(), "leaves": leaves,
        "wallet": alice.pubkey().to_string(), "identity_signature": identity_signature}),
    )
    .await
    .unwrap();
    assert_eq!(page_proof.status(), 200);
    let page_proof: Value = page_proof.json().await.unwrap();
    assert_eq!(
        page_proof["proof"]["public_inputs"]["nullifier"],
        json!(hex::encode(inputs.nullifier)),
        "the page's wallet is the same member"
    );
    // A proof for scope 1 on this once-per-track track: valid, fresh nullifier, refused by the
    // program's scope rule, and answered typed.
    let scoped: Value = page_post(
        "/prove",
        json!({"mint": mint.to_string(), "action": "claim-access",
        "recipient": recipient.to_string(), "leaves": leaves, "scope": 1,
        "wallet": alice.pubkey().to_string(), "identity_signature": identity_signature}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let refused = client
        .call(
            reqwest::Method::POST,
            "/api/v2/verify-ownership",
            Some(&scoped["proof"]),
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("SCOPE_MISMATCH"), "{refused}");

    // What the relayer received from her machine: never the secret, nor the signature it is
    // derived from, in any form; and never a call to the custodial prover.
    let signature = alice.sign_message(identity::IDENTITY_MESSAGE);
    let forbidden = [
        identity.secret_hex(),
        signature.to_string(),
        hex::encode(signature.as_ref()),
    ];
    let seen = seen.lock();
    assert!(seen.len() >= 6, "{seen:?}");
    for request in seen.iter() {
        for secret in &forbidden {
            assert!(!request.contains(secret.as_str()), "leaked in {request}");
        }
        assert!(!request.contains("/api/v2/prove"), "{request}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_verify_ownership_is_a_typed_503_while_the_chain_is_down_then_verifies_once() {
    // Issue 18: the chain taken away under verify-ownership. While its RPC answers nothing
    // useful, the relayer answers a typed 503 within its own timeouts (never a 500, never a
    // hang) and spends nothing; when it is back, the same proof verifies, once.
    use super::{start_proxy, Mode};

    let relayer = relayer_key();
    let issuer = Keypair::new();
    let holder = Member::new(Keypair::new());
    let (net, rpc) = registry_chain(&relayer, &[issuer.pubkey()]).await;
    let mint = create_mint(&rpc, &issuer, &issuer.pubkey()).await;
    fund_tokens(&rpc, &issuer, &mint, &holder.wallet.pubkey(), 1_000_000).await;
    let (proxy_url, proxy) = start_proxy(net.rpc_url()).await;
    let t = TestApp::with(|c| {
        c.rpc_url = Some(proxy_url);
        c.anchor_interval_secs = 3_600;
    })
    .await;
    let key = TestApp::create_key(&t.state, &[Scope::Registry], 1_000).await;
    let wire = Wire::serve(&t).await;
    let registered = wire
        .post(
            "/api/v2/registry/register",
            &holder.registration(&mint),
            &key,
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    let published = wire
        .post(
            "/api/v2/registry/publish",
            &json!({"mint": mint.to_string()}),
            &t.admin,
        )
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    let proved = wire
        .post(
            "/api/v2/prove",
            &json!({
                "secret": hex::encode(holder.secret),
                "mint": mint.to_string(),
                "action": "claim-access",
                "recipient": Pubkey::new_unique().to_string(),
            }),
            &key,
        )
        .await;
    assert_eq!(proved.status, 200, "{}", proved.body);
    let nullifier: [u8; 32] =
        hex::decode(proved.body["public_inputs"]["nullifier"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
    let track_id = veil_zk::track_id_for(&mint.to_bytes());

    // The chain is down.
    proxy.set(Mode::Down);
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let refused = wire
            .post("/api/v2/verify-ownership", &proved.body, &key)
            .await;
        assert_eq!(
            (refused.status, refused.code()),
            (503, "CHAIN_UNAVAILABLE"),
            "{}",
            refused.body
        );
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "answered after {:?}",
            started.elapsed()
        );
    }
    assert!(rpc
        .get_account(&ix::nullifier_pda(&track_id, &nullifier).0)
        .await
        .is_err());

    // Back: the same proof verifies, once.
    proxy.set(Mode::Pass);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let verified = loop {
        let answer = wire
            .post("/api/v2/verify-ownership", &proved.body, &key)
            .await;
        if answer.status == 200 || std::time::Instant::now() > deadline {
            break answer;
        }
        // The breaker may still be open for a moment: a typed 503 until it lets a probe
        // through.
        assert_eq!(
            (answer.status, answer.code()),
            (503, "CHAIN_UNAVAILABLE"),
            "{}",
            answer.body
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(verified.status, 200, "{}", verified.body);
    let replay = wire
        .post("/api/v2/verify-ownership", &proved.body, &key)
        .await;
    assert_eq!(
        (replay.status, replay.code()),
        (409, "NULLIFIER_ALREADY_USED")
    );
    let sent: Vec<Vec<String>> = sqlx::query_scalar(
        "SELECT signatures FROM chain_submissions WHERE key LIKE 'verify_ownership:%'",
    )
    .fetch_all(&t.db.pool)
    .await
    .unwrap();
    assert_eq!(
        sent,
        vec![vec![verified.body["signature"]
            .as_str()
            .unwrap()
            .to_owned()]]
    );
}
