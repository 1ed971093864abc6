//! A local server that speaks the two notification APIs the relayer uses, as their public
//! references describe them: Resend's `POST /emails` (bearer key, JSON, `Idempotency-Key`,
//! `200 {"id": …}`, errors `{"statusCode", "message", "name"}`) and Twilio's
//! `POST /2010-04-01/Accounts/{sid}/Messages.json` (basic auth, form-encoded `To`, `From`,
//! `Body`, `201` with the message resource, errors `{"code", "message", "more_info",
//! "status"}`; `+15005550001` is Twilio's test number for an invalid `To`). It records what it
//! took and can be switched into an outage (`503` to everything).

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
};

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    routing::post,
    Form, Json, Router,
};
use base64::Engine;
use serde_json::{json, Value};

/// The account SID the SMS tests use.
pub const ACCOUNT_SID: &str = "AC00000000000000000000000000000001";

/// Twilio's magic test number for an invalid `To`.
pub const INVALID_TO: &str = "+15005550001";

/// One email the server took.
#[derive(Debug, Clone)]
pub struct Email {
    /// The JSON body.
    pub body: Value,
    /// The `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
    /// The id it answered.
    pub id: String,
}

/// One SMS the server took.
#[derive(Debug, Clone)]
pub struct Sms {
    /// The form fields.
    pub form: HashMap<String, String>,
    /// The `sid` it answered.
    pub sid: String,
}

#[derive(Default)]
struct Inner {
    down: AtomicBool,
    hits: AtomicUsize,
    emails: Mutex<Vec<Email>>,
    sms: Mutex<Vec<Sms>>,
}

/// The running server.
pub struct Providers {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Providers {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Providers {
    /// Starts on a free port, accepting `email_key` and `sms_token`.
    pub async fn start(email_key: &'static str, sms_token: &'static str) -> Self {
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/emails", post(email))
            .route("/2010-04-01/Accounts/{sid}/Messages.json", post(sms))
            .with_state((inner.clone(), email_key, sms_token));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Self { base, inner, task }
    }

    /// Starts or ends an outage.
    pub fn set_down(&self, down: bool) {
        self.inner.down.store(down, Ordering::SeqCst);
    }

    /// Requests that reached the server.
    pub fn hits(&self) -> usize {
        self.inner.hits.load(Ordering::SeqCst)
    }

    /// The emails taken.
    pub fn emails(&self) -> Vec<Email> {
        self.inner.emails.lock().unwrap().clone()
    }

    /// The SMS taken.
    pub fn sms(&self) -> Vec<Sms> {
        self.inner.sms.lock().unwrap().clone()
    }
}

/// A Resend-style id (a v4 UUID's shape).
fn random_id() -> String {
    let hex = crate::relayer::support::fresh_nonce();
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

type Shared = (Arc<Inner>, &'static str, &'static str);

fn outage() -> (StatusCode, Json<Value>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "message": "service unavailable" })),
    )
}

async fn email(
    State((inner, key, _)): State<Shared>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, Json<Value>) {
    inner.hits.fetch_add(1, Ordering::SeqCst);
    if inner.down.load(Ordering::SeqCst) {
        return outage();
    }
    let error = |status: StatusCode, name: &str, message: &str| {
        (
            status,
            Json(json!({ "statusCode": status.as_u16(), "message": message, "name": name })),
        )
    };
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(given) = auth.strip_prefix("Bearer ") else {
        return error(
            StatusCode::UNAUTHORIZED,
            "missing_api_key",
            "Missing API key in the authorization header",
        );
    };
    if given != key {
        return error(
            StatusCode::FORBIDDEN,
            "invalid_api_key",
            "API key is invalid",
        );
    }
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
            "Invalid JSON",
        );
    };
    for field in ["from", "to", "subject"] {
        if body.get(field).is_none() {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "missing_required_field",
                &format!("Missing `{field}` field."),
            );
        }
    }
    let idempotency_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut emails = inner.emails.lock().unwrap();
    // A key seen before answers the first email's id and sends nothing new.
    if let Some(seen) = emails
        .iter()
        .find(|e| idempotency_key.is_some() && e.idempotency_key == idempotency_key)
    {
        return (StatusCode::OK, Json(json!({ "id": seen.id })));
    }
    let id = random_id();
    emails.push(Email {
        body,
        idempotency_key,
        id: id.clone(),
    });
    (StatusCode::OK, Json(json!({ "id": id })))
}

async fn sms(
    State((inner, _, token)): State<Shared>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    inner.hits.fetch_add(1, Ordering::SeqCst);
    if inner.down.load(Ordering::SeqCst) {
        return outage();
    }
    let error = |status: StatusCode, code: u32, message: String| {
        (
            status,
            Json(json!({
                "code": code, "message": message, "status": status.as_u16(),
                "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            })),
        )
    };
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{sid}:{token}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate".into());
    }
    let Some(to) = form.get("To").cloned() else {
        return error(
            StatusCode::BAD_REQUEST,
            21604,
            "A 'To' phone number is required.".into(),
        );
    };
    if to == INVALID_TO {
        return error(
            StatusCode::BAD_REQUEST,
            21211,
            format!("The 'To' number {to} is not a valid phone number."),
        );
    }
    let message_sid = format!("SM{}", crate::relayer::support::fresh_nonce());
    let answer = json!({
        "account_sid": sid,
        "api_version": "2010-04-01",
        "body": form.get("Body"),
        "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
        "direction": "outbound-api",
        "error_code": null,
        "from": form.get("From"),
        "num_segments": "1",
        "price": null,
        "sid": message_sid,
        "status": "queued",
        "to": to,
        "uri": format!("/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json"),
    });
    inner.sms.lock().unwrap().push(Sms {
        form,
        sid: message_sid,
    });
    (StatusCode::CREATED, Json(answer))
}
