//! Durability: a store dropped and reopened from the same redb file keeps every record, and
//! `seq_no` continues after the last one (never reused).

use axum::http::StatusCode;
use veil_chittyid::provisional::ProvisionalRecord;
use veil_fallback::{store::StoreError, FallbackService};

use super::support::{body_by_hash, db_path, get, issue, key, open_state, TestFallback};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durability_reopened_store_keeps_records_and_continues_seq_no() {
    let f = TestFallback::new();
    let mut before = Vec::new();
    for n in 0..3u8 {
        before.push(issue(f.app(), body_by_hash("CHI", "I", n, "01")).await);
    }
    // The file is held by one process at a time: a second open is refused while it is open.
    let second = FallbackService::open(f.db_path(), key());
    assert!(matches!(second, Err(StoreError::Open(_))), "{second:?}");

    // Drop the app and the store, keep the directory, reopen the same file.
    let TestFallback { dir, state } = f;
    drop(state);
    let reopened = open_state(&dir, None);
    let app = veil_fallback::app(reopened.clone());

    let (status, json) = get(app.clone(), "/api/v2/fallback/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (json["issued"].as_u64(), json["last_seq_no"].as_u64()),
        (Some(3), Some(3))
    );
    let (_, json) = get(app.clone(), "/api/v2/fallback/records").await;
    let after: Vec<ProvisionalRecord> =
        serde_json::from_value(json["records"].clone()).expect("records");
    assert_eq!(after, before, "every record survives, byte for byte");
    for r in &before {
        let (status, json) = get(
            app.clone(),
            &format!("/api/v2/fallback/status/{}", r.provisional_id),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json["seq_no"], r.seq_no);
    }

    // The counter continues: the same request again gets seq_no 4 and a new ID.
    let next = issue(app.clone(), body_by_hash("CHI", "I", 0, "01")).await;
    assert_eq!(next.seq_no, 4);
    assert!(before
        .iter()
        .all(|r| r.provisional_id != next.provisional_id));
    next.verify(&key().verifying_key()).expect("verifies");
    drop((app, reopened));
    assert!(db_path(&dir).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durability_store_refuses_a_different_key() {
    let f = TestFallback::new();
    issue(f.app(), body_by_hash("CHI", "I", 1, "01")).await;
    let TestFallback { dir, state } = f;
    drop(state);
    let other = veil_fallback::FallbackKey::from_bytes(&[9; 32]);
    let err = FallbackService::open(db_path(&dir), other).expect_err("bound to the first key");
    assert!(
        matches!(err, StoreError::KeyMismatch { ref stored } if *stored == key().public_key_hex()),
        "{err:?}"
    );
}
