//! Metadata on a mint: stored off chain in the mint's transaction, shown to who minted it (and
//! to anyone only when public), never in verify answers; its rules refused with typed 400s
//! and nothing stored; under one `Idempotency-Key`, other metadata is a conflict.

use serde_json::{json, Value};
use veil_relayer::platform::auth::{CreatedKey, Scope};

use super::support::{code, fresh_nonce, TestApp};

async fn mint(t: &TestApp, key: &CreatedKey, body: &Value, idem: Option<&str>) -> (u16, Value) {
    let (status, _, body) = t.mint_keyed(key, body, idem).await;
    (status, body)
}

fn body(metadata: Value, public: bool) -> Value {
    json!({ "namespace": "CHI", "entity_type": "P", "content_hash": fresh_nonce().repeat(2),
            "metadata": metadata, "metadata_public": public })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_is_the_minters_unless_public_and_never_in_verify() {
    let t = TestApp::new().await;
    let other = TestApp::create_key(
        &t.state,
        &[Scope::ChittyIdMint, Scope::ChittyIdVerify],
        1_000,
    )
    .await;
    let meta = json!({ "order": "42", "amount": 12.5, "gift": true, "note": null });
    let (status, minted) = mint(&t, &t.key, &body(meta.clone(), false), None).await;
    assert_eq!(status, 201, "{minted}");
    assert_eq!(minted["metadata"], meta);
    let id = minted["id"].as_str().unwrap().to_owned();
    let (text, requester, public): (String, Option<String>, bool) = sqlx::query_as(
        "SELECT metadata::text, requester, public FROM chittyid_metadata WHERE id = $1",
    )
    .bind(&id)
    .fetch_one(&t.db.pool)
    .await
    .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), meta);
    assert_eq!(requester.as_deref(), Some(t.key.key_id.as_str()));
    assert!(!public);

    let path = format!("/api/v2/chittyid/{id}/metadata");
    let (status, mine) = t.get(&path, &t.key).await;
    assert_eq!(status.as_u16(), 200, "{mine}");
    assert_eq!(mine["metadata"], meta);
    assert_eq!(mine["public"], false);
    let (status, theirs) = t.get(&path, &other).await;
    assert_eq!(
        (status.as_u16(), code(&theirs)),
        (404, "CHITTYID_METADATA_NOT_FOUND")
    );
    let (status, verified) = t
        .get(&format!("/api/v2/chittyid/verify/{id}"), &other)
        .await;
    assert_eq!(status.as_u16(), 200);
    assert!(!verified.to_string().contains("\"order\""), "{verified}");

    // Public metadata: anyone with a verify key reads it.
    let (_, public_mint) = mint(&t, &t.key, &body(json!({ "kind": "badge" }), true), None).await;
    let (status, read) = t
        .get(
            &format!(
                "/api/v2/chittyid/{}/metadata",
                public_mint["id"].as_str().unwrap()
            ),
            &other,
        )
        .await;
    assert_eq!(status.as_u16(), 200, "{read}");
    assert_eq!(read["metadata"], json!({ "kind": "badge" }));
    // An ID without metadata.
    let (_, plain) = mint(
        &t,
        &t.key,
        &json!({ "namespace": "CHI", "entity_type": "P",
        "content_hash": fresh_nonce().repeat(2) }),
        None,
    )
    .await;
    assert!(plain.get("metadata").is_none(), "{plain}");
    let (status, none) = t
        .get(
            &format!(
                "/api/v2/chittyid/{}/metadata",
                plain["id"].as_str().unwrap()
            ),
            &t.key,
        )
        .await;
    assert_eq!(
        (status.as_u16(), code(&none)),
        (404, "CHITTYID_METADATA_NOT_FOUND")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_rules_are_refused_and_nothing_is_stored() {
    let t = TestApp::new().await;
    let many: serde_json::Map<String, Value> =
        (0..33).map(|i| (format!("k{i}"), json!(i))).collect();
    let wide: serde_json::Map<String, Value> = (0..10)
        .map(|i| (format!("k{i}"), json!("x".repeat(500))))
        .collect();
    for (metadata, rule, key) in [
        (
            json!({ "nested": { "a": 1 } }),
            "values are strings, numbers, booleans or null",
            Some("nested"),
        ),
        (
            json!({ "list": [1] }),
            "values are strings, numbers, booleans or null",
            Some("list"),
        ),
        (
            json!({ "bad key": 1 }),
            "keys are 1-64 characters of A-Z a-z 0-9 _ . -",
            Some("bad key"),
        ),
        (
            json!({ "long": "x".repeat(513) }),
            "strings are at most 512 characters",
            Some("long"),
        ),
        (Value::Object(many), "at most 32 keys", None),
        (
            Value::Object(wide),
            "at most 4096 bytes of JSON in all",
            None,
        ),
    ] {
        let (status, refused) = mint(&t, &t.key, &body(metadata, false), None).await;
        assert_eq!(
            (status, code(&refused)),
            (400, "MINT_METADATA_INVALID"),
            "{refused}"
        );
        assert_eq!(refused["error"]["details"]["rule"], rule);
        assert_eq!(refused["error"]["details"]["key"], json!(key));
    }
    let (ids, rows): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM chittyids), (SELECT count(*) FROM chittyid_metadata)",
    )
    .fetch_one(&t.db.pool)
    .await
    .unwrap();
    assert_eq!((ids, rows), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_metadata_under_one_idempotency_key_is_a_conflict() {
    let t = TestApp::new().await;
    let first = body(json!({ "order": "1" }), false);
    let (status, minted) = mint(&t, &t.key, &first, Some("m-1")).await;
    assert_eq!(status, 201, "{minted}");
    let (status, again) = mint(&t, &t.key, &first, Some("m-1")).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        (again["id"].clone(), again["metadata"].clone()),
        (minted["id"].clone(), json!({ "order": "1" }))
    );
    let mut changed = first.clone();
    changed["metadata"] = json!({ "order": "2" });
    let (status, conflict) = mint(&t, &t.key, &changed, Some("m-1")).await;
    assert_eq!(
        (status, code(&conflict)),
        (409, "MINT_IDEMPOTENCY_CONFLICT")
    );
    let mut public = first.clone();
    public["metadata_public"] = json!(true);
    let (status, conflict) = mint(&t, &t.key, &public, Some("m-1")).await;
    assert_eq!(
        (status, code(&conflict)),
        (409, "MINT_IDEMPOTENCY_CONFLICT")
    );
}
