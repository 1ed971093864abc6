//! `veil-relayer legacy import`: both earlier shapes get a current ID recorded beside them,
//! `GET /api/v2/chittyid/{old}` answers with it, a second run imports nothing twice, a run cut
//! off after a mint is finished without a second ID, and a file with bad lines imports nothing.

use sha2::{Digest, Sha256};
use veil_relayer::chittyid::legacy::{self, ImportError};

use super::support::{code, TestApp};

const FILE: &str =
    "# exported from ChittyOS\nCT-A-CHI-1234-I-24-A-0,I\n\n01-C-PROD-0001-P-2501-A-X, P\n";

async fn import(t: &TestApp, text: &str) -> Result<legacy::ImportReport, ImportError> {
    let mut seen = Vec::new();
    let report = legacy::import(
        &t.state.pool,
        &t.state.minter,
        &t.state.drand,
        text,
        |done, total| seen.push((done, total)),
    )
    .await;
    if let Ok(r) = &report {
        let total = r.imported.len() + r.already;
        assert_eq!(
            seen.last(),
            Some(&(total, total)),
            "progress ends at the total"
        );
    }
    report
}

async fn count(t: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&t.db.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_legacy_shapes_are_imported_once_and_looked_up() {
    let t = TestApp::new().await;
    let report = import(&t, FILE).await.unwrap();
    assert_eq!(report.imported.len(), 2);
    assert_eq!(report.already, 0);
    let (old, new) = &report.imported[0];
    assert_eq!(old, "CT-A-CHI-1234-I-24-A-0");
    // A real authoritative ID of the old namespace and entity type, whose content hash names
    // the old ID.
    assert!(new.starts_with("01-A-CHI-") && new.contains("-I-"), "{new}");
    let (status, verified) = t
        .get(&format!("/api/v2/chittyid/verify/{new}"), &t.key)
        .await;
    assert_eq!(status.as_u16(), 200, "{verified}");
    let expected: [u8; 32] = Sha256::new()
        .chain_update(b"chittyid-legacy:CT-A-CHI-1234-I-24-A-0")
        .finalize()
        .into();
    let stored: Vec<u8> = sqlx::query_scalar("SELECT content_hash FROM chittyids WHERE id = $1")
        .bind(new)
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, expected);
    assert!(report.imported[1].1.starts_with("01-A-PROD-"));

    let (status, found) = t
        .get("/api/v2/chittyid/CT-A-CHI-1234-I-24-A-0", &t.key)
        .await;
    assert_eq!(status.as_u16(), 200, "{found}");
    assert_eq!(found["id"], new.as_str());
    assert_eq!(found["entity_type"], "I");
    assert_eq!(found["content_sha256"], hex::encode(expected));
    for (path, status, expected) in [
        (
            "/api/v2/chittyid/CT-A-CHI-9999-I-24-A-0",
            404,
            "CHITTYID_LEGACY_NOT_IMPORTED",
        ),
        (
            &format!("/api/v2/chittyid/{new}")[..],
            400,
            "CHITTYID_NOT_LEGACY",
        ),
        ("/api/v2/chittyid/nonsense", 400, "CHITTYID_NOT_LEGACY"),
    ] {
        let (s, body) = t.get(path, &t.key).await;
        assert_eq!(
            (s.as_u16(), code(&body)),
            (status, expected),
            "{path}: {body}"
        );
    }

    // Again: nothing new.
    let ids = count(&t, "chittyids").await;
    let again = import(&t, FILE).await.unwrap();
    assert_eq!((again.imported.len(), again.already), (0, 2));
    assert_eq!(count(&t, "chittyids").await, ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_cut_off_after_its_mint_is_finished_without_a_second_id() {
    let t = TestApp::new().await;
    import(&t, "CT-A-CHI-1234-I-24-A-0,I\n").await.unwrap();
    // As if the process died between the mint and recording it.
    sqlx::query("UPDATE legacy_ids SET new_id = NULL, imported_at = NULL")
        .execute(&t.db.pool)
        .await
        .unwrap();
    let (status, _) = t
        .get("/api/v2/chittyid/CT-A-CHI-1234-I-24-A-0", &t.key)
        .await;
    assert_eq!(status.as_u16(), 404, "a reservation is not an import");
    let ids = count(&t, "chittyids").await;
    let report = import(&t, "CT-A-CHI-1234-I-24-A-0,I\n").await.unwrap();
    assert_eq!(report.imported.len(), 1);
    assert_eq!(count(&t, "chittyids").await, ids, "the minted ID is reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_with_bad_lines_imports_nothing_and_names_each() {
    let t = TestApp::new().await;
    let text = "CT-A-CHI-1234-I-24-A-0,I\njunk\n01-C-PROD-0001-P-2501-A-X,Z\nCT-A-CHI-1234-I-24-A-0,I\n01-A-CHI-7K3M9QXP-I-2611-Z-0,I\n";
    match import(&t, text).await {
        Err(ImportError::BadLines(bad)) => {
            let lines: Vec<usize> = bad.iter().map(|b| b.line).collect();
            assert_eq!(lines, [2, 3, 4, 5], "{bad:?}");
            assert!(bad[0].reason.contains("<old ID>,<entity type>"));
            assert!(bad[1].reason.contains("entity type `Z`"));
            assert!(bad[2].reason.contains("twice"));
        }
        other => panic!("expected BadLines, got {other:?}"),
    }
    assert_eq!(count(&t, "legacy_ids").await, 0);
    assert_eq!(count(&t, "chittyids").await, 0);
}
