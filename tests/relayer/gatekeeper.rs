//! The gatekeeper's wallet sign-in over the real relayer, PostgreSQL and Redis: Solana wallets
//! sign with ed25519-dalek, EVM wallets with a k256 signer making EIP-191 signatures, and two
//! EVM signatures are fixed vectors made by ethers (`tests/data/gatekeeper/README.md` has the
//! command). Every refusal is asserted with its code and status.

use axum::http::StatusCode;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};
use sqlx::Row;
use veil_relayer::{
    gatekeeper::evm,
    platform::{
        auth::{CreatedKey, Scope},
        flags::Rollout,
    },
};

use super::support::{code, TestApp};

async fn key(t: &TestApp) -> CreatedKey {
    TestApp::create_key(&t.state, &[Scope::Challenges], 100_000).await
}

async fn challenge(
    t: &TestApp,
    key: &CreatedKey,
    chain_id: &str,
    address: &str,
) -> (StatusCode, Value) {
    t.post(
        "/gatekeeper/v2/wallet/challenge",
        &json!({ "chain_id": chain_id, "address": address }),
        key,
    )
    .await
}

async fn verify(
    t: &TestApp,
    key: &CreatedKey,
    message: &str,
    signature: &str,
) -> (StatusCode, Value) {
    t.post(
        "/gatekeeper/v2/wallet/verify",
        &json!({ "message": message, "signature": signature }),
        key,
    )
    .await
}

fn solana_wallet(seed: u8) -> (SigningKey, String) {
    let wallet = SigningKey::from_bytes(&[seed; 32]);
    let address = bs58::encode(wallet.verifying_key().to_bytes()).into_string();
    (wallet, address)
}

fn solana_sign(wallet: &SigningKey, message: &str) -> String {
    bs58::encode(wallet.sign(message.as_bytes()).to_bytes()).into_string()
}

fn evm_wallet(seed: u8) -> (k256::ecdsa::SigningKey, String) {
    let wallet = k256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
    let address = evm::Address::of(wallet.verifying_key()).checksummed();
    (wallet, address)
}

fn assert_refused(reply: &(StatusCode, Value), status: u16, expected: &str) {
    assert_eq!(
        (reply.0.as_u16(), code(&reply.1)),
        (status, expected),
        "{}",
        reply.1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_solana_wallet_signs_in_once_with_the_exact_message() {
    let t = TestApp::new().await;
    let key = key(&t).await;
    let (wallet, address) = solana_wallet(11);
    let (status, issued) = challenge(&t, &key, "solana:localnet", &address).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let message = issued["message"].as_str().unwrap();
    let nonce = issued["nonce"].as_str().unwrap();
    assert_eq!(nonce.len(), 32, "128 random bits in hex");
    assert!(message.starts_with(&format!(
        "localhost:8080 wants you to sign in with your Solana account:\n{address}\n\n"
    )));
    assert!(
        message.contains(&format!("\nChain ID: localnet\nNonce: {nonce}\n")),
        "{message}"
    );

    // Another key's signature, then a mangled one: refused, and the nonce stays usable.
    let (other, _) = solana_wallet(12);
    assert_refused(
        &verify(&t, &key, message, &solana_sign(&other, message)).await,
        401,
        "GATEKEEPER_WRONG_SIGNER",
    );
    assert_refused(
        &verify(&t, &key, message, "not-base58-0OIl").await,
        400,
        "GATEKEEPER_SIGNATURE_MALFORMED",
    );

    let (status, verified) = verify(&t, &key, message, &solana_sign(&wallet, message)).await;
    assert_eq!(status, StatusCode::CREATED, "{verified}");
    assert_eq!(verified["address"], address.as_str());
    assert_eq!(verified["chain_id"], "solana:localnet");
    let id = verified["verification_id"].as_str().unwrap();
    let row = sqlx::query(
        "SELECT address, chain_id, nonce FROM gatekeeper_wallet_verifications WHERE id = $1::uuid",
    )
    .bind(id)
    .fetch_one(&t.db.pool)
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>("address"), address);
    assert_eq!(row.get::<String, _>("nonce"), nonce);
    let (status, fetched) = t
        .get(&format!("/gatekeeper/v2/wallet/verifications/{id}"), &key)
        .await;
    assert_eq!(
        (status, &fetched["address"]),
        (StatusCode::OK, &json!(address))
    );

    // Single use.
    assert_refused(
        &verify(&t, &key, message, &solana_sign(&wallet, message)).await,
        409,
        "GATEKEEPER_NONCE_USED",
    );
    assert_refused(
        &t.get(
            "/gatekeeper/v2/wallet/verifications/00000000-0000-4000-8000-000000000000",
            &key,
        )
        .await,
        404,
        "GATEKEEPER_VERIFICATION_NOT_FOUND",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evm_wallet_signs_in_with_personal_sign_and_its_address_in_any_case() {
    let t = TestApp::new().await;
    let key = key(&t).await;
    let (wallet, address) = evm_wallet(21);
    // Lowercase in, EIP-55 out.
    let (status, issued) = challenge(&t, &key, "eip155:31337", &address.to_lowercase()).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    assert_eq!(issued["address"], address.as_str());
    let message = issued["message"].as_str().unwrap();
    assert!(message.starts_with(&format!(
        "localhost:8080 wants you to sign in with your Ethereum account:\n{address}\n\n"
    )));
    assert!(message.contains("\nChain ID: 31337\n"));
    let (other, _) = evm_wallet(22);
    assert_refused(
        &verify(&t, &key, message, &evm::sign(&other, message.as_bytes())).await,
        401,
        "GATEKEEPER_WRONG_SIGNER",
    );
    for bad in ["0x1234", "zz", &format!("0x{}", "ff".repeat(65))] {
        assert_refused(
            &verify(&t, &key, message, bad).await,
            400,
            "GATEKEEPER_SIGNATURE_MALFORMED",
        );
    }
    let (status, verified) =
        verify(&t, &key, message, &evm::sign(&wallet, message.as_bytes())).await;
    assert_eq!(status, StatusCode::CREATED, "{verified}");
    assert_eq!(
        (verified["address"].as_str(), verified["chain_id"].as_str()),
        (Some(address.as_str()), Some("eip155:31337"))
    );
    // A mixed-case address that is not its checksum is refused at the challenge.
    let flipped: String = address
        .chars()
        .map(|c| {
            if c.is_ascii_uppercase() {
                c.to_ascii_lowercase()
            } else if c.is_ascii_lowercase() && c != 'x' {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    assert_refused(
        &challenge(&t, &key, "eip155:31337", &flipped).await,
        400,
        "INVALID_BODY",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_made_by_ethers_verify() {
    // Fixed vectors: tests/data/gatekeeper/ethers-vectors.json, made by ethers 6.13.4's
    // `Wallet.signMessage` with the command in tests/data/gatekeeper/README.md.
    let vectors: Value =
        serde_json::from_str(include_str!("../data/gatekeeper/ethers-vectors.json")).unwrap();
    let vectors = vectors["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 2);
    for v in vectors {
        let message = v["message"].as_str().unwrap();
        let signer = evm::recover(message.as_bytes(), v["signature"].as_str().unwrap()).unwrap();
        assert_eq!(
            signer.checksummed(),
            v["address"].as_str().unwrap(),
            "{message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_broken_sign_in_gets_its_own_code() {
    let t = TestApp::new().await;
    let key = key(&t).await;
    let (wallet, address) = solana_wallet(31);
    let (_, issued) = challenge(&t, &key, "solana:localnet", &address).await;
    let message = issued["message"].as_str().unwrap().to_owned();
    let sign = |text: &str| solana_sign(&wallet, text);

    // Not a sign-in message at all.
    let reply = verify(&t, &key, "hello", &sign("hello")).await;
    assert_refused(&reply, 400, "GATEKEEPER_MESSAGE_MALFORMED");
    // A nonce nobody issued.
    let unknown = message.replace(issued["nonce"].as_str().unwrap(), &"0".repeat(32));
    assert_refused(
        &verify(&t, &key, &unknown, &sign(&unknown)).await,
        400,
        "GATEKEEPER_NONCE_UNKNOWN",
    );
    // Another domain.
    let elsewhere = message.replacen("localhost:8080", "evil.example", 1);
    let reply = verify(&t, &key, &elsewhere, &sign(&elsewhere)).await;
    assert_refused(&reply, 400, "GATEKEEPER_DOMAIN_MISMATCH");
    assert_eq!(reply.1["error"]["details"]["found"], "evil.example");
    // Another chain.
    let devnet = message.replace("Chain ID: localnet", "Chain ID: devnet");
    let reply = verify(&t, &key, &devnet, &sign(&devnet)).await;
    assert_refused(&reply, 400, "GATEKEEPER_CHAIN_MISMATCH");
    assert_eq!(reply.1["error"]["details"]["expected"], "solana:localnet");
    // One byte different, signed correctly.
    let edited = message.replace("moves no funds", "moves no fundz");
    let reply = verify(&t, &key, &edited, &sign(&edited)).await;
    assert_refused(&reply, 400, "GATEKEEPER_MESSAGE_MISMATCH");
    let at = reply.1["error"]["details"]["first_difference"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(&message[at..at + 1], "s");
    // A chain this relayer does not accept, and a malformed one.
    for chain in ["eip155:56", "bitcoin:main"] {
        let reply = challenge(&t, &key, chain, &address).await;
        assert_refused(&reply, 400, "GATEKEEPER_CHAIN_NOT_SUPPORTED");
        assert!(reply.1["error"]["details"]["supported"]
            .as_array()
            .unwrap()
            .contains(&json!("solana:localnet")));
    }
    assert_refused(
        &challenge(&t, &key, "solana:localnet", "0xabc").await,
        400,
        "INVALID_BODY",
    );
    // Expired: five minutes and one second later.
    t.clock.advance(301);
    let reply = verify(&t, &key, &message, &sign(&message)).await;
    assert_refused(&reply, 410, "GATEKEEPER_NONCE_EXPIRED");
    // None of the refusals used the nonce.
    let used: Option<i64> =
        sqlx::query_scalar("SELECT used_at_unix FROM gatekeeper_nonces WHERE nonce = $1")
            .bind(issued["nonce"].as_str().unwrap())
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
    assert_eq!(used, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gatekeeper_is_behind_its_flag() {
    let t = TestApp::with(|c| c.ff_gatekeeper_v2 = Rollout::Off).await;
    let key = key(&t).await;
    let (_, address) = solana_wallet(41);
    let reply = challenge(&t, &key, "solana:localnet", &address).await;
    assert_refused(&reply, 503, "FEATURE_DISABLED");
    assert_eq!(reply.1["error"]["details"]["flag"], "FF_GATEKEEPER_V2");
}
