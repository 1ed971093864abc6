//! Secrets from 1Password Connect, against a local server that speaks the Connect REST API
//! (bearer token, `/health`, SCIM `filter`s on vaults and items, full items with sections and
//! fields, `{status, message}` errors), and a run that loads every secret with all its log
//! output and panic messages captured: no secret value and no token appears in them.

use std::{
    collections::HashMap,
    io::Write,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde_json::{json, Value};
use veil_relayer::platform::{
    breaker::BreakerConfig,
    secrets::{
        onepassword::{OnePasswordConfig, OnePasswordError, OnePasswordSecrets},
        Secret, SecretError, SecretName, SecretProvider,
    },
};

const VAULT_ID: &str = "7vs66j55o6md5btwcph272mva4";
const ITEM_ID: &str = "xz4ylhxwfd4dqwaq2nsqo2tuba";

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut b);
    hex::encode(b)
}

/// What the fake Connect server holds and saw.
struct Connect {
    token: String,
    /// Field label to value, in the item `veil-relayer` of the vault `veil`.
    fields: Mutex<HashMap<String, String>>,
    item_reads: AtomicUsize,
    healthy: std::sync::atomic::AtomicBool,
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "status": 401, "message": "Invalid token signature" })),
    )
        .into_response()
}

fn authorized(connect: &Connect, headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", connect.token))
}

async fn serve_connect(connect: Arc<Connect>) -> String {
    let app = Router::new()
        .route(
            "/health",
            get(|State(c): State<Arc<Connect>>| async move {
                if !c.healthy.load(Ordering::Relaxed) {
                    return (StatusCode::SERVICE_UNAVAILABLE, "sync unavailable").into_response();
                }
                Json(json!({
                    "name": "1Password Connect API", "version": "1.7.3",
                    "dependencies": [
                        { "service": "sync", "status": "ACTIVE" },
                        { "service": "sqlite", "status": "ACTIVE", "message": "Connected to ~/1password.sqlite" }
                    ]
                }))
                .into_response()
            }),
        )
        .route(
            "/v1/vaults",
            get(
                |State(c): State<Arc<Connect>>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>| async move {
                    if !authorized(&c, &headers) {
                        return unauthorized();
                    }
                    let all = json!([{ "id": VAULT_ID, "name": "veil", "type": "USER_CREATED",
                        "attributeVersion": 1, "contentVersion": 4, "items": 1 }]);
                    match q.get("filter").map(String::as_str) {
                        Some("name eq \"veil\"") | None => Json(all).into_response(),
                        Some(_) => Json(json!([])).into_response(),
                    }
                },
            ),
        )
        .route(
            "/v1/vaults/{vault}/items",
            get(
                |State(c): State<Arc<Connect>>, headers: HeaderMap, Path(vault): Path<String>, Query(q): Query<HashMap<String, String>>| async move {
                    if !authorized(&c, &headers) {
                        return unauthorized();
                    }
                    if vault != VAULT_ID {
                        return (StatusCode::NOT_FOUND, Json(json!({ "status": 404, "message": "vault not found" }))).into_response();
                    }
                    match q.get("filter").map(String::as_str) {
                        Some("title eq \"veil-relayer\"") => Json(json!([{
                            "id": ITEM_ID, "title": "veil-relayer", "vault": { "id": VAULT_ID },
                            "category": "API_CREDENTIAL", "version": 3,
                            "createdAt": "2026-11-30T09:12:01Z", "updatedAt": "2026-12-01T10:40:12Z"
                        }]))
                        .into_response(),
                        _ => Json(json!([])).into_response(),
                    }
                },
            ),
        )
        .route(
            "/v1/vaults/{vault}/items/{item}",
            get(
                |State(c): State<Arc<Connect>>, headers: HeaderMap, Path((vault, item)): Path<(String, String)>| async move {
                    if !authorized(&c, &headers) {
                        return unauthorized();
                    }
                    if vault != VAULT_ID || item != ITEM_ID {
                        return (StatusCode::NOT_FOUND, Json(json!({ "status": 404, "message": "item not found" }))).into_response();
                    }
                    c.item_reads.fetch_add(1, Ordering::Relaxed);
                    let fields: Vec<Value> = c
                        .fields
                        .lock()
                        .unwrap()
                        .iter()
                        .enumerate()
                        .map(|(i, (label, value))| json!({
                            "id": format!("field{i:02}"), "type": "CONCEALED", "label": label,
                            "value": value, "section": { "id": "keys" }
                        }))
                        .chain([json!({ "id": "notesPlain", "type": "STRING", "purpose": "NOTES", "label": "notesPlain", "value": "relayer secrets" })])
                        .collect();
                    Json(json!({
                        "id": ITEM_ID, "title": "veil-relayer", "vault": { "id": VAULT_ID },
                        "category": "API_CREDENTIAL", "version": 3,
                        "sections": [{ "id": "keys", "label": "keys" }],
                        "fields": fields,
                        "createdAt": "2026-11-30T09:12:01Z", "updatedAt": "2026-12-01T10:40:12Z"
                    }))
                    .into_response()
                },
            ),
        )
        .with_state(connect);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Secrets for every name, random per test.
fn fresh_secrets() -> HashMap<String, String> {
    SecretName::ALL
        .iter()
        .map(|name| {
            let value = match name {
                SecretName::FallbackToken => format!("fallback-{}", random_hex(16)),
                _ => random_hex(32),
            };
            (name.as_str().to_owned(), value)
        })
        .collect()
}

fn config(url: &str, token: &str) -> OnePasswordConfig {
    OnePasswordConfig {
        url: url.to_owned(),
        token: Secret::new(token.as_bytes().to_vec()),
        refs: OnePasswordConfig::refs_for("veil", "veil-relayer", |_| None).unwrap(),
        timeout: Duration::from_secs(2),
        breaker: BreakerConfig {
            failure_threshold: 2,
            open_for: Duration::from_secs(30),
        },
    }
}

fn connect_with(fields: HashMap<String, String>) -> Arc<Connect> {
    Arc::new(Connect {
        token: format!("eyJ{}", random_hex(24)),
        fields: Mutex::new(fields),
        item_reads: AtomicUsize::new(0),
        healthy: std::sync::atomic::AtomicBool::new(true),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_secret_is_read_by_name_and_refreshed_and_each_failure_is_typed() {
    let values = fresh_secrets();
    let connect = connect_with(values.clone());
    let url = serve_connect(connect.clone()).await;
    let provider = OnePasswordSecrets::connect(config(&url, &connect.token))
        .await
        .unwrap();
    for name in SecretName::ALL {
        assert_eq!(
            provider.get(name).unwrap().expose(),
            values[name.as_str()].as_bytes(),
            "{}",
            name.as_str()
        );
    }
    // A section-qualified reference and an id-qualified field work too.
    let mut section = config(&url, &connect.token);
    section.refs = OnePasswordConfig::refs_for("veil", "veil-relayer", |name| {
        (name == SecretName::VrfKey).then(|| format!("op://{VAULT_ID}/{ITEM_ID}/keys/vrf_key"))
    })
    .unwrap();
    let by_uuid = OnePasswordSecrets::connect(section).await.unwrap();
    assert_eq!(
        by_uuid.get(SecretName::VrfKey).unwrap().expose(),
        values["vrf_key"].as_bytes()
    );

    // A rotated value is picked up by the next refresh.
    let rotated = random_hex(32);
    connect
        .fields
        .lock()
        .unwrap()
        .insert("hmac_master".into(), rotated.clone());
    let reads = connect.item_reads.load(Ordering::Relaxed);
    assert_eq!(provider.refresh().await.unwrap(), SecretName::ALL.len());
    assert!(connect.item_reads.load(Ordering::Relaxed) > reads);
    assert_eq!(
        provider.get(SecretName::HmacMaster).unwrap().expose(),
        rotated.as_bytes()
    );

    // A field that is not in the item: that secret is missing, named by its reference.
    connect.fields.lock().unwrap().remove("fallback_token");
    provider.refresh().await.unwrap();
    match provider.get(SecretName::FallbackToken) {
        Err(SecretError::Missing { name, hint }) => {
            assert_eq!(name, "fallback_token");
            assert_eq!(
                hint,
                "1Password reference op://veil/veil-relayer/fallback_token"
            );
        }
        other => panic!("expected Missing, got {other:?}"),
    }

    // A wrong token: 401 with the server's message, and the last values stay.
    let wrong = OnePasswordSecrets::connect(config(&url, "not-the-token")).await;
    match wrong {
        Err(OnePasswordError::Unauthorized { status, message }) => {
            assert_eq!((status, message.as_str()), (401, "Invalid token signature"));
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    // An unknown vault or item.
    let mut unknown = config(&url, &connect.token);
    unknown.refs = OnePasswordConfig::refs_for("nope", "veil-relayer", |_| None).unwrap();
    match OnePasswordSecrets::connect(unknown).await {
        Ok(p) => assert!(matches!(
            p.get(SecretName::VrfKey),
            Err(SecretError::Missing { .. })
        )),
        Err(e) => panic!("a missing vault leaves secrets missing, not {e}"),
    }
    // A bad reference is refused before anything is asked.
    assert!(matches!(
        OnePasswordConfig::refs_for("veil", "veil-relayer", |_| Some("vault/item/field".into())),
        Err(OnePasswordError::BadReference(_))
    ));

    // The server goes away: the refresh fails as Unavailable, keeps the values, and the
    // breaker opens after two failures (no request reaches the dead address after that).
    connect.healthy.store(false, Ordering::Relaxed);
    assert!(matches!(
        provider.health().await,
        Err(OnePasswordError::Unavailable { .. })
    ));
    assert!(matches!(
        provider.health().await,
        Err(OnePasswordError::Unavailable { .. })
    ));
    match provider.refresh().await {
        Err(OnePasswordError::Unavailable { reason, .. }) => {
            assert!(reason.contains("circuit breaker open"), "{reason}")
        }
        other => panic!("expected the breaker to be open, got {other:?}"),
    }
    assert_eq!(
        provider.get(SecretName::HmacMaster).unwrap().expose(),
        rotated.as_bytes()
    );
    let dead = OnePasswordSecrets::connect(config("http://127.0.0.1:1", &connect.token)).await;
    assert!(matches!(dead, Err(OnePasswordError::Unavailable { .. })));
}

/// A writer that appends to a shared buffer (the captured log output).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_run_that_loads_every_secret_logs_and_panics_without_any_of_them() {
    let logs = Captured::default();
    let panics: Arc<Mutex<Vec<String>>> = Arc::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer({
            let logs = logs.clone();
            move || logs.clone()
        })
        .finish();
    let previous_hook = Arc::new(std::panic::take_hook());
    {
        let panics = panics.clone();
        let previous_hook = previous_hook.clone();
        std::panic::set_hook(Box::new(move |info| {
            panics.lock().unwrap().push(info.to_string());
            (previous_hook.as_ref())(info);
        }));
    }
    let values = fresh_secrets();
    let connect = connect_with(values.clone());
    let token = connect.token.clone();
    // One thread runs everything (a current-thread runtime), so the thread's subscriber sees
    // every log line of the run.
    tracing::subscriber::with_default(subscriber, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let url = serve_connect(connect.clone()).await;
            let provider = OnePasswordSecrets::connect(config(&url, &token))
                .await
                .unwrap();
            // The whole relayer starts on these secrets and mints with the 1Password VRF key.
            let t = super::support::TestApp::with_secrets(provider.clone()).await;
            let (status, body) = t
                .mint(&"ef".repeat(32), &super::support::fresh_nonce())
                .await;
            assert_eq!(status.as_u16(), 201, "{body}");
            provider.refresh().await.unwrap();
            // Failures log too: a wrong token, a dead server.
            let _ = OnePasswordSecrets::connect(config(&url, "wrong-token")).await;
            let _ = OnePasswordSecrets::connect(config("http://127.0.0.1:1", &token)).await;
            // A panic that formats the provider and its config.
            let config_shown = format!("{:?}", config(&url, &token));
            let provider_shown = format!("{provider:?}");
            let join = tokio::spawn(async move {
                panic!("provider {provider_shown} with {config_shown}");
            })
            .await;
            assert!(join.is_err());
            tracing::info!(?provider, "run finished");
        });
    });
    let _ = std::panic::take_hook();
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let panics = panics.lock().unwrap().join("\n");
    assert!(
        logs.contains("secrets read from 1Password Connect"),
        "the run was not captured:\n{logs}"
    );
    assert!(panics.contains("[redacted]"), "{panics}");
    for (name, value) in values
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .chain([("token", token.as_str())])
    {
        assert!(
            !logs.contains(value),
            "the {name} value appears in the logs"
        );
        assert!(
            !panics.contains(value),
            "the {name} value appears in a panic message"
        );
    }
}
