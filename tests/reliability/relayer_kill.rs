//! SIGKILL the relayer process at random points of a mint load, again and again: every mint
//! answered 201 is a row afterwards, no two requests get one ID, a mint that got no answer and
//! is sent again with its `Idempotency-Key` is minted once, and the relayer comes back healthy.
//!
//! `VEIL_CRASH_KILLS` sets the kills (default 20), `VEIL_CRASH_SEED` the random points.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};
use veil_relayer::platform::{auth::CreatedKey, clock::Clock};

use super::{
    child::{healthy, RelayerChild},
    env_u64,
};
use crate::relayer::support::{fresh_nonce, TestApp};

/// A mint as sent: its idempotency key and body.
#[derive(Clone)]
struct Mint {
    idempotency_key: String,
    body: Vec<u8>,
}

impl Mint {
    fn new() -> Self {
        let body = json!({
            "namespace": "CHI", "entity_type": "E",
            "content_hash": fresh_nonce().repeat(2), "request_nonce": fresh_nonce(),
        });
        Self {
            idempotency_key: format!("crash-{}", fresh_nonce()),
            body: serde_json::to_vec(&body).unwrap(),
        }
    }
}

/// What one send came to.
enum Outcome {
    /// 201, or 200 for an idempotent replay (`true`), with this ID.
    Minted(String, bool),
    /// No answer: the connection broke (the process died).
    NoAnswer,
    /// Any other answer (status, body): a failure of the test unless a typed 503.
    Other(u16, Value),
}

async fn send(
    client: &reqwest::Client,
    base: &str,
    key: &CreatedKey,
    clock: &dyn Clock,
    mint: &Mint,
) -> Outcome {
    let secret = veil_signing::SigningSecret::from_hex(&key.signing_secret).unwrap();
    let path = "/api/v2/chittyid/mint";
    let headers = veil_signing::sign_request(
        "POST",
        path,
        &mint.body,
        &secret,
        clock.now_unix(),
        &fresh_nonce(),
    );
    let sent = client
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .header("x-api-key", &key.api_key)
        .header("x-timestamp", &headers.timestamp)
        .header("x-nonce", &headers.nonce)
        .header("x-signature", &headers.signature)
        .header("idempotency-key", &mint.idempotency_key)
        .body(mint.body.clone())
        .send()
        .await;
    let Ok(answer) = sent else {
        return Outcome::NoAnswer;
    };
    let status = answer.status().as_u16();
    let Ok(body) = answer.json::<Value>().await else {
        // The process died between the status line and the body.
        return Outcome::NoAnswer;
    };
    match (status, body["id"].as_str()) {
        (200 | 201, Some(id)) => Outcome::Minted(id.to_owned(), status == 200),
        _ => Outcome::Other(status, body),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relayer_killed_mid_load_loses_no_answered_mint_and_issues_no_id_twice() {
    let kills = env_u64("VEIL_CRASH_KILLS", 20);
    let seed = env_u64("VEIL_CRASH_SEED", 7);
    let t = Arc::new(TestApp::new().await);
    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let base = format!("http://{listen}");
    let child = |t: &TestApp| RelayerChild {
        database_url: t.db.url.clone(),
        redis_prefix: t.state.config.redis_prefix.clone(),
        drand_url: t.relay.url(),
        listen,
        now: t.clock.now_unix(),
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    // idempotency key -> the ID its 201 named.
    let answered = Arc::new(parking_lot::Mutex::new(BTreeMap::<String, String>::new()));
    let unanswered = Arc::new(parking_lot::Mutex::new(Vec::<Mint>::new()));
    let others = Arc::new(parking_lot::Mutex::new(Vec::<(u16, Value)>::new()));
    let mut recoveries = Vec::new();

    for _ in 0..kills {
        let mut running = child(&t).spawn();
        recoveries.push(healthy(&base, Duration::from_secs(60)).await);
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let (t, client, base, stop) =
                    (t.clone(), client.clone(), base.clone(), stop.clone());
                let (answered, unanswered, others) =
                    (answered.clone(), unanswered.clone(), others.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        let mint = Mint::new();
                        match send(&client, &base, &t.key, t.clock.as_ref(), &mint).await {
                            Outcome::Minted(id, _) => {
                                answered.lock().insert(mint.idempotency_key, id);
                            }
                            Outcome::NoAnswer => {
                                unanswered.lock().push(mint);
                                return;
                            }
                            Outcome::Other(status, body) => others.lock().push((status, body)),
                        }
                    }
                })
            })
            .collect();
        // A random point of the load.
        tokio::time::sleep(Duration::from_millis(rng.gen_range(50..600))).await;
        running.kill();
        stop.store(true, Ordering::SeqCst);
        for worker in workers {
            worker.await.unwrap();
        }
    }

    // Back up once more: healthy, and the mints that got no answer are sent again under their
    // idempotency keys.
    let _running = child(&t).spawn();
    recoveries.push(healthy(&base, Duration::from_secs(60)).await);
    let retried: Vec<Mint> = unanswered.lock().clone();
    let mut replayed = 0;
    for mint in &retried {
        match send(&client, &base, &t.key, t.clock.as_ref(), mint).await {
            Outcome::Minted(id, replay) => {
                replayed += usize::from(replay);
                answered.lock().insert(mint.idempotency_key.clone(), id);
            }
            Outcome::NoAnswer => panic!("the restarted relayer did not answer"),
            Outcome::Other(status, body) => panic!("a retried mint: {status} {body}"),
        }
    }
    let others = others.lock().clone();
    assert!(others.is_empty(), "answers other than 201: {others:?}");

    let answered = answered.lock().clone();
    assert!(
        answered.len() as u64 > kills * 8,
        "only {} mints answered over {kills} kills",
        answered.len()
    );
    // No two requests were given one ID.
    let ids: BTreeSet<&String> = answered.values().collect();
    assert_eq!(ids.len(), answered.len(), "an ID was issued twice");
    // Every answered ID is a row, once, with its idempotency key.
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT c.id, count(*) OVER (PARTITION BY c.namespace, c.yymm, c.sequence) \
         FROM chittyids c",
    )
    .fetch_all(&t.db.pool)
    .await
    .unwrap();
    let stored: BTreeMap<String, i64> = rows.into_iter().collect();
    for (key, id) in &answered {
        assert_eq!(stored.get(id), Some(&1), "{key}: {id} is not one row");
    }
    // Nothing was minted that no request asked for: rows beyond the answered ones are only
    // mints whose answer was lost and were not retried (none: every lost one was retried).
    assert_eq!(
        stored.len(),
        answered.len(),
        "rows without an answered request"
    );
    eprintln!(
        "relayer kill -9: {kills} kills, {} mints answered, {} unanswered and retried \
         ({replayed} of them had been committed and were replayed), recovery to healthy max {:?}",
        answered.len(),
        retried.len(),
        recoveries.iter().max().unwrap()
    );
}
