//! Dependencies taken away and given back under a mint load, with the relayer running: its
//! own PostgreSQL cluster stopped as by a crash (`pg_ctl stop -m immediate`), and its own
//! Redis killed. While a dependency is down every request is answered, within the pool's or
//! the client's timeout, with a typed 503 (never a 500, never a hang); once it is back the
//! relayer serves again by itself, and every mint it answered 201 is a row.

use std::{
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use veil_stack::services::{self, Owned};

use crate::relayer::support::{code, fresh_nonce, TestApp};

/// One answer of the load.
#[derive(Debug, Clone)]
struct Answer {
    /// When it was sent, from the start of the load.
    at: Duration,
    /// How long it took.
    took: Duration,
    status: u16,
    code: String,
    id: Option<String>,
}

/// A data directory the `postgres` user can enter (the stack runs its cluster as `postgres`
/// when the tests run as root).
fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "veil-{name}-{}-{}",
        std::process::id(),
        fresh_nonce()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// Mints from 4 workers until `stop`; every answer.
fn load(
    t: &Arc<TestApp>,
    stop: &Arc<AtomicBool>,
    started: Instant,
) -> Vec<tokio::task::JoinHandle<Vec<Answer>>> {
    (0..4)
        .map(|_| {
            let (t, stop) = (t.clone(), stop.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let sent = Instant::now();
                    let (status, body) = t.mint(&fresh_nonce().repeat(2), &fresh_nonce()).await;
                    answers.push(Answer {
                        at: sent - started,
                        took: sent.elapsed(),
                        status: status.as_u16(),
                        code: code(&body).to_owned(),
                        id: body["id"].as_str().map(str::to_owned),
                    });
                    if status.as_u16() != 201 {
                        // A client backing off a little, as a 503 asks.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                answers
            })
        })
        .collect()
}

/// Runs the load; takes `owned` down after a second for `outage`, then brings it back; stops
/// once a mint succeeds after that (or after 60 s). The answers, and when it came back.
async fn outage(
    t: &Arc<TestApp>,
    owned: &mut Owned,
    outage: Duration,
) -> (Vec<Answer>, Duration, Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers = load(t, &stop, started);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let down_at = started.elapsed();
    owned.stop().expect("the dependency stops");
    tokio::time::sleep(outage).await;
    owned.start().expect("the dependency starts");
    let up_at = started.elapsed();
    // Until a mint after the restart has succeeded.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, _) = t.mint(&fresh_nonce().repeat(2), &fresh_nonce()).await;
        if status.as_u16() == 201 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let mut answers = Vec::new();
    for worker in workers {
        answers.extend(worker.await.unwrap());
    }
    answers.sort_by_key(|a| a.at);
    (answers, down_at, up_at)
}

/// The checks every outage shares; the time from the restart to the first 201 sent after it.
async fn judge(
    t: &TestApp,
    answers: &[Answer],
    up_at: Duration,
    allowed: &[&str],
    what: &str,
) -> Duration {
    assert!(
        answers.iter().any(|a| a.status == 201),
        "{what}: nothing minted"
    );
    let refused: Vec<&Answer> = answers.iter().filter(|a| a.status != 201).collect();
    assert!(!refused.is_empty(), "{what}: the outage refused nothing");
    for a in &refused {
        assert!(
            a.status == 503 && allowed.contains(&a.code.as_str()),
            "{what}: {a:?} (want 503 {allowed:?})"
        );
    }
    let slowest = answers.iter().map(|a| a.took).max().unwrap();
    assert!(
        slowest < Duration::from_secs(10),
        "{what}: an answer took {slowest:?}"
    );
    let recovered = answers
        .iter()
        .filter(|a| a.status == 201 && a.at >= up_at)
        .map(|a| a.at + a.took - up_at)
        .min()
        .unwrap_or_else(|| panic!("{what}: no mint succeeded after the restart"));
    assert!(
        recovered < Duration::from_secs(15),
        "{what}: recovered after {recovered:?}"
    );
    // Every mint answered 201 is a row.
    for id in answers.iter().filter_map(|a| a.id.as_ref()) {
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM chittyids WHERE id = $1")
            .bind(id)
            .fetch_one(&t.state.pool)
            .await
            .unwrap();
        assert_eq!(rows, 1, "{what}: {id}");
    }
    eprintln!(
        "{what}: {} answers, {} refused with 503 {:?}, slowest {slowest:?}, first mint {recovered:?} after the restart",
        answers.len(),
        refused.len(),
        refused.iter().map(|a| a.code.as_str()).collect::<std::collections::BTreeSet<_>>(),
    );
    recovered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_restarted_mid_load_answers_typed_503s_and_the_relayer_recovers_by_itself() {
    let data = data_dir("pg");
    let (server, owned) = services::postgres(&data, None, true)
        .await
        .expect("a private cluster");
    let mut owned = owned.expect("the stack's own cluster");
    let url = services::fresh_database(&server, "veil_crash")
        .await
        .unwrap();
    let t = Arc::new(TestApp::with(|c| c.db.database_url = url).await);
    let (answers, _, up_at) = outage(&t, &mut owned, Duration::from_secs(3)).await;
    judge(
        &t,
        &answers,
        up_at,
        &["DATABASE_UNAVAILABLE"],
        "PostgreSQL restart",
    )
    .await;
    drop(owned);
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_mid_load_answers_typed_503s_and_the_relayer_recovers_by_itself() {
    let data = data_dir("redis");
    let (url, owned) = services::redis(&data, None, true)
        .await
        .expect("a private Redis");
    let mut owned = owned.expect("the stack's own Redis");
    let t = Arc::new(TestApp::with(|c| c.redis_url = url).await);
    let (answers, _, up_at) = outage(&t, &mut owned, Duration::from_secs(2)).await;
    judge(
        &t,
        &answers,
        up_at,
        &["NONCE_STORE_UNAVAILABLE"],
        "Redis restart",
    )
    .await;
    drop(owned);
    let _ = std::fs::remove_dir_all(&data);
}
