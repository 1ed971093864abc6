//! Proof of funds on the local chain: a wallet signs in with Sign-In With Solana, then the
//! relayer reads its SOL and SPL balances over JSON-RPC and answers PASSED or FAILED against
//! thresholds; neither the answer nor the stored attestation holds the balance.

use std::time::Duration;

use solana_keypair::Keypair;
use solana_signer::Signer;
use veil_localnet::{Localnet, LocalnetConfig};
use veil_relayer::platform::auth::{CreatedKey, Scope};

use super::{
    wire::{create_mint, fund_tokens},
    SOL,
};
use crate::relayer::support::{code, funds_check as check, gatekeeper_sign_in, TestApp};

async fn sign_in(t: &TestApp, key: &CreatedKey, wallet: &Keypair) -> String {
    let address = wallet.pubkey().to_string();
    gatekeeper_sign_in(t, key, "solana:localnet", &address, |message| {
        wallet.sign_message(message.as_bytes()).to_string()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_funds_pass_and_fail_for_sol_and_an_spl_token_without_revealing_the_balance() {
    let issuer = Keypair::new();
    let holder = Keypair::new();
    let empty = Keypair::new();
    let net = Localnet::start(LocalnetConfig {
        slot_time: Duration::from_millis(50),
        airdrop: vec![issuer.pubkey(), holder.pubkey()],
        airdrop_lamports: 10 * SOL,
        ..LocalnetConfig::default()
    })
    .expect("localnet starts");
    let rpc = solana_rpc_client::nonblocking::rpc_client::RpcClient::new_with_commitment(
        net.rpc_url().to_owned(),
        solana_commitment_config::CommitmentConfig::confirmed(),
    );
    // 2.5 tokens of a 6-decimal mint.
    const HELD: u64 = 2_500_000;
    let mint = create_mint(&rpc, &issuer, &issuer.pubkey()).await;
    fund_tokens(&rpc, &issuer, &mint, &holder.pubkey(), HELD).await;

    let url = net.rpc_url().to_owned();
    let t = TestApp::with(|c| {
        c.rpc_url = Some(url);
        c.anchor_interval_secs = 3_600;
    })
    .await;
    let key = TestApp::create_key(&t.state, &[Scope::Challenges], 1_000).await;
    let holder_id = sign_in(&t, &key, &holder).await;
    let empty_id = sign_in(&t, &key, &empty).await;
    let mint = mint.to_string();

    let mut bodies = Vec::new();
    for (id, asset, threshold, expected) in [
        (&holder_id, "native", "5", "PASSED"),
        (&holder_id, "native", "10.000000001", "FAILED"),
        (&holder_id, mint.as_str(), "2.5", "PASSED"),
        (&holder_id, mint.as_str(), "2.500001", "FAILED"),
        (&empty_id, mint.as_str(), "0.000001", "FAILED"),
        (&empty_id, "native", "0.000000001", "FAILED"),
    ] {
        let (status, body) = check(&t, &key, id, asset, threshold).await;
        assert_eq!(status, 200, "{asset} {threshold}: {body}");
        assert_eq!(body["result"], expected, "{asset} ≥ {threshold}: {body}");
        assert_eq!(body["threshold"], threshold);
        assert!(body["read_at"].as_u64().unwrap() > 0);
        bodies.push(body.to_string());
    }

    // Neither an answer nor a stored row holds a balance, in decimal or in hex.
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT row_to_json(a)::text FROM gatekeeper_funds_attestations a")
            .fetch_all(&t.db.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 6);
    let lamports = rpc.get_balance(&holder.pubkey()).await.unwrap();
    for balance in [HELD, lamports] {
        for needle in [
            balance.to_string(),
            format!("{balance:x}"),
            format!("{balance:X}"),
        ] {
            for text in bodies.iter().chain(rows.iter()) {
                assert!(!text.contains(&needle), "{needle} appears in {text}");
            }
        }
    }
    // Each row commits to its balance with its own salt.
    let distinct: i64 =
        sqlx::query_scalar("SELECT count(DISTINCT salt) FROM gatekeeper_funds_attestations")
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
    assert_eq!(distinct, 6);

    // Typed refusals.
    for (asset, threshold, status, expected) in [
        ("not-a-mint", "1", 400, "GATEKEEPER_ASSET_INVALID"),
        // A wallet (owned by the System Program) is not a mint.
        (
            &holder.pubkey().to_string() as &str,
            "1",
            400,
            "GATEKEEPER_ASSET_INVALID",
        ),
        (mint.as_str(), "1.0000001", 400, "GATEKEEPER_AMOUNT_INVALID"),
        ("native", "-1", 400, "GATEKEEPER_AMOUNT_INVALID"),
        ("native", "1e9", 400, "GATEKEEPER_AMOUNT_INVALID"),
    ] {
        let (got, body) = check(&t, &key, &holder_id, asset, threshold).await;
        assert_eq!(
            (got, code(&body)),
            (status, expected),
            "{asset} {threshold}: {body}"
        );
    }
    let (got, body) = check(
        &t,
        &key,
        "00000000-0000-4000-8000-000000000000",
        "native",
        "1",
    )
    .await;
    assert_eq!(
        (got, code(&body)),
        (404, "GATEKEEPER_VERIFICATION_NOT_FOUND")
    );

    // An EVM wallet's network has no RPC here yet.
    let evm = k256::ecdsa::SigningKey::from_slice(&[5u8; 32]).unwrap();
    let address = veil_relayer::gatekeeper::evm::Address::of(evm.verifying_key()).checksummed();
    let evm_id = gatekeeper_sign_in(&t, &key, "eip155:31337", &address, |message| {
        veil_relayer::gatekeeper::evm::sign(&evm, message.as_bytes())
    })
    .await;
    let (got, body) = check(&t, &key, &evm_id, "native", "1").await;
    assert_eq!(
        (got, code(&body)),
        (400, "GATEKEEPER_NETWORK_NOT_CONFIGURED"),
        "{body}"
    );
    assert_eq!(body["error"]["details"]["chain_id"], "eip155:31337");
}
