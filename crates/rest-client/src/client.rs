//! The client: credentials, the one request path every call takes (breaker, signing, retries),
//! and the typed calls.

use std::{
    num::NonZeroUsize,
    sync::{
        atomic::{AtomicI64, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use lru::LruCache;
use parking_lot::{Mutex, RwLock};
use reqwest::{header::HeaderMap, Method, Url};
use serde_json::{json, Value};
use veil_signing::{generate_nonce, sign_request, SigningSecret};

use crate::{
    breaker::{Admission, Breaker, BreakerConfig},
    error::ClientError,
    types::{ChallengeQuery, MintRequest, Minted, Session},
};

/// Who the client is.
enum Credentials {
    /// Nothing: only the keyless routes (sign-in, health).
    None,
    /// An API key and its signing secret.
    Key {
        api_key: String,
        secret: SigningSecret,
    },
    /// A wallet's session.
    Session(Session),
}

/// The fallback minter, for [`Client::mint`] when the relayer is down.
#[derive(Clone)]
struct Fallback {
    base: String,
    token: Option<String>,
}

/// Sets a [`Client`] up.
pub struct ClientBuilder {
    base: String,
    api_key: Option<(String, String)>,
    retry: veil_retry::Policy,
    breaker: BreakerConfig,
    verify_ttl: Duration,
    verify_capacity: usize,
    timeout: Duration,
    fallback: Option<Fallback>,
}

impl ClientBuilder {
    /// Signs every request with this API key and its signing secret (64 hex characters).
    pub fn api_key(mut self, api_key: &str, signing_secret: &str) -> Self {
        self.api_key = Some((api_key.to_owned(), signing_secret.to_owned()));
        self
    }

    /// Retries of idempotent calls: 3 by default, from 100 ms doubling to 2 s, with jitter.
    pub fn retry(mut self, policy: veil_retry::Policy) -> Self {
        self.retry = policy;
        self
    }

    /// When the breaker opens (5 consecutive failures, for 10 s by default).
    pub fn breaker(mut self, config: BreakerConfig) -> Self {
        self.breaker = config;
        self
    }

    /// How long a verify answer is reused (30 s by default; zero turns the cache off).
    pub fn verify_cache_ttl(mut self, ttl: Duration) -> Self {
        self.verify_ttl = ttl;
        self
    }

    /// The timeout of one request (10 s by default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Mints go to the fallback minter at `base` (with its bearer token, if it has one) when
    /// the relayer cannot take them.
    pub fn fallback(mut self, base: &str, token: Option<&str>) -> Self {
        self.fallback = Some(Fallback {
            base: base.trim_end_matches('/').to_owned(),
            token: token.map(str::to_owned),
        });
        self
    }

    /// The client.
    pub fn build(self) -> Result<Client, ClientError> {
        Url::parse(&self.base).map_err(|_| ClientError::Config("the base URL is not a URL"))?;
        let credentials = match self.api_key {
            Some((api_key, secret)) => Credentials::Key {
                api_key,
                secret: SigningSecret::from_hex(&secret).map_err(|_| {
                    ClientError::Config("the signing secret is not 64 hex characters")
                })?,
            },
            None => Credentials::None,
        };
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .build()
            .map_err(|_| ClientError::Config("the HTTP client cannot be built"))?;
        Ok(Client {
            inner: Arc::new(Inner {
                base: self.base.trim_end_matches('/').to_owned(),
                http,
                credentials: RwLock::new(credentials),
                retry: self.retry,
                breaker: Breaker::new(self.breaker),
                verify_ttl: self.verify_ttl,
                verify_cache: Mutex::new(LruCache::new(
                    NonZeroUsize::new(self.verify_capacity).unwrap_or(NonZeroUsize::MIN),
                )),
                verify_hits: AtomicU64::new(0),
                skew: AtomicI64::new(0),
                fallback: self.fallback,
            }),
        })
    }
}

struct Inner {
    base: String,
    http: reqwest::Client,
    credentials: RwLock<Credentials>,
    retry: veil_retry::Policy,
    breaker: Breaker,
    verify_ttl: Duration,
    verify_cache: Mutex<LruCache<String, (Instant, Value)>>,
    verify_hits: AtomicU64,
    /// Seconds to add to this machine's clock to get the relayer's, learned from an
    /// `AUTH_TIMESTAMP_EXPIRED` answer.
    skew: AtomicI64,
    fallback: Option<Fallback>,
}

/// A client of one relayer. Cheap to clone; clones share credentials, breaker and cache.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// 2xx.
    pub status: u16,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its JSON body (`null` when empty, a string when the route answers text).
    pub body: Value,
}

/// How a call may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Never (it could apply an effect twice).
    Never,
    /// With the policy: a read, or a write under an idempotency key.
    Idempotent,
}

impl Client {
    /// A client of the relayer at `base` (`http://127.0.0.1:8080`).
    pub fn builder(base: &str) -> ClientBuilder {
        ClientBuilder {
            base: base.to_owned(),
            api_key: None,
            retry: veil_retry::Policy::new(Duration::from_millis(100), Duration::from_secs(2), 3),
            breaker: BreakerConfig::default(),
            verify_ttl: Duration::from_secs(30),
            verify_capacity: 4_096,
            timeout: Duration::from_secs(10),
            fallback: None,
        }
    }

    /// Whether the breaker is open now.
    pub fn breaker_open(&self) -> bool {
        self.inner.breaker.is_open()
    }

    /// Verify answers served from the cache so far.
    pub fn verify_cache_hits(&self) -> u64 {
        self.inner.verify_hits.load(Ordering::Relaxed)
    }

    /// The session, when signed in.
    pub fn session(&self) -> Option<Session> {
        match &*self.inner.credentials.read() {
            Credentials::Session(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// Any route: `method` `path` (with its query) and a JSON body. Reads are retried; writes
    /// are not (use [`Client::mint`] for a retried mint).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Response, ClientError> {
        let retry = if method == Method::GET || method == Method::HEAD {
            Retry::Idempotent
        } else {
            Retry::Never
        };
        self.request(method, path, body, &[], retry).await
    }

    /// Mints an ID under a fresh `Idempotency-Key`, retried under that key (so every retry
    /// answers the same ID). When the relayer cannot take it (no answer, breaker open, 5xx
    /// after the retries) and a fallback minter is configured, the fallback mints a
    /// provisional ID.
    pub async fn mint(&self, request: &MintRequest) -> Result<Minted, ClientError> {
        let key = format!("vc-{}", hex::encode(rand::random::<[u8; 16]>()));
        self.mint_with_key(request, &key).await
    }

    /// [`mint`](Self::mint) under the caller's own idempotency key (an order id, …).
    pub async fn mint_with_key(
        &self,
        request: &MintRequest,
        idempotency_key: &str,
    ) -> Result<Minted, ClientError> {
        let body = serde_json::to_value(request)
            .map_err(|_| ClientError::Config("the mint request does not serialize"))?;
        let answer = self
            .request(
                Method::POST,
                "/api/v2/chittyid/mint",
                Some(&body),
                &[("idempotency-key", idempotency_key)],
                Retry::Idempotent,
            )
            .await;
        match answer {
            Ok(response) => Ok(Minted {
                id: response.body["id"].as_str().unwrap_or_default().to_owned(),
                provisional: response.body["provisional"].as_bool().unwrap_or(false),
                replayed: response
                    .headers
                    .get("idempotent-replayed")
                    .is_some_and(|v| v == "true"),
                via_fallback: false,
                idempotency_key: idempotency_key.to_owned(),
                body: response.body,
            }),
            Err(error) if error.is_outage() && self.inner.fallback.is_some() => {
                tracing::warn!(%error, "the relayer cannot mint; minting at the fallback");
                self.mint_at_fallback(request, idempotency_key).await
            }
            Err(error) => Err(error),
        }
    }

    async fn mint_at_fallback(
        &self,
        request: &MintRequest,
        idempotency_key: &str,
    ) -> Result<Minted, ClientError> {
        let Some(fallback) = &self.inner.fallback else {
            return Err(ClientError::Config("no fallback minter"));
        };
        let url = format!("{}/api/v2/fallback/request", fallback.base);
        let mut builder = self.inner.http.post(&url).json(&request.fallback_body());
        if let Some(token) = &fallback.token {
            builder = builder.bearer_auth(token);
        }
        let response = builder
            .send()
            .await
            .map_err(|source| ClientError::Unreachable { url, source })?;
        let answer = read(response).await?;
        Ok(Minted {
            id: answer.body["provisional_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            provisional: true,
            replayed: false,
            via_fallback: true,
            idempotency_key: idempotency_key.to_owned(),
            body: answer.body,
        })
    }

    /// `GET /api/v2/chittyid/verify/{id}`, from the cache when it answered this ID lately.
    pub async fn verify(&self, id: &str) -> Result<Value, ClientError> {
        let ttl = self.inner.verify_ttl;
        if !ttl.is_zero() {
            if let Some((at, answer)) = self.inner.verify_cache.lock().get(id) {
                if at.elapsed() < ttl {
                    self.inner.verify_hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(answer.clone());
                }
            }
        }
        let path = format!("/api/v2/chittyid/verify/{}", encode_segment(id));
        let answer = self.call(Method::GET, &path, None).await?.body;
        if !ttl.is_zero() {
            self.inner
                .verify_cache
                .lock()
                .put(id.to_owned(), (Instant::now(), answer.clone()));
        }
        Ok(answer)
    }

    /// `GET /api/v2/challenges` with `query`: one page.
    pub async fn challenges(&self, query: &ChallengeQuery) -> Result<Value, ClientError> {
        let mut url = Url::parse("http://x/api/v2/challenges").expect("a constant URL");
        let pairs = query.pairs();
        if !pairs.is_empty() {
            url.query_pairs_mut().extend_pairs(pairs);
        }
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        Ok(self.call(Method::GET, &path, None).await?.body)
    }

    /// `GET /api/v2/challenges/{address}`.
    pub async fn challenge(&self, address: &str) -> Result<Value, ClientError> {
        let path = format!("/api/v2/challenges/{}", encode_segment(address));
        Ok(self.call(Method::GET, &path, None).await?.body)
    }

    /// Signs in with a wallet: asks for the sign-in message of `address` on `chain_id`
    /// (`solana:<cluster>` or `eip155:<n>`), has `sign` sign it (base58 for Solana, 0x-hex for
    /// EVM), and from then on carries the session instead of any API key.
    pub async fn sign_in(
        &self,
        chain_id: &str,
        address: &str,
        sign: impl FnOnce(&str) -> String,
    ) -> Result<Session, ClientError> {
        let issued = self
            .request(
                Method::POST,
                "/api/v2/auth/challenge",
                Some(&json!({ "chain_id": chain_id, "address": address })),
                &[],
                Retry::Never,
            )
            .await?
            .body;
        let message = issued["message"]
            .as_str()
            .ok_or(ClientError::Config("the sign-in answer has no message"))?
            .to_owned();
        let signature = sign(&message);
        let answer = self
            .request(
                Method::POST,
                "/api/v2/auth/session",
                Some(&json!({ "message": message, "signature": signature })),
                &[],
                Retry::Never,
            )
            .await?;
        self.adopt(answer.body)
    }

    /// Trades the refresh token for new tokens (also done by itself when a call finds the
    /// token expired).
    pub async fn refresh(&self) -> Result<Session, ClientError> {
        let refresh_token = self
            .session()
            .ok_or(ClientError::Config("not signed in"))?
            .refresh_token;
        let answer = self
            .send_once(
                &Method::POST,
                "/api/v2/auth/refresh",
                Some(&json!({ "refresh_token": refresh_token })),
                &[],
                false,
            )
            .await?;
        self.adopt(answer.body)
    }

    /// Signs out (`DELETE /api/v2/auth/session`); the client is then without credentials.
    pub async fn sign_out(&self) -> Result<(), ClientError> {
        self.request(
            Method::DELETE,
            "/api/v2/auth/session",
            None,
            &[],
            Retry::Never,
        )
        .await?;
        *self.inner.credentials.write() = Credentials::None;
        Ok(())
    }

    fn adopt(&self, body: Value) -> Result<Session, ClientError> {
        let session: Session =
            serde_json::from_value(body.clone()).map_err(|_| ClientError::Unexpected {
                status: 200,
                body: body.to_string(),
            })?;
        *self.inner.credentials.write() = Credentials::Session(session.clone());
        Ok(session)
    }

    /// The one path of every call: the breaker, then the request, retried when `retry` allows
    /// and the failure is worth it; a session whose token lapsed is refreshed once.
    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
        retry: Retry,
    ) -> Result<Response, ClientError> {
        let mut delays = self.inner.retry.delays();
        let mut refreshed = false;
        let mut reclocked = false;
        loop {
            match self.inner.breaker.admit() {
                Admission::Call => {}
                Admission::Refuse(retry_after) => {
                    return Err(ClientError::BreakerOpen { retry_after })
                }
                Admission::Probe => {
                    let healthy = self.probe().await;
                    self.inner.breaker.probed(healthy);
                    if !healthy {
                        return Err(ClientError::BreakerOpen {
                            retry_after: Duration::ZERO,
                        });
                    }
                }
            }
            let error = match self.send_once(&method, path, body, headers, true).await {
                Ok(response) => {
                    self.inner.breaker.success();
                    return Ok(response);
                }
                Err(error) => error,
            };
            if error.is_outage() {
                self.inner.breaker.failure();
            } else {
                self.inner.breaker.success();
            }
            // A clock off by more than the relayer's window: the refusal says the relayer's time,
            // and nothing was done, so sign again on its clock, once.
            if let ClientError::Api { code, details, .. } = &error {
                if code == "AUTH_TIMESTAMP_EXPIRED" && !reclocked {
                    if let Some(server) = details["server_time"].as_i64() {
                        reclocked = true;
                        self.inner
                            .skew
                            .store(server - unix_now(), Ordering::Relaxed);
                        continue;
                    }
                }
            }
            if error.code() == Some("AUTH_SESSION_INVALID")
                && !refreshed
                && self.session().is_some()
            {
                refreshed = true;
                if self.refresh().await.is_ok() {
                    continue;
                }
                return Err(error);
            }
            let wait = match (&error, retry) {
                (_, Retry::Never) => None,
                (
                    ClientError::Api {
                        status: 429,
                        retry_after,
                        ..
                    },
                    Retry::Idempotent,
                ) => delays.next().map(|d| {
                    d.max(
                        Duration::from_secs(retry_after.unwrap_or(0)).min(Duration::from_secs(30)),
                    )
                }),
                (e, Retry::Idempotent)
                    if e.is_outage() && !matches!(e, ClientError::BreakerOpen { .. }) =>
                {
                    delays.next()
                }
                _ => None,
            };
            match wait {
                Some(delay) => {
                    tracing::debug!(%error, ?delay, path, "retrying");
                    tokio::time::sleep(delay).await;
                }
                None => return Err(error),
            }
        }
    }

    /// `GET /health` answered 200.
    async fn probe(&self) -> bool {
        let url = format!("{}/health", self.inner.base);
        matches!(self.inner.http.get(url).send().await, Ok(r) if r.status().is_success())
    }

    /// One request, signed afresh (a nonce works once).
    async fn send_once(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
        authenticate: bool,
    ) -> Result<Response, ClientError> {
        let url = format!("{}{path}", self.inner.base);
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let mut builder = self.inner.http.request(method.clone(), &url);
        if body.is_some() {
            builder = builder.header("content-type", "application/json");
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        if authenticate {
            match &*self.inner.credentials.read() {
                Credentials::None => {}
                Credentials::Key { api_key, secret } => {
                    let now = unix_now()
                        .saturating_add(self.inner.skew.load(Ordering::Relaxed))
                        .max(0)
                        .unsigned_abs();
                    let signed = sign_request(
                        method.as_str(),
                        path,
                        &bytes,
                        secret,
                        now,
                        &generate_nonce(),
                    );
                    builder = builder.header("x-api-key", api_key);
                    for (name, value) in signed.pairs() {
                        builder = builder.header(name, value);
                    }
                }
                Credentials::Session(session) => {
                    builder = builder.bearer_auth(&session.token);
                }
            }
        }
        let response = builder
            .body(bytes)
            .send()
            .await
            .map_err(|source| ClientError::Unreachable { url, source })?;
        read(response).await
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A 2xx as a [`Response`]; anything else as the error it says.
async fn read(response: reqwest::Response) -> Result<Response, ClientError> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let body: Option<Value> = if text.is_empty() {
        Some(Value::Null)
    } else {
        serde_json::from_str(&text).ok()
    };
    if (200..300).contains(&status) {
        // A 2xx that is not JSON (`/metrics`) is its text.
        return Ok(Response {
            status,
            headers,
            body: body.unwrap_or(Value::String(text)),
        });
    }
    let error = body.as_ref().map(|b| &b["error"]);
    match error.and_then(|e| e["code"].as_str()) {
        Some(code) => Err(ClientError::Api {
            status,
            code: code.to_owned(),
            message: error
                .and_then(|e| e["message"].as_str())
                .unwrap_or_default()
                .to_owned(),
            details: error.map(|e| e["details"].clone()).unwrap_or(Value::Null),
            retry_after: headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok()),
        }),
        None => Err(ClientError::Unexpected {
            status,
            body: text.chars().take(512).collect(),
        }),
    }
}

/// A path segment with everything but unreserved characters percent-encoded.
fn encode_segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_percent_encoded_except_unreserved() {
        assert_eq!(encode_segment("01-A-CHI-x_y.z~"), "01-A-CHI-x_y.z~");
        assert_eq!(encode_segment("a/b c?"), "a%2Fb%20c%3F");
    }

    #[test]
    fn a_bad_secret_or_url_is_a_configuration_error() {
        assert!(matches!(
            Client::builder("http://127.0.0.1:1")
                .api_key("cvk_x", "zz")
                .build(),
            Err(ClientError::Config(_))
        ));
        assert!(matches!(
            Client::builder("not a url").build(),
            Err(ClientError::Config(_))
        ));
    }
}
