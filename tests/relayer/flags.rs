//! Feature flags: off, on and percentage rollouts on real routes, runtime changes through
//! `PUT /admin/flags` (stored with who made them, seen by a second instance), the
//! `feature_flag_enabled` metric, and turning a flag off under load.

use std::time::{Duration, Instant};

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use serde_json::{json, Value};
use sqlx::Row;
use veil_relayer::platform::{
    auth::{CreatedKey, Scope},
    flags::{bucket, Flag, Rollout},
};

use super::support::{code, send, TestApp};

/// A challenge address nobody created; with every flag on and no RPC the route answers
/// `501 CHAIN_NOT_CONFIGURED`, so reaching the handler is visible.
const ADDRESS: &str = "11111111111111111111111111111111";

async fn challenge_key(t: &TestApp) -> CreatedKey {
    TestApp::create_key(&t.state, &[Scope::Challenges], 100_000).await
}

fn create_body(mode: &str) -> Value {
    json!({ "mode": mode, "creator": ADDRESS, "terms": "a bet" })
}

async fn put_flags(t: &TestApp, router: &axum::Router, body: &Value) -> (StatusCode, Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    send(
        router,
        t.signed(Method::PUT, "/admin/flags", &bytes, &t.admin),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flag_that_is_off_answers_503_naming_it_and_on_lets_the_route_run() {
    let off = TestApp::with(|c| c.ff_challenges = Rollout::Off).await;
    let key = challenge_key(&off).await;
    let (status, body) = off
        .get(&format!("/api/v2/challenges/{ADDRESS}"), &key)
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(code(&body), "FEATURE_DISABLED");
    assert_eq!(body["error"]["details"]["flag"], "FF_CHALLENGES");
    // Auth still runs first: no key is 401, not a hint that the feature exists.
    let bare = Request::get(format!("/api/v2/challenges/{ADDRESS}"))
        .body(Body::empty())
        .unwrap();
    let (status, body) = off.send(bare).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "AUTH_MISSING_API_KEY")
    );

    let on = TestApp::new().await;
    let key = challenge_key(&on).await;
    let (status, body) = on.get(&format!("/api/v2/challenges/{ADDRESS}"), &key).await;
    assert_eq!(code(&body), "CHAIN_NOT_CONFIGURED", "{status} {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fire_and_enforced_modes_have_their_own_flags() {
    let t = TestApp::with(|c| {
        c.ff_fire_mode = Rollout::Off;
        c.ff_enforced_mode = Rollout::Off;
    })
    .await;
    let key = challenge_key(&t).await;
    for (mode, flag) in [("fire", "FF_FIRE_MODE"), ("enforced", "FF_ENFORCED_MODE")] {
        let (status, body) = t.post("/api/v2/challenges", &create_body(mode), &key).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{mode}: {body}");
        assert_eq!(code(&body), "FEATURE_DISABLED");
        assert_eq!(body["error"]["details"]["flag"], flag);
    }
    // Solo is not gated by either: it reaches the service (absent without an RPC).
    let (_, body) = t
        .post("/api/v2/challenges", &create_body("solo"), &key)
        .await;
    assert_eq!(code(&body), "CHAIN_NOT_CONFIGURED", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_percentage_rollout_admits_exactly_the_keys_whose_bucket_is_below_it() {
    let t = TestApp::with(|c| c.ff_challenges = "50%".parse().unwrap()).await;
    let (mut admitted, mut refused) = (0, 0);
    for _ in 0..24 {
        let key = challenge_key(&t).await;
        let expected_in = bucket(Flag::Challenges, &key.key_id) < 50;
        // Asked twice: a key's answer does not flicker.
        for _ in 0..2 {
            let (_, body) = t.get(&format!("/api/v2/challenges/{ADDRESS}"), &key).await;
            let got = code(&body);
            if expected_in {
                assert_eq!(
                    got, "CHAIN_NOT_CONFIGURED",
                    "key {} should pass",
                    key.key_id
                );
            } else {
                assert_eq!(
                    got, "FEATURE_DISABLED",
                    "key {} should be refused",
                    key.key_id
                );
            }
        }
        if expected_in {
            admitted += 1;
        } else {
            refused += 1;
        }
    }
    assert!(
        admitted > 0 && refused > 0,
        "24 keys all on one side: {admitted}/{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_changes_are_stored_with_who_made_them_and_reach_a_second_instance() {
    let t = TestApp::with(|c| c.flags_refresh_ms = 100).await;
    let (second, second_router) = t.sibling(|_| {}).await;
    let stop = tokio::sync::watch::channel(false);
    let refresher = tokio::spawn(
        second
            .flags
            .clone()
            .run(Duration::from_millis(100), stop.1.clone()),
    );
    let key = challenge_key(&t).await;
    let path = format!("/api/v2/challenges/{ADDRESS}");
    let (_, body) = send(&second_router, get(&path, &key)).await;
    assert_eq!(code(&body), "CHAIN_NOT_CONFIGURED");

    let (status, body) = put_flags(&t, &t.router, &json!({ "FF_CHALLENGES": "off" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed = body["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["flag"] == "FF_CHALLENGES")
        .unwrap()
        .clone();
    assert_eq!(listed["rollout"], "off");
    assert_eq!(listed["source"], "admin");
    let who = listed["updated_by"].as_str().unwrap();
    assert!(who.starts_with(&t.admin.key_id), "{who}");
    // The instance that changed it refuses at once.
    let (status, body) = t.get(&path, &key).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "FEATURE_DISABLED")
    );
    // The second instance within its refresh interval (100 ms; allow 5 s on a loaded box).
    let started = Instant::now();
    loop {
        let (_, body) = send(&second_router, get(&path, &key)).await;
        if code(&body) == "FEATURE_DISABLED" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "second instance never saw the change: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The audit row names the change and its author.
    let row = sqlx::query(
        "SELECT previous, rollout, changed_by FROM feature_flag_changes WHERE name = 'FF_CHALLENGES'",
    )
    .fetch_one(&t.db.pool)
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>("previous"), "on");
    assert_eq!(row.get::<String, _>("rollout"), "off");
    assert_eq!(row.get::<String, _>("changed_by"), who);
    // GET lists every flag, the unchanged ones from the environment.
    let (status, body) = send(&t.router, get("/admin/flags", &t.admin)).await;
    assert_eq!(status, StatusCode::OK);
    let flags = body["flags"].as_array().unwrap();
    assert_eq!(flags.len(), Flag::ALL.len());
    let docs = flags.iter().find(|f| f["flag"] == "FF_DOCUMENTS").unwrap();
    assert_eq!(
        (docs["rollout"].as_str(), docs["source"].as_str()),
        (Some("on"), Some("env"))
    );
    // The metric follows.
    let (_, _) = put_flags(&t, &t.router, &json!({ "FF_WEBHOOKS": "25%" })).await;
    let text = t.state.metrics.render();
    assert!(
        text.contains("feature_flag_enabled{flag=\"FF_WEBHOOKS\"} 0.25"),
        "{text}"
    );
    assert!(
        text.contains("feature_flag_enabled{flag=\"FF_CHALLENGES\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("feature_flag_enabled{flag=\"FF_DOCUMENTS\"} 1"),
        "{text}"
    );
    let _ = stop.0.send(true);
    refresher.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_flag_changes_are_refused_whole_and_need_an_admin() {
    let t = TestApp::new().await;
    for (body, field, value) in [
        (json!({ "FF_NOPE": "on" }), "flag", "FF_NOPE"),
        (
            json!({ "FF_CHALLENGES": "off", "FF_FIRE_MODE": "sometimes" }),
            "rollout",
            "sometimes",
        ),
        (json!({ "FF_FIRE_MODE": "101%" }), "rollout", "101%"),
    ] {
        let (status, reply) = put_flags(&t, &t.router, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {reply}");
        assert_eq!(code(&reply), "INVALID_BODY");
        assert_eq!(reply["error"]["details"][field], value);
    }
    let (status, reply) = put_flags(&t, &t.router, &json!({})).await;
    assert_eq!(
        (status, code(&reply)),
        (StatusCode::BAD_REQUEST, "INVALID_BODY")
    );
    // Nothing was stored: the valid half of the second body did not land.
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM feature_flags")
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    // A non-admin key cannot change flags.
    let bytes = serde_json::to_vec(&json!({ "FF_CHALLENGES": "off" })).unwrap();
    let (status, reply) = t
        .send(t.signed(Method::PUT, "/admin/flags", &bytes, &t.key))
        .await;
    assert_eq!(
        (status, code(&reply)),
        (StatusCode::FORBIDDEN, "AUTH_SCOPE_FORBIDDEN")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_a_flag_off_under_load_finishes_what_started_and_refuses_what_comes_after() {
    let t = std::sync::Arc::new(TestApp::new().await);
    let key = challenge_key(&t).await;
    let path = format!("/api/v2/challenges/{ADDRESS}");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (t, key, path, stop) = (t.clone(), key.clone(), path.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                let (status, body) = t.get(&path, &key).await;
                seen.push((started, status, code(&body).to_owned()));
                // These requests touch no I/O; yield so the admin's change gets a thread.
                tokio::task::yield_now().await;
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = put_flags(&t, &t.router, &json!({ "FF_CHALLENGES": "off" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let switched = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut before = 0;
    let mut after = 0;
    for worker in workers {
        for (started, status, code) in worker.await.unwrap() {
            // Every answer is one of the two, never a 5xx of another kind or a dropped request.
            // A request may finish after the switch (in flight), but none that started after
            // it may run.
            match code.as_str() {
                "CHAIN_NOT_CONFIGURED" => {
                    assert!(
                        started < switched,
                        "a request that started after the switch ran: {status}"
                    );
                    before += 1;
                }
                "FEATURE_DISABLED" => after += 1,
                other => panic!("unexpected answer {status} {other}"),
            }
        }
    }
    assert!(before > 0 && after > 0, "before {before}, after {after}");
}

fn get(path: &str, key: &CreatedKey) -> Request<Body> {
    Request::get(path)
        .header("x-api-key", &key.api_key)
        .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            40000,
        ))))
        .body(Body::empty())
        .unwrap()
}
