//! Sessions for people: a wallet signs in without an API key and gets a session that may mint
//! and verify IDs (no request signature: a page cannot keep a secret), and nothing else. A used
//! sign-in message, a message issued for a dApp's wallet check, a used refresh token, an
//! expired or signed-out session: each refused with its code.

use axum::http::Method;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use veil_relayer::platform::auth::Scope;

use super::support::{code, keyless as call, session_sign_in, TestApp};

fn wallet(seed: u8) -> (SigningKey, String) {
    let wallet = SigningKey::from_bytes(&[seed; 32]);
    let address = bs58::encode(wallet.verifying_key().to_bytes()).into_string();
    (wallet, address)
}

fn sign(wallet: &SigningKey, message: &str) -> String {
    bs58::encode(wallet.sign(message.as_bytes()).to_bytes()).into_string()
}

async fn sign_in(t: &TestApp, wallet: &SigningKey, address: &str) -> (Value, String) {
    session_sign_in(t, "solana:localnet", address, |m| sign(wallet, m)).await
}

/// A keyless mint (a fresh content hash) with `token` as the bearer, if any.
async fn mint_as(t: &TestApp, token: Option<&str>) -> (u16, Value) {
    call(
        t,
        Method::POST,
        "/api/v2/chittyid/mint",
        Some(mint_body()),
        token,
    )
    .await
}

fn mint_body() -> Value {
    json!({ "namespace": "CHI", "entity_type": "P",
            "content_hash": crate::relayer::support::fresh_nonce().repeat(2) })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallet_signs_in_and_its_session_mints_and_verifies_and_nothing_else() {
    let t = TestApp::new().await;
    let (w, address) = wallet(21);
    let (session, message) = sign_in(&t, &w, &address).await;
    let token = session["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("vs_"));
    assert!(session["refresh_token"]
        .as_str()
        .unwrap()
        .starts_with("vr_"));
    assert_eq!(session["address"], address.as_str());
    assert_eq!(session["chain_id"], "solana:localnet");

    // The same signed message again: the nonce is used.
    let (status, replay) = call(
        &t,
        Method::POST,
        "/api/v2/auth/session",
        Some(json!({ "message": message, "signature": sign(&w, &message) })),
        None,
    )
    .await;
    assert_eq!((status, code(&replay)), (409, "GATEKEEPER_NONCE_USED"));

    // Only hashes are stored.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_sha256 FROM auth_sessions")
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, Sha256::digest(token.as_bytes()).to_vec());
    let dump: String = sqlx::query_scalar("SELECT row_to_json(s)::text FROM auth_sessions s")
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
    assert!(!dump.contains(&token[3..]), "{dump}");

    // The session mints without a signature, and the row names the wallet.
    let (status, minted) = mint_as(&t, Some(&token)).await;
    assert_eq!(status, 201, "{minted}");
    let id = minted["id"].as_str().unwrap();
    let requester: Option<String> =
        sqlx::query_scalar("SELECT api_key_id FROM chittyids WHERE id = $1")
            .bind(id)
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
    assert_eq!(
        requester.as_deref(),
        Some(format!("wallet:solana:localnet:{address}").as_str())
    );
    let (status, verified) = call(
        &t,
        Method::GET,
        &format!("/api/v2/chittyid/verify/{id}"),
        None,
        Some(&token),
    )
    .await;
    assert_eq!(status, 200, "{verified}");

    // Operator routes stay behind API keys: a session token is no key there.
    for (method, path) in [
        (Method::GET, "/api/v2/webhooks/endpoints"),
        (Method::GET, "/admin/keys"),
        (Method::GET, "/api/v2/chittyid/CT-A-CHI-1234-I-24-A-0"),
    ] {
        let (status, body) = call(&t, method, path, None, Some(&token)).await;
        assert_eq!(
            (status, code(&body)),
            (401, "AUTH_INVALID_API_KEY"),
            "{path}"
        );
    }
    // Without any credential, the mint asks for one.
    let (status, body) = mint_as(&t, None).await;
    assert_eq!((status, code(&body)), (401, "AUTH_MISSING_API_KEY"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_signed_for_a_dapps_wallet_check_is_no_sign_in() {
    let t = TestApp::new().await;
    let key = TestApp::create_key(&t.state, &[Scope::Challenges], 1_000).await;
    let (w, address) = wallet(22);
    let (status, issued) = t
        .post(
            "/gatekeeper/v2/wallet/challenge",
            &json!({ "chain_id": "solana:localnet", "address": address }),
            &key,
        )
        .await;
    assert_eq!(status.as_u16(), 201);
    let message = issued["message"].as_str().unwrap();
    let signature = sign(&w, message);
    let (status, refused) = call(
        &t,
        Method::POST,
        "/api/v2/auth/session",
        Some(json!({ "message": message, "signature": signature })),
        None,
    )
    .await;
    assert_eq!((status, code(&refused)), (400, "GATEKEEPER_NONCE_UNKNOWN"));
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM auth_sessions")
            .fetch_one(&t.db.pool)
            .await
            .unwrap(),
        0
    );
    // The dApp's check still works: the refusal did not use its nonce.
    let (status, verified) = t
        .post(
            "/gatekeeper/v2/wallet/verify",
            &json!({ "message": message, "signature": signature }),
            &key,
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{verified}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_works_once_sign_out_and_expiry_end_a_session() {
    let t = TestApp::new().await;
    let (w, address) = wallet(23);
    let (session, _) = sign_in(&t, &w, &address).await;
    let (old_token, old_refresh) = (
        session["token"].as_str().unwrap().to_owned(),
        session["refresh_token"].as_str().unwrap().to_owned(),
    );
    let (status, renewed) = call(
        &t,
        Method::POST,
        "/api/v2/auth/refresh",
        Some(json!({ "refresh_token": old_refresh })),
        None,
    )
    .await;
    assert_eq!(status, 200, "{renewed}");
    let token = renewed["token"].as_str().unwrap().to_owned();
    assert_ne!(token, old_token);
    // The old token and the used refresh token are dead.
    let (status, body) = mint_as(&t, Some(&old_token)).await;
    assert_eq!((status, code(&body)), (401, "AUTH_SESSION_INVALID"));
    let (status, body) = call(
        &t,
        Method::POST,
        "/api/v2/auth/refresh",
        Some(json!({ "refresh_token": old_refresh })),
        None,
    )
    .await;
    assert_eq!((status, code(&body)), (401, "AUTH_SESSION_INVALID"));
    // The new one works until signing out.
    let (status, _) = mint_as(&t, Some(&token)).await;
    assert_eq!(status, 201);
    let (status, _) = call(
        &t,
        Method::DELETE,
        "/api/v2/auth/session",
        None,
        Some(&token),
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = mint_as(&t, Some(&token)).await;
    assert_eq!((status, code(&body)), (401, "AUTH_SESSION_INVALID"));
    let (status, body) = call(
        &t,
        Method::DELETE,
        "/api/v2/auth/session",
        None,
        Some(&token),
    )
    .await;
    assert_eq!((status, code(&body)), (401, "AUTH_SESSION_INVALID"));
    let (status, body) = call(
        &t,
        Method::POST,
        "/api/v2/auth/refresh",
        Some(json!({ "refresh_token": renewed["refresh_token"] })),
        None,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (401, "AUTH_SESSION_INVALID"),
        "signed out is out"
    );

    // Another session, expired on the database's clock.
    let (session, _) = sign_in(&t, &w, &address).await;
    let token = session["token"].as_str().unwrap();
    sqlx::query("UPDATE auth_sessions SET expires_at = now() - interval '1 second' WHERE revoked_at IS NULL")
        .execute(&t.db.pool)
        .await
        .unwrap();
    let (status, body) = mint_as(&t, Some(token)).await;
    assert_eq!((status, code(&body)), (401, "AUTH_SESSION_INVALID"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_registers_only_its_own_wallet() {
    let t = TestApp::new().await;
    let (w, address) = wallet(24);
    let (session, _) = sign_in(&t, &w, &address).await;
    let token = session["token"].as_str().unwrap();
    let (_, other) = wallet(25);
    let body = |wallet: &str| {
        json!({ "wallet": wallet, "mint": "So11111111111111111111111111111111111111112",
                "commitment": "00".repeat(32), "signature": "1".repeat(64) })
    };
    let (status, refused) = call(
        &t,
        Method::POST,
        "/api/v2/registry/register",
        Some(body(&other)),
        Some(token),
    )
    .await;
    assert_eq!(
        (status, code(&refused)),
        (403, "AUTH_SESSION_WALLET_MISMATCH"),
        "{refused}"
    );
    assert_eq!(
        refused["error"]["details"]["session_wallet"],
        format!("solana:localnet:{address}").as_str()
    );
    // Its own wallet passes the session's check and reaches the registry (this relayer has
    // no chain configured, so that is where it stops).
    let (status, answer) = call(
        &t,
        Method::POST,
        "/api/v2/registry/register",
        Some(body(&address)),
        Some(token),
    )
    .await;
    assert_eq!(
        (status, code(&answer)),
        (501, "CHAIN_NOT_CONFIGURED"),
        "{answer}"
    );
    // Proving on the relayer (which would see the member's secret) stays behind keys.
    let (status, body) = call(
        &t,
        Method::POST,
        "/api/v2/prove",
        Some(json!({})),
        Some(token),
    )
    .await;
    assert_eq!((status, code(&body)), (401, "AUTH_INVALID_API_KEY"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_requests_count_against_their_client_address_and_key_requests_do_not() {
    let t = TestApp::with(|c| {
        c.public_per_ip_per_sec = 1;
        c.public_per_ip_burst = 4;
    })
    .await;
    let (w, address) = wallet(26);
    // Signing in takes two of the address's four (challenge, session).
    let (session, _) = sign_in(&t, &w, &address).await;
    let token = session["token"].as_str().unwrap();
    for _ in 0..2 {
        let (status, body) = mint_as(&t, Some(token)).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = mint_as(&t, Some(token)).await;
    assert_eq!((status, code(&body)), (429, "RATE_LIMITED"), "{body}");
    // A server's signed request from the same address is under its key's quota only.
    let (status, body) = t.mint(&"ef".repeat(32), "0a").await;
    assert_eq!(status.as_u16(), 201, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_creates_and_accepts_challenges_as_its_own_wallet_only() {
    let t = TestApp::with(|c| c.ff_challenges = veil_relayer::platform::flags::Rollout::On).await;
    let (w, address) = wallet(27);
    let (session, _) = sign_in(&t, &w, &address).await;
    let token = session["token"].as_str().unwrap();
    let (_, other) = wallet(28);
    let create = |creator: &str| json!({ "creator": creator, "mode": "solo", "terms": "a bet" });
    let (status, refused) = call(
        &t,
        Method::POST,
        "/api/v2/challenges",
        Some(create(&other)),
        Some(token),
    )
    .await;
    assert_eq!(
        (status, code(&refused)),
        (403, "AUTH_SESSION_WALLET_MISMATCH"),
        "{refused}"
    );
    let challenge = bs58::encode([9u8; 32]).into_string();
    let (status, refused) = call(
        &t,
        Method::POST,
        &format!("/api/v2/challenges/{challenge}/accept"),
        Some(json!({ "counterparty": other })),
        Some(token),
    )
    .await;
    assert_eq!(
        (status, code(&refused)),
        (403, "AUTH_SESSION_WALLET_MISMATCH"),
        "{refused}"
    );
    // As itself, both pass the session's check and reach the chain (none here).
    let (status, body) = call(
        &t,
        Method::POST,
        "/api/v2/challenges",
        Some(create(&address)),
        Some(token),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (501, "CHAIN_NOT_CONFIGURED"),
        "{body}"
    );
    let (status, body) = call(
        &t,
        Method::POST,
        &format!("/api/v2/challenges/{challenge}/accept"),
        Some(json!({ "counterparty": address })),
        Some(token),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (501, "CHAIN_NOT_CONFIGURED"),
        "{body}"
    );
    // A party's own steps pass the session's check and reach the chain (none here; the
    // wallet is checked against the challenge's party there: the localnet test).
    for (path, body) in [
        ("deposit", json!({"party": "creator"})),
        ("lock", json!({"party": "creator"})),
        ("confirm", json!({"party": "creator", "outcome": "draw"})),
        ("resolve", json!({"outcome": "draw"})),
        ("attest", json!({"party": "creator"})),
    ] {
        let (status, body) = call(
            &t,
            Method::POST,
            &format!("/api/v2/challenges/{challenge}/{path}"),
            Some(body),
            Some(token),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (501, "CHAIN_NOT_CONFIGURED"),
            "{path}: {body}"
        );
    }
    // The relayer's own steps, which it pays for, stay behind keys.
    for path in ["settle", "expire"] {
        let (status, body) = call(
            &t,
            Method::POST,
            &format!("/api/v2/challenges/{challenge}/{path}"),
            Some(json!({})),
            Some(token),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (401, "AUTH_INVALID_API_KEY"),
            "{path}: {body}"
        );
    }
}
