//! Idempotent mints: the same `Idempotency-Key` and request answer the same ID (200,
//! `Idempotent-Replayed`), even when sent at once; another request under the key is a
//! conflict; keys are per requester; a malformed key is refused; no key, no change.

use serde_json::{json, Value};
use veil_relayer::platform::auth::{CreatedKey, Scope};

use super::support::{code, fresh_nonce, TestApp};

async fn mint(
    t: &TestApp,
    key: &CreatedKey,
    body: &Value,
    idem: Option<&str>,
) -> (u16, bool, Value) {
    let (status, headers, body) = t.mint_keyed(key, body, idem).await;
    (status, headers.contains_key("idempotent-replayed"), body)
}

fn body() -> Value {
    json!({ "namespace": "CHI", "entity_type": "P", "content_hash": fresh_nonce().repeat(2) })
}

async fn ids_for(t: &TestApp, body: &Value) -> i64 {
    let hash = hex::decode(body["content_hash"].as_str().unwrap()).unwrap();
    sqlx::query_scalar("SELECT count(*) FROM chittyids WHERE content_hash = $1")
        .bind(hash)
        .fetch_one(&t.db.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_and_request_answer_the_same_id_and_another_request_conflicts() {
    let t = TestApp::new().await;
    let key = t.key.clone();
    let request = body();
    let (status, replayed, first) = mint(&t, &key, &request, Some("order-42")).await;
    assert_eq!((status, replayed), (201, false), "{first}");
    let (status, replayed, again) = mint(&t, &key, &request, Some("order-42")).await;
    assert_eq!((status, replayed), (200, true), "{again}");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["evidence"]["vrf"], first["evidence"]["vrf"]);
    assert_eq!(ids_for(&t, &request).await, 1);

    // The key with another request: refused, naming the ID it minted.
    let (status, _, conflict) = mint(&t, &key, &body(), Some("order-42")).await;
    assert_eq!(
        (status, code(&conflict)),
        (409, "MINT_IDEMPOTENCY_CONFLICT")
    );
    assert_eq!(conflict["error"]["details"]["id"], first["id"]);

    // Keys belong to their requester: another API key's "order-42" is its own.
    let other = TestApp::create_key(
        &t.state,
        &[Scope::ChittyIdMint, Scope::ChittyIdVerify],
        1_000,
    )
    .await;
    let (status, _, theirs) = mint(&t, &other, &request, Some("order-42")).await;
    assert_eq!(status, 201, "{theirs}");
    assert_ne!(theirs["id"], first["id"]);

    // Malformed keys.
    for bad in [String::from("with space"), "k".repeat(256)] {
        let (status, _, refused) = mint(&t, &key, &request, Some(&bad)).await;
        assert_eq!(
            (status, code(&refused)),
            (400, "INVALID_IDEMPOTENCY_KEY"),
            "{bad}"
        );
    }

    // Without a key, the same request mints again (as before).
    let plain = body();
    let (a, _, _) = mint(&t, &key, &plain, None).await;
    let (b, _, _) = mint(&t, &key, &plain, None).await;
    assert_eq!((a, b), (201, 201));
    assert_eq!(ids_for(&t, &plain).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_under_one_key_make_one_id() {
    let t = TestApp::new().await;
    let request = body();
    let answers =
        futures::future::join_all((0..8).map(|_| mint(&t, &t.key, &request, Some("retry-storm"))))
            .await;
    let created = answers.iter().filter(|(s, _, _)| *s == 201).count();
    assert_eq!(created, 1, "{answers:?}");
    assert!(
        answers.iter().all(|(s, _, _)| *s == 201 || *s == 200),
        "{answers:?}"
    );
    let ids: std::collections::HashSet<&str> = answers
        .iter()
        .map(|(_, _, v)| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    assert_eq!(ids_for(&t, &request).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_expires_after_its_ttl_and_then_mints_anew_and_expired_keys_are_pruned() {
    let t = TestApp::with(|c| c.idempotency_ttl_hours = 2).await;
    let key = t.key.clone();
    let request = body();
    let (status, _, first) = mint(&t, &key, &request, Some("order-7")).await;
    assert_eq!(status, 201, "{first}");
    // The key lives the configured two hours.
    let hours: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM expires_at - created_at)::float8 / 3600
         FROM mint_idempotency WHERE key = 'order-7'",
    )
    .fetch_one(&t.db.pool)
    .await
    .unwrap();
    assert!((hours - 2.0).abs() < 0.01, "{hours}");

    // Past its expiry: the same request mints a new ID, and the key now answers that one.
    sqlx::query("UPDATE mint_idempotency SET expires_at = now() - interval '1 second'")
        .execute(&t.db.pool)
        .await
        .unwrap();
    let (status, replayed, second) = mint(&t, &key, &request, Some("order-7")).await;
    assert_eq!((status, replayed), (201, false), "{second}");
    assert_ne!(second["id"], first["id"]);
    assert_eq!(ids_for(&t, &request).await, 2);
    let (status, replayed, again) = mint(&t, &key, &request, Some("order-7")).await;
    assert_eq!((status, replayed), (200, true), "{again}");
    assert_eq!(again["id"], second["id"]);
    // An expired key is no conflict for another request either.
    sqlx::query("UPDATE mint_idempotency SET expires_at = now() - interval '1 second'")
        .execute(&t.db.pool)
        .await
        .unwrap();
    let (status, _, third) = mint(&t, &key, &body(), Some("order-7")).await;
    assert_eq!(status, 201, "{third}");

    // The pruner removes expired keys only.
    let (status, _, _) = mint(&t, &key, &body(), Some("order-8")).await;
    assert_eq!(status, 201);
    sqlx::query("UPDATE mint_idempotency SET expires_at = now() - interval '1 second' WHERE key = 'order-7'")
        .execute(&t.db.pool)
        .await
        .unwrap();
    let pruned = veil_relayer::chittyid::idempotency::prune(&t.db.pool)
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    let left: Vec<String> = sqlx::query_scalar("SELECT key FROM mint_idempotency")
        .fetch_all(&t.db.pool)
        .await
        .unwrap();
    assert_eq!(left, vec!["order-8".to_owned()]);
}
