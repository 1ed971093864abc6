//! Service rules without HTTP: validation, sequence derivation and collision retry, paging.

use std::path::PathBuf;

use veil_chittyid::provisional::ProvisionalRecord;

use super::*;

/// 2026-11-15T12:00:00Z.
const NOV_2026: i64 = 1_794_744_000;

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!(
            "veil-fallback-unit-{}-{}",
            std::process::id(),
            hex::encode(rand::random::<[u8; 8]>())
        ));
        std::fs::create_dir_all(&path).expect("temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn service(dir: &TempDir) -> FallbackService {
    FallbackService::open(dir.0.join("f.redb"), FallbackKey::from_bytes(&[7; 32]))
        .expect("opens")
        .with_clock(Clock::Fixed(NOV_2026))
}

fn body() -> IssueBody {
    IssueBody {
        namespace: Some("CHI".into()),
        entity_type: Some("I".into()),
        trust_level: None,
        content: None,
        content_hash: Some("11".repeat(32)),
        request_nonce: Some("beef".into()),
    }
}

#[test]
fn validate_names_each_broken_rule() {
    let cases: Vec<(IssueBody, &str)> = vec![
        (
            IssueBody {
                namespace: None,
                ..body()
            },
            "namespace",
        ),
        (
            IssueBody {
                namespace: Some("chi".into()),
                ..body()
            },
            "namespace",
        ),
        (
            IssueBody {
                namespace: Some("CHIXY".into()),
                ..body()
            },
            "namespace",
        ),
        (
            IssueBody {
                entity_type: Some("X".into()),
                ..body()
            },
            "entity",
        ),
        (
            IssueBody {
                entity_type: None,
                ..body()
            },
            "entity",
        ),
        (
            IssueBody {
                trust_level: Some(10),
                ..body()
            },
            "trust",
        ),
        (
            IssueBody {
                trust_level: Some(-1),
                ..body()
            },
            "trust",
        ),
        (
            IssueBody {
                content: Some("aGk=".into()),
                ..body()
            },
            "both",
        ),
        (
            IssueBody {
                content_hash: None,
                ..body()
            },
            "neither",
        ),
        (
            IssueBody {
                content_hash: Some("11".repeat(31)),
                ..body()
            },
            "hash",
        ),
        (
            IssueBody {
                content_hash: None,
                content: Some("!!".into()),
                ..body()
            },
            "b64",
        ),
        (
            IssueBody {
                request_nonce: None,
                ..body()
            },
            "nonce",
        ),
        (
            IssueBody {
                request_nonce: Some(String::new()),
                ..body()
            },
            "nonce",
        ),
        (
            IssueBody {
                request_nonce: Some("abc".into()),
                ..body()
            },
            "nonce",
        ),
        (
            IssueBody {
                request_nonce: Some("00".repeat(65)),
                ..body()
            },
            "nonce",
        ),
    ];
    for (b, rule) in cases {
        let err = b.clone().validate().unwrap_err();
        let ok = match rule {
            "namespace" => matches!(err, ServiceError::Namespace),
            "entity" => matches!(err, ServiceError::EntityType),
            "trust" => matches!(err, ServiceError::TrustLevel { .. }),
            "both" => matches!(err, ServiceError::Content { given: "both" }),
            "neither" => matches!(err, ServiceError::Content { given: "neither" }),
            "hash" => matches!(
                err,
                ServiceError::ContentEncoding {
                    field: "content_hash"
                }
            ),
            "b64" => matches!(err, ServiceError::ContentEncoding { field: "content" }),
            "nonce" => matches!(err, ServiceError::Nonce),
            _ => false,
        };
        assert!(ok, "{rule}: {b:?} gave {err:?}");
    }
    let ok = IssueBody {
        request_nonce: Some("AB".repeat(64)),
        trust_level: Some(9),
        namespace: Some("CHIT".into()),
        ..body()
    }
    .validate()
    .expect("valid");
    assert_eq!(ok.nonce, vec![0xab; 64]);
    assert_eq!((ok.trust, ok.namespace.as_str()), (9, "CHIT"));
}

#[test]
fn issue_uses_attempt_zero_then_retries_past_an_occupied_slot() {
    let dir = TempDir::new();
    let svc = service(&dir);
    let request = body().validate().expect("valid");
    let first = svc.issue(&request).expect("issues");
    let pk = svc.key().verifying_key().to_bytes();
    let s0 = derive_sequence(&pk, 1, &request.content_hash, &request.nonce, 0);
    assert!(first.provisional_id.contains(&format!("-{s0}-")));

    // Occupy the attempt-0 slot of seq_no 3 with record 2, so record 3 must use attempt 1.
    let blocked = derive_sequence(&pk, 3, &request.content_hash, &request.nonce, 0);
    occupy(&svc, 2, &blocked, &request);
    let third = svc.issue(&request).expect("issues");
    assert_eq!(third.seq_no, 3);
    let s1 = derive_sequence(&pk, 3, &request.content_hash, &request.nonce, 1);
    assert!(
        third.provisional_id.contains(&format!("-{s1}-")),
        "{}",
        third.provisional_id
    );
    third.verify(&svc.key().verifying_key()).expect("verifies");
}

#[test]
fn issue_gives_up_after_the_retry_budget_and_consumes_no_seq_no() {
    let dir = TempDir::new();
    let svc = service(&dir);
    let request = body().validate().expect("valid");
    let pk = svc.key().verifying_key().to_bytes();
    // Records 1..=16 occupy every slot seq_no 17 could use.
    for attempt in 0..MAX_SEQUENCE_ATTEMPTS {
        let s = derive_sequence(&pk, 17, &request.content_hash, &request.nonce, attempt);
        occupy(&svc, u64::from(attempt) + 1, &s, &request);
    }
    let err = svc.issue(&request).unwrap_err();
    assert!(matches!(
        err,
        ServiceError::SequenceExhausted {
            attempts: MAX_SEQUENCE_ATTEMPTS
        }
    ));
    assert_eq!(svc.status().expect("status").last_seq_no, 16);
}

#[test]
fn records_pages_and_limits() {
    let dir = TempDir::new();
    let svc = service(&dir);
    let request = body().validate().expect("valid");
    for _ in 0..5 {
        svc.issue(&request).expect("issues");
    }
    let page = svc.records(0, 2).expect("page");
    assert_eq!(
        page.records.iter().map(|r| r.seq_no).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(page.next_after, Some(2));
    let last = svc.records(4, 2).expect("page");
    assert_eq!(
        last.records.iter().map(|r| r.seq_no).collect::<Vec<_>>(),
        [5]
    );
    assert_eq!(last.next_after, None);
    let exact = svc.records(3, 2).expect("page");
    assert_eq!(
        exact.next_after, None,
        "a page that ends at the last record is the end"
    );
    assert!(svc.records(u64::MAX, 10).expect("page").records.is_empty());
    assert!(matches!(
        svc.records(0, 0),
        Err(ServiceError::Limit { found: 0 })
    ));
    assert!(matches!(
        svc.records(0, MAX_PAGE + 1),
        Err(ServiceError::Limit { .. })
    ));
}

#[test]
fn a_store_refuses_another_key() {
    let dir = TempDir::new();
    drop(service(&dir));
    let err =
        FallbackService::open(dir.0.join("f.redb"), FallbackKey::from_bytes(&[8; 32])).unwrap_err();
    assert!(matches!(err, StoreError::KeyMismatch { .. }), "{err:?}");
}

/// Commits a signed record `seq_no` whose ID uses `sequence`.
fn occupy(svc: &FallbackService, seq_no: u64, sequence: &str, request: &IssueRequest) {
    let (year, month) = utc_year_month(NOV_2026);
    let id = ChittyId::new(
        IssuerClass::Fallback,
        &request.namespace,
        sequence,
        request.entity,
        year,
        month,
        request.trust,
    )
    .expect("id");
    let slot = slot_key(&id);
    let record = ProvisionalRecord::sign(
        ProvisionalDraft {
            seq_no,
            provisional_id: id,
            content_hash: request.content_hash,
            request_nonce: request.nonce.clone(),
            issued_at: NOV_2026,
        },
        svc.key().signing_key(),
    )
    .expect("signs");
    let mut txn = svc.store().begin_issue().expect("txn");
    txn.insert(&record, &slot).expect("insert");
    txn.commit().expect("commit");
}
