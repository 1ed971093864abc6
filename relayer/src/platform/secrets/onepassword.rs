//! Secrets from a 1Password Connect server (its REST API, `GET /v1/vaults/{vault}/items/{item}`
//! with a bearer token), each addressed as `op://vault/item/field`.
//!
//! Vault and item may be named by UUID (26 lowercase letters and digits) or by name/title,
//! which is resolved once with the API's SCIM filters (`name eq "…"`, `title eq "…"`). A field
//! is matched by label, then by id; `op://vault/item/section/field` picks a field inside a
//! section (by the section's label).
//!
//! Every secret is loaded at [`OnePasswordSecrets::connect`] (which first checks `/health`),
//! kept in memory (zeroed on drop) and re-read every refresh interval by
//! [`OnePasswordSecrets::run`]; a failed refresh keeps the last values. Each request has a
//! timeout and goes through a circuit breaker, like every other dependency. Neither the token
//! nor a value is ever formatted: `Debug` redacts both, and errors name the reference only.

use std::{collections::BTreeMap, fmt, sync::Arc, time::Duration};

use parking_lot::RwLock;
use reqwest::StatusCode;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{Secret, SecretError, SecretName, SecretProvider};
use crate::platform::breaker::{BreakerConfig, CircuitBreaker};

/// A reference `op://vault/item/field` or `op://vault/item/section/field`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    /// Vault UUID or name.
    pub vault: String,
    /// Item UUID or title.
    pub item: String,
    /// Section label, when the reference names one.
    pub section: Option<String>,
    /// Field label or id.
    pub field: String,
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.section {
            Some(section) => write!(
                f,
                "op://{}/{}/{}/{}",
                self.vault, self.item, section, self.field
            ),
            None => write!(f, "op://{}/{}/{}", self.vault, self.item, self.field),
        }
    }
}

impl std::str::FromStr for SecretRef {
    type Err = OnePasswordError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || OnePasswordError::BadReference(s.to_owned());
        let rest = s.strip_prefix("op://").ok_or_else(bad)?;
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        match parts.as_slice() {
            [vault, item, field] => Ok(Self {
                vault: (*vault).into(),
                item: (*item).into(),
                section: None,
                field: (*field).into(),
            }),
            [vault, item, section, field] => Ok(Self {
                vault: (*vault).into(),
                item: (*item).into(),
                section: Some((*section).into()),
                field: (*field).into(),
            }),
            _ => Err(bad()),
        }
    }
}

/// Why the 1Password Connect server could not give a secret.
#[derive(Debug, thiserror::Error)]
pub enum OnePasswordError {
    /// Not `op://vault/item/field` (or with a section).
    #[error("`{0}` is not a secret reference: use op://vault/item/field")]
    BadReference(String),
    /// The server is unreachable, timed out, or its breaker is open.
    #[error("1Password Connect at {url} is unreachable: {reason}")]
    Unavailable {
        /// The server.
        url: String,
        /// What failed (never a value or the token).
        reason: String,
    },
    /// The token was refused (401) or lacks access (403).
    #[error("1Password Connect refused the token ({status}): {message}")]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// No vault, item or field matches the reference.
    #[error("{reference}: {what} not found")]
    NotFound {
        /// The reference.
        reference: String,
        /// `vault`, `item`, `section` or `field`.
        what: &'static str,
    },
    /// A name matches more than one vault or item.
    #[error("{reference}: more than one {what} has this name; use its UUID")]
    Ambiguous {
        /// The reference.
        reference: String,
        /// `vault` or `item`.
        what: &'static str,
    },
    /// The server answered something else.
    #[error("1Password Connect answered {status} for {reference}")]
    Unexpected {
        /// The reference.
        reference: String,
        /// The HTTP status.
        status: u16,
    },
}

/// Where the Connect server is and what to read from it.
#[derive(Clone)]
pub struct OnePasswordConfig {
    /// Base URL, e.g. `http://op-connect:8080` (`OP_CONNECT_HOST`).
    pub url: String,
    /// The Connect access token (`OP_CONNECT_TOKEN`).
    pub token: Secret,
    /// Which reference holds which secret. A secret without a reference is missing.
    pub refs: BTreeMap<SecretNameKey, SecretRef>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// The breaker in front of the server.
    pub breaker: BreakerConfig,
}

impl fmt::Debug for OnePasswordConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnePasswordConfig")
            .field("url", &self.url)
            .field("token", &"[redacted]")
            .field("refs", &self.refs)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// [`SecretName`] as an ordered map key (by its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretNameKey(&'static str);

impl From<SecretName> for SecretNameKey {
    fn from(name: SecretName) -> Self {
        Self(name.as_str())
    }
}

impl OnePasswordConfig {
    /// References for every secret: `op://<vault>/<item>/<secret name>`, each replaced by
    /// `overrides` where it names one (from `RELAYER_OP_REF_<NAME>`).
    pub fn refs_for(
        vault: &str,
        item: &str,
        overrides: impl Fn(SecretName) -> Option<String>,
    ) -> Result<BTreeMap<SecretNameKey, SecretRef>, OnePasswordError> {
        SecretName::ALL
            .iter()
            .map(|&name| {
                let reference = match overrides(name) {
                    Some(raw) => raw.parse()?,
                    None => format!("op://{vault}/{item}/{}", name.as_str()).parse()?,
                };
                Ok((SecretNameKey::from(name), reference))
            })
            .collect()
    }
}

#[derive(Deserialize)]
struct Named {
    id: String,
}

#[derive(Deserialize)]
struct FullItem {
    #[serde(default)]
    fields: Vec<Field>,
    #[serde(default)]
    sections: Vec<Section>,
}

#[derive(Deserialize)]
struct Section {
    id: String,
    #[serde(default)]
    label: Option<String>,
}

#[derive(Deserialize)]
struct Field {
    id: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    section: Option<FieldSection>,
    #[serde(default, deserialize_with = "zeroizing")]
    value: Option<Zeroizing<String>>,
}

/// A field value goes straight into memory that is zeroed on drop.
fn zeroizing<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Zeroizing<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(|value| value.map(Zeroizing::new))
}

#[derive(Deserialize)]
struct FieldSection {
    id: String,
}

#[derive(Deserialize)]
struct ConnectError {
    #[serde(default)]
    message: String,
}

/// The Connect client and its cache. A [`SecretProvider`] over the cache.
pub struct OnePasswordSecrets {
    http: reqwest::Client,
    url: String,
    token: Secret,
    refs: BTreeMap<SecretNameKey, SecretRef>,
    breaker: CircuitBreaker,
    cache: RwLock<BTreeMap<SecretNameKey, Secret>>,
}

impl fmt::Debug for OnePasswordSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnePasswordSecrets")
            .field("url", &self.url)
            .field("refs", &self.refs)
            .field("loaded", &self.cache.read().keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn is_uuid(s: &str) -> bool {
    s.len() == 26
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

impl OnePasswordSecrets {
    /// Checks the server's `/health`, then loads every referenced secret. A reference whose
    /// item or field does not exist is left missing (the secret's reader then says so); any
    /// other failure stops here.
    pub async fn connect(config: OnePasswordConfig) -> Result<Arc<Self>, OnePasswordError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| OnePasswordError::Unavailable {
                url: config.url.clone(),
                reason: e.to_string(),
            })?;
        let this = Arc::new(Self {
            http,
            url: config.url.trim_end_matches('/').to_owned(),
            token: config.token,
            refs: config.refs,
            breaker: CircuitBreaker::new("onepassword", config.breaker),
            cache: RwLock::new(BTreeMap::new()),
        });
        this.health().await?;
        this.refresh().await?;
        Ok(this)
    }

    /// `GET /health`: the server is up and answers.
    pub async fn health(&self) -> Result<(), OnePasswordError> {
        let (status, _) = self.request("/health", "health").await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(OnePasswordError::Unexpected {
                reference: "/health".into(),
                status: status.as_u16(),
            })
        }
    }

    /// Re-reads every referenced secret. Missing items or fields are logged and skipped;
    /// anything else fails the refresh and keeps the last values.
    pub async fn refresh(&self) -> Result<usize, OnePasswordError> {
        let mut loaded = BTreeMap::new();
        for (name, reference) in &self.refs {
            match self.read(reference).await {
                Ok(secret) => {
                    loaded.insert(*name, secret);
                }
                Err(OnePasswordError::NotFound { reference, what }) => {
                    tracing::warn!(secret = name.0, %reference, what, "1Password secret not found");
                }
                Err(other) => return Err(other),
            }
        }
        let count = loaded.len();
        *self.cache.write() = loaded;
        tracing::info!(loaded = count, "secrets read from 1Password Connect");
        Ok(count)
    }

    /// Refreshes every `every` until `stop` turns true; a failed refresh is logged and the
    /// last values stay.
    pub async fn run(
        self: Arc<Self>,
        every: Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(error) = self.refresh().await {
                        tracing::warn!(%error, "1Password refresh failed; keeping the last values");
                    }
                }
                _ = stop.changed() => return,
            }
        }
    }

    async fn read(&self, reference: &SecretRef) -> Result<Secret, OnePasswordError> {
        let shown = reference.to_string();
        let vault = self.resolve_vault(reference, &shown).await?;
        let item = self.resolve_item(&vault, reference, &shown).await?;
        let (status, body) = self
            .request(&format!("/v1/vaults/{vault}/items/{item}"), &shown)
            .await?;
        self.check(status, &body, &shown, "item")?;
        let item: FullItem =
            serde_json::from_slice(&body).map_err(|_| OnePasswordError::Unexpected {
                reference: shown.clone(),
                status: status.as_u16(),
            })?;
        let section = match &reference.section {
            Some(label) => Some(
                item.sections
                    .iter()
                    .find(|s| s.label.as_deref() == Some(label.as_str()) || s.id == *label)
                    .map(|s| s.id.clone())
                    .ok_or_else(|| OnePasswordError::NotFound {
                        reference: shown.clone(),
                        what: "section",
                    })?,
            ),
            None => None,
        };
        let in_section = |f: &&Field| match &section {
            Some(id) => f.section.as_ref().is_some_and(|s| &s.id == id),
            None => true,
        };
        let field = item
            .fields
            .iter()
            .filter(in_section)
            .find(|f| f.label.as_deref() == Some(reference.field.as_str()))
            .or_else(|| {
                item.fields
                    .iter()
                    .filter(in_section)
                    .find(|f| f.id == reference.field)
            })
            .and_then(|f| f.value.as_ref())
            .ok_or_else(|| OnePasswordError::NotFound {
                reference: shown.clone(),
                what: "field",
            })?;
        Ok(Secret::new(field.as_bytes().to_vec()))
    }

    async fn resolve_vault(&self, r: &SecretRef, shown: &str) -> Result<String, OnePasswordError> {
        if is_uuid(&r.vault) {
            return Ok(r.vault.clone());
        }
        let filter = format!("name eq \"{}\"", r.vault.replace('"', "\\\""));
        let path = format!("/v1/vaults?filter={}", urlencode(&filter));
        self.one(&path, shown, "vault").await
    }

    async fn resolve_item(
        &self,
        vault: &str,
        r: &SecretRef,
        shown: &str,
    ) -> Result<String, OnePasswordError> {
        if is_uuid(&r.item) {
            return Ok(r.item.clone());
        }
        let filter = format!("title eq \"{}\"", r.item.replace('"', "\\\""));
        let path = format!("/v1/vaults/{vault}/items?filter={}", urlencode(&filter));
        self.one(&path, shown, "item").await
    }

    async fn one(
        &self,
        path: &str,
        shown: &str,
        what: &'static str,
    ) -> Result<String, OnePasswordError> {
        let (status, body) = self.request(path, shown).await?;
        self.check(status, &body, shown, what)?;
        let found: Vec<Named> =
            serde_json::from_slice(&body).map_err(|_| OnePasswordError::Unexpected {
                reference: shown.to_owned(),
                status: status.as_u16(),
            })?;
        match found.as_slice() {
            [one] => Ok(one.id.clone()),
            [] => Err(OnePasswordError::NotFound {
                reference: shown.to_owned(),
                what,
            }),
            _ => Err(OnePasswordError::Ambiguous {
                reference: shown.to_owned(),
                what,
            }),
        }
    }

    fn check(
        &self,
        status: StatusCode,
        body: &[u8],
        shown: &str,
        what: &'static str,
    ) -> Result<(), OnePasswordError> {
        match status.as_u16() {
            200..=299 => Ok(()),
            401 | 403 => Err(OnePasswordError::Unauthorized {
                status: status.as_u16(),
                message: serde_json::from_slice::<ConnectError>(body)
                    .map(|e| e.message)
                    .unwrap_or_default(),
            }),
            404 => Err(OnePasswordError::NotFound {
                reference: shown.to_owned(),
                what,
            }),
            other => Err(OnePasswordError::Unexpected {
                reference: shown.to_owned(),
                status: other,
            }),
        }
    }

    /// One GET through the breaker; transport failures and 5xx count against it.
    async fn request(
        &self,
        path: &str,
        shown: &str,
    ) -> Result<(StatusCode, Zeroizing<Vec<u8>>), OnePasswordError> {
        let unavailable = |reason: String| OnePasswordError::Unavailable {
            url: self.url.clone(),
            reason,
        };
        let permit = self.breaker.try_acquire().map_err(|open| {
            unavailable(format!(
                "circuit breaker open (retry after {:?})",
                open.retry_after
            ))
        })?;
        let token = std::str::from_utf8(self.token.expose())
            .map_err(|_| unavailable("the token is not UTF-8".into()))?;
        let sent = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(token.trim())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                permit.record_failure();
                let reason = if error.is_timeout() {
                    "timed out".to_owned()
                } else {
                    "connection failed".to_owned()
                };
                tracing::warn!(
                    reference = shown,
                    reason,
                    "1Password Connect request failed"
                );
                return Err(unavailable(reason));
            }
        };
        let status = response.status();
        let body = response.bytes().await;
        match body {
            Ok(body) if !status.is_server_error() => {
                permit.record_success();
                // The body of an item holds secret values: keep it in zeroed-on-drop memory.
                Ok((status, Zeroizing::new(body.to_vec())))
            }
            Ok(_) => {
                permit.record_failure();
                Err(unavailable(format!("server error {status}")))
            }
            Err(_) => {
                permit.record_failure();
                Err(unavailable("the answer was cut off".into()))
            }
        }
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass).
fn urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl SecretProvider for OnePasswordSecrets {
    fn get(&self, name: SecretName) -> Result<Secret, SecretError> {
        let key = SecretNameKey::from(name);
        self.cache
            .read()
            .get(&key)
            .cloned()
            .ok_or_else(|| SecretError::Missing {
                name: name.as_str(),
                hint: match self.refs.get(&key) {
                    Some(reference) => format!("1Password reference {reference}"),
                    None => "no 1Password reference".into(),
                },
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_with_and_without_a_section() {
        let r: SecretRef = "op://veil/relayer/vrf_key".parse().unwrap();
        assert_eq!(
            (r.vault.as_str(), r.item.as_str(), r.field.as_str()),
            ("veil", "relayer", "vrf_key")
        );
        assert_eq!(r.section, None);
        let r: SecretRef = "op://veil/relayer/keys/vrf_key".parse().unwrap();
        assert_eq!(r.section.as_deref(), Some("keys"));
        assert_eq!(r.to_string(), "op://veil/relayer/keys/vrf_key");
        for bad in [
            "veil/relayer/x",
            "op://veil/relayer",
            "op://veil//x",
            "op://a/b/c/d/e",
        ] {
            assert!(
                matches!(
                    bad.parse::<SecretRef>(),
                    Err(OnePasswordError::BadReference(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(urlencode("title eq \"a b\""), "title%20eq%20%22a%20b%22");
        assert!(is_uuid("abcdefghijklmnopqrstuvwxyz") && !is_uuid("Vault"));
    }
}
