//! Proof of funds on a real EVM node: ETH and an ERC-20 pass and fail against thresholds
//! without the balance ever appearing in an answer or a stored row; a token that is not an
//! ERC-20 is refused; the node going down answers 503 with its breaker open, and coming back
//! closes it.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use veil_relayer::{
    gatekeeper::evm,
    platform::auth::{CreatedKey, Scope},
};

use super::{EvmNode, RICH_KEY};
use crate::relayer::support::{code, funds_check as check, gatekeeper_sign_in, TestApp};

async fn sign_in(t: &TestApp, key: &CreatedKey, wallet: &k256::ecdsa::SigningKey) -> String {
    let address = evm::Address::of(wallet.verifying_key()).checksummed();
    gatekeeper_sign_in(t, key, "eip155:31337", &address, |message| {
        evm::sign(wallet, message.as_bytes())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evm_funds_pass_and_fail_for_eth_and_an_erc20_and_survive_the_node_going_away() {
    let mut node = EvmNode::start().await.expect("the EVM node starts");
    let rich = k256::ecdsa::SigningKey::from_slice(&hex::decode(RICH_KEY).unwrap()).unwrap();
    let rich_address = evm::Address::of(rich.verifying_key()).checksummed();
    let empty = k256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
    // 2.5 tokens of 18 decimals, all held by the rich wallet.
    const SUPPLY: u128 = 2_500_000_000_000_000_000;
    let token = node
        .deploy_erc20("Veil USD", "VUSD", SUPPLY, &rich_address)
        .await
        .expect("the ERC-20 deploys");

    let url = node.url();
    let t = TestApp::with(|c| {
        c.evm_rpc = vec![format!("eip155:31337={url}")];
        c.breaker_failures = 2;
        c.breaker_open_secs = 1;
    })
    .await;
    let key = TestApp::create_key(&t.state, &[Scope::Challenges], 1_000).await;
    let rich_id = sign_in(&t, &key, &rich).await;
    let empty_id = sign_in(&t, &key, &empty).await;

    let mut bodies = Vec::new();
    for (id, asset, threshold, expected) in [
        (&rich_id, "native", "9999", "PASSED"),
        (&rich_id, "native", "10000.000000000000000001", "FAILED"),
        (&rich_id, token.as_str(), "2.5", "PASSED"),
        (&rich_id, token.as_str(), "2.500000000000000001", "FAILED"),
        (&empty_id, token.as_str(), "0.000000000000000001", "FAILED"),
        (&empty_id, "native", "0.000000000000000001", "FAILED"),
    ] {
        let (status, body) = check(&t, &key, id, asset, threshold).await;
        assert_eq!(status, 200, "{asset} {threshold}: {body}");
        assert_eq!(body["result"], expected, "{asset} ≥ {threshold}: {body}");
        assert_eq!(body["chain_id"], "eip155:31337");
        bodies.push(body.to_string());
    }
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT row_to_json(a)::text FROM gatekeeper_funds_attestations a")
            .fetch_all(&t.db.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 6);
    let wei = node
        .rpc("eth_getBalance", json!([rich_address, "latest"]))
        .await
        .unwrap();
    let wei = u128::from_str_radix(wei.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    for balance in [SUPPLY, wei] {
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

    // Not an ERC-20: an account without code, and a malformed address.
    let plain = evm::Address::of(empty.verifying_key()).checksummed();
    for asset in [plain.as_str(), "0x1234"] {
        let (status, body) = check(&t, &key, &rich_id, asset, "1").await;
        assert_eq!(
            (status, code(&body)),
            (400, "GATEKEEPER_ASSET_INVALID"),
            "{asset}: {body}"
        );
    }
    let (status, body) = check(&t, &key, &rich_id, &token, "1.0000000000000000001").await;
    assert_eq!(
        (status, code(&body)),
        (400, "GATEKEEPER_AMOUNT_INVALID"),
        "{body}"
    );

    // The node goes away: 503 with the breaker open (two failures open it).
    let port = node.port;
    node.kill();
    let mut last = Value::Null;
    for _ in 0..3 {
        let (status, body) = check(&t, &key, &rich_id, "native", "1").await;
        assert_eq!(
            (status, code(&body)),
            (503, "EVM_RPC_UNAVAILABLE"),
            "{body}"
        );
        last = body;
    }
    assert_eq!(last["error"]["details"]["breaker"], "OPEN", "{last}");
    assert_eq!(last["error"]["details"]["chain_id"], "eip155:31337");

    // It comes back (a fresh chain on the same port): after the open second, a probe goes
    // through, the breaker closes, and checks pass again.
    let _node = EvmNode::start_on(port)
        .await
        .expect("the EVM node starts again");
    let started = Instant::now();
    loop {
        let (status, body) = check(&t, &key, &rich_id, "native", "1").await;
        if status == 200 {
            assert_eq!(body["result"], "PASSED");
            break;
        }
        assert_eq!(code(&body), "EVM_RPC_UNAVAILABLE", "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the breaker never closed: {body}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
