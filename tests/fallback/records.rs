//! `GET /api/v2/fallback/records`: the export reconciliation pages through.

use axum::http::StatusCode;
use veil_chittyid::provisional::ProvisionalRecord;

use super::support::{assert_error, body_by_hash, get, issue, key, TestFallback};

fn page(json: &serde_json::Value) -> (Vec<ProvisionalRecord>, Option<u64>) {
    let records = serde_json::from_value(json["records"].clone()).expect("records");
    (records, json["next_after"].as_u64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_pages_in_seq_no_order_with_next_after() {
    let f = TestFallback::new();
    let mut issued = Vec::new();
    for n in 0..7u8 {
        issued.push(issue(f.app(), body_by_hash("CHI", "I", n, "01")).await);
    }
    // Walk the export as reconciliation does: after=0, then next_after until null.
    let mut after = 0;
    let mut walked = Vec::new();
    let mut pages = 0;
    loop {
        let (status, json) = get(
            f.app(),
            &format!("/api/v2/fallback/records?after={after}&limit=3"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{json}");
        let (records, next) = page(&json);
        pages += 1;
        walked.extend(records);
        match next {
            Some(n) => {
                assert_eq!(Some(n), walked.last().map(|r| r.seq_no));
                after = n;
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(walked, issued);
    let pinned = key().verifying_key();
    assert!(walked.iter().all(|r| r.verify(&pinned).is_ok()));

    // Exact pages: the middle page ends at 6 with more to come; a page ending at the last
    // record says so with null.
    let (_, json) = get(f.app(), "/api/v2/fallback/records?after=3&limit=3").await;
    let (records, next) = page(&json);
    assert_eq!(
        records.iter().map(|r| r.seq_no).collect::<Vec<_>>(),
        [4, 5, 6]
    );
    assert_eq!(next, Some(6));
    let (_, json) = get(f.app(), "/api/v2/fallback/records?after=4&limit=3").await;
    let (records, next) = page(&json);
    assert_eq!(
        records.iter().map(|r| r.seq_no).collect::<Vec<_>>(),
        [5, 6, 7]
    );
    assert_eq!(next, None);
    assert!(json["next_after"].is_null());
    // Defaults: after=0, limit=100.
    let (_, json) = get(f.app(), "/api/v2/fallback/records").await;
    let (records, next) = page(&json);
    assert_eq!((records.len(), next), (7, None));
    // Past the end: empty, null.
    let (_, json) = get(f.app(), "/api/v2/fallback/records?after=7").await;
    assert_eq!(
        json,
        serde_json::json!({ "records": [], "next_after": null })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_bad_query_is_invalid_query() {
    let f = TestFallback::new();
    for q in [
        "limit=0",
        "limit=1001",
        "limit=-1",
        "limit=ten",
        "after=-1",
        "after=x",
        "cursor=3",
    ] {
        let got = get(f.app(), &format!("/api/v2/fallback/records?{q}")).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "FALLBACK_INVALID_QUERY");
    }
    let (status, _) = get(f.app(), "/api/v2/fallback/records?limit=1000").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(f.app(), "/api/v2/fallback/records?limit=1").await;
    assert_eq!(status, StatusCode::OK);
}
