//! `/api/v2/chittyid/*`: mint, verify, reconcile, and the admin batch cut.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    Extension, Json,
};
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use veil_chittyid::{
    provisional::ProvisionalRecord, ChittyId, ChittyIdError, EntityType, IssuerClass,
};

use std::sync::Arc;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    chittyid::{
        anchor::Anchorer,
        batch::{BatchSummary, Batcher},
        evidence::Evidence,
        legacy,
        mint::{
            alpha::MAX_NONCE_LEN,
            service::{MintOutcome, MintService, MintServiceError},
            Idempotency, Metadata, MintError, MintRequest,
        },
        reconcile::{ReconcileReport, Reconciler},
        store,
        verify::Verifier,
    },
    platform::{
        auth::{self, AuthService, Principal, Scope, SessionPrincipal},
        error::{ApiError, ErrorBody, ErrorCode},
        http::ApiJson,
    },
};

/// What the ChittyID handlers call.
#[derive(Clone)]
pub struct ChittyIdApi {
    /// Mint with fallback.
    pub mints: Arc<MintService>,
    /// Verification with its cache.
    pub verifier: Arc<Verifier>,
    /// Batches.
    pub batcher: Arc<Batcher>,
    /// Reconciliation.
    pub reconciler: Arc<Reconciler>,
    /// The anchorer, with `RELAYER_RPC_URL`.
    pub anchorer: Option<Arc<Anchorer>>,
    /// PostgreSQL (legacy lookups).
    pub pool: sqlx::PgPool,
    /// How long an `Idempotency-Key` answers its mint's ID.
    pub idempotency_ttl: std::time::Duration,
}

/// The ChittyID routes with their OpenAPI paths: mint and verify under their scopes;
/// reconcile and the batch operations under `admin` and the IP allowlist.
pub fn routes(state: ChittyIdApi, auth: &Arc<AuthService>) -> OpenApiRouter {
    // Mint and verify take an API key or a person's session.
    let minting =
        OpenApiRouter::new()
            .routes(routes!(mint))
            .route_layer(auth::require_key_or_session(
                auth.clone(),
                Scope::ChittyIdMint,
            ));
    let verifying = OpenApiRouter::new()
        .routes(routes!(verify))
        .routes(routes!(metadata))
        .route_layer(auth::require_key_or_session(
            auth.clone(),
            Scope::ChittyIdVerify,
        ));
    let legacy_lookup = OpenApiRouter::new()
        .routes(routes!(legacy))
        .route_layer(auth::require(auth.clone(), Scope::ChittyIdVerify));
    let admin = OpenApiRouter::new()
        .routes(routes!(reconcile))
        .routes(routes!(cut_batch))
        .routes(routes!(anchor_batches))
        .route_layer(auth::require(auth.clone(), Scope::Admin))
        .route_layer(auth::admin_only(auth.clone()));
    minting
        .merge(verifying)
        .merge(legacy_lookup)
        .merge(admin)
        .with_state(state)
}

/// `POST /api/v2/chittyid/mint`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MintBody {
    /// 3 or 4 uppercase letters, e.g. `CHI`.
    pub namespace: String,
    /// One of `P L T E A I`.
    pub entity_type: String,
    /// 0–9 (default 0).
    #[serde(default)]
    pub trust_level: u8,
    /// The content, base64 (give this or `content_hash`).
    pub content: Option<String>,
    /// SHA-256 of the content, 64 hex characters (give this or `content`).
    pub content_hash: Option<String>,
    /// 1–64 bytes, hex. Generated when absent (and returned in the evidence).
    pub request_nonce: Option<String>,
    /// Optional metadata, kept off chain: at most 32 keys `[A-Za-z0-9_.-]{1,64}`, each a
    /// string (≤ 512 characters), number, boolean or null; 4 KiB in all.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Whether anyone may read the metadata (default: only who minted).
    #[serde(default)]
    pub metadata_public: bool,
}

const METADATA_MAX_KEYS: usize = 32;
const METADATA_MAX_BYTES: usize = 4096;
const METADATA_MAX_STRING: usize = 512;

/// Checks `metadata`: its canonical JSON (keys sorted), or the rule it breaks.
fn checked_metadata(
    metadata: &serde_json::Map<String, serde_json::Value>,
) -> Result<String, ApiError> {
    let refuse = |rule: &str, key: Option<&str>| {
        ApiError::new(
            ErrorCode::MintMetadataInvalid,
            format!("`metadata`: {rule}"),
        )
        .with_details(serde_json::json!({ "rule": rule, "key": key }))
    };
    if metadata.len() > METADATA_MAX_KEYS {
        return Err(refuse("at most 32 keys", None));
    }
    for (key, value) in metadata {
        let key_ok = (1..=64).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !key_ok {
            return Err(refuse(
                "keys are 1-64 characters of A-Z a-z 0-9 _ . -",
                Some(key),
            ));
        }
        match value {
            serde_json::Value::String(text) if text.chars().count() > METADATA_MAX_STRING => {
                return Err(refuse("strings are at most 512 characters", Some(key)))
            }
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                return Err(refuse(
                    "values are strings, numbers, booleans or null",
                    Some(key),
                ))
            }
            _ => {}
        }
    }
    let json = serde_json::to_string(metadata).unwrap_or_default();
    if json.len() > METADATA_MAX_BYTES {
        return Err(refuse("at most 4096 bytes of JSON in all", None));
    }
    Ok(json)
}

/// A mint's answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MintResponse {
    /// The ID.
    pub id: String,
    /// `A` (authoritative) or `F` (provisional, from the fallback minter).
    pub issuer: String,
    /// True for an `F` ID, which reconciliation will replace with an `A` ID.
    pub provisional: bool,
    /// `pending` (not yet anchored) or `provisional`.
    pub status: String,
    /// Evidence of an authoritative ID.
    pub evidence: Option<Evidence>,
    /// The fallback minter's signed record of a provisional ID.
    #[schema(value_type = Option<Object>)]
    pub provisional_record: Option<ProvisionalRecord>,
    /// The metadata stored with it, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

/// `GET /api/v2/chittyid/verify/{id}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VerifyResponse {
    /// Always true on 200: grammar, check character and issuance hold.
    pub valid: bool,
    /// Everything a third party needs to re-verify offline.
    pub evidence: Evidence,
}

/// `POST /api/v2/chittyid/reconcile` (body optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconcileBody {
    /// Records to import; when absent, every record of the fallback minter after `after`.
    #[schema(value_type = Option<Vec<Object>>)]
    pub records: Option<Vec<ProvisionalRecord>>,
    /// Fallback sequence number to start after (default 0).
    #[serde(default)]
    pub after: u64,
}

/// One anchored batch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AnchoredBatch {
    /// Batch id (`first_seq` of its on-chain `IdBatch`).
    pub batch_id: i64,
    /// The `anchor_id_batch` transaction (base58).
    pub signature: String,
    /// Its slot.
    pub slot: u64,
}

/// `POST /admin/batches/anchor`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AnchorResponse {
    /// The batches anchored by this call, oldest first.
    pub anchored: Vec<AnchoredBatch>,
}

/// `POST /admin/batches/cut`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CutResponse {
    /// The batch cut, if any ID was waiting.
    pub batch: Option<BatchSummary>,
}

/// Who asked, for the audit column: the API key's id, or `wallet:<chain>:<address>` for a
/// session.
fn requester(principal: Option<&Principal>, session: Option<&SessionPrincipal>) -> Option<String> {
    principal
        .map(|p| p.key_id.clone())
        .or_else(|| session.map(|s| format!("wallet:{}:{}", s.chain_id, s.address)))
}

/// The `Idempotency-Key` header: 1–255 visible ASCII characters, if sent.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .map(|k| Some(k.to_owned()))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidIdempotencyKey,
                "`Idempotency-Key` must be 1 to 255 visible ASCII characters",
            )
        })
}

fn mint_request(
    body: MintBody,
    requester: Option<String>,
    key: Option<String>,
    ttl: std::time::Duration,
) -> Result<MintRequest, ApiError> {
    let entity = EntityType::from_letter(&body.entity_type).ok_or_else(|| {
        ApiError::from(ChittyIdError::InvalidEntityType {
            found: body.entity_type.clone(),
        })
    })?;
    // The grammar validates namespace and trust level once, here, before any work.
    ChittyId::new(
        IssuerClass::Authoritative,
        &body.namespace,
        "00000000",
        entity,
        0,
        1,
        body.trust_level,
    )?;
    let content_hash: [u8; 32] = match (&body.content, &body.content_hash) {
        (Some(content), None) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(content)
                .map_err(|_| {
                    ApiError::new(ErrorCode::InvalidContent, "`content` is not valid base64")
                })?;
            Sha256::digest(bytes).into()
        }
        (None, Some(hash)) => hex::decode(hash)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidContent,
                    "`content_hash` must be 64 hex characters (a SHA-256)",
                )
            })?,
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidContent,
                "give exactly one of `content` (base64) and `content_hash` (hex SHA-256)",
            ))
        }
    };
    let metadata = match &body.metadata {
        Some(object) => Some(Arc::new(Metadata {
            json: checked_metadata(object)?,
            public: body.metadata_public,
        })),
        None => None,
    };
    // What an idempotent retry must repeat: every field as the client gave it (a generated
    // nonce is not part of it), the metadata included.
    let idempotency = requester.clone().zip(key).map(|(requester, key)| {
        let fingerprint = Sha256::new()
            .chain_update(b"mint-v1\n")
            .chain_update(body.namespace.as_bytes())
            .chain_update(b"\n")
            .chain_update(body.entity_type.as_bytes())
            .chain_update([b'\n', body.trust_level, b'\n'])
            .chain_update(content_hash)
            .chain_update(b"\n")
            .chain_update(body.request_nonce.as_deref().unwrap_or("-").as_bytes())
            .chain_update(b"\n")
            .chain_update(
                metadata
                    .as_ref()
                    .map_or("-", |m| m.json.as_str())
                    .as_bytes(),
            )
            .chain_update([u8::from(body.metadata_public)])
            .finalize()
            .into();
        Arc::new(Idempotency {
            requester,
            key,
            fingerprint,
            ttl_secs: i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX),
        })
    });
    let nonce = match &body.request_nonce {
        Some(hex_nonce) => hex::decode(hex_nonce)
            .ok()
            .filter(|n| (1..=MAX_NONCE_LEN).contains(&n.len()))
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidRequestNonce,
                    format!("`request_nonce` must be 1 to {MAX_NONCE_LEN} bytes of hex"),
                )
            })?,
        None => {
            let mut nonce = vec![0u8; 16];
            rand::thread_rng().fill_bytes(&mut nonce);
            nonce
        }
    };
    Ok(MintRequest {
        namespace: body.namespace,
        entity,
        trust: body.trust_level,
        content_hash,
        nonce,
        api_key_id: requester,
        idempotency,
        metadata,
    })
}

/// A mint answered from its `Idempotency-Key`: the ID the key minted, if the request is the
/// same; a conflict if it is not; `None` if the key is new.
async fn replayed(
    state: &ChittyIdApi,
    request: &MintRequest,
) -> Result<Option<MintResponse>, ApiError> {
    let Some(key) = &request.idempotency else {
        return Ok(None);
    };
    let Some((id, fingerprint)) =
        store::idempotent_mint(&state.pool, &key.requester, &key.key).await?
    else {
        return Ok(None);
    };
    if fingerprint != key.fingerprint {
        return Err(ApiError::new(
            ErrorCode::MintIdempotencyConflict,
            "this Idempotency-Key was used for a different mint request",
        )
        .with_details(serde_json::json!({ "id": id })));
    }
    let evidence = state.verifier.verify(&id).await?;
    Ok(Some(MintResponse {
        id: evidence.id.clone(),
        issuer: "A".into(),
        provisional: false,
        status: evidence.status.clone(),
        evidence: Some((*evidence).clone()),
        provisional_record: None,
        metadata: request
            .metadata
            .as_ref()
            .and_then(|m| serde_json::from_str(&m.json).ok()),
    }))
}

/// Mints a ChittyID (SPEC §5.2). Durable before it answers.
#[utoipa::path(
    post, path = "/api/v2/chittyid/mint", tag = "chittyid",
    request_body = MintBody,
    params(
        ("X-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Nonce" = String, Header, description = "Single-use request nonce"),
        ("X-Signature" = String, Header, description = "Hex HMAC-SHA256 of the canonical request"),
        ("Idempotency-Key" = Option<String>, Header, description = "1–255 visible ASCII characters: the same key with the same request answers the same ID (200, `Idempotent-Replayed: true`)"),
    ),
    responses(
        (status = 201, body = MintResponse, description = "Minted (authoritative, or provisional when drand is unavailable)"),
        (status = 200, body = MintResponse, description = "Replayed: the ID this Idempotency-Key minted"),
        (status = 409, body = ErrorBody, description = "`MINT_IDEMPOTENCY_CONFLICT`: the key was used for another request"),
        (status = 400, body = ErrorBody, description = "Invalid namespace, type, trust level, content or nonce"),
        (status = 401, body = ErrorBody, description = "Missing/invalid key or signature, expired timestamp, replayed nonce"),
        (status = 429, body = ErrorBody, description = "Rate limited"),
        (status = 503, body = ErrorBody, description = "drand (and fallback) or database unavailable"),
    ),
    security(("api_key" = []), ("session" = []))
)]
pub async fn mint(
    State(state): State<ChittyIdApi>,
    principal: Option<Extension<Principal>>,
    session: Option<Extension<SessionPrincipal>>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<MintBody>,
) -> Result<(StatusCode, HeaderMap, Json<MintResponse>), ApiError> {
    let request = mint_request(
        body,
        requester(principal.as_deref(), session.as_deref()),
        idempotency_key(&headers)?,
        state.idempotency_ttl,
    )?;
    let replay = |response: MintResponse| {
        let mut headers = HeaderMap::new();
        headers.insert(
            "idempotent-replayed",
            axum::http::HeaderValue::from_static("true"),
        );
        (StatusCode::OK, headers, Json(response))
    };
    if let Some(response) = replayed(&state, &request).await? {
        return Ok(replay(response));
    }
    let outcome = match state.mints.mint(request.clone()).await {
        Err(MintServiceError::Mint(MintError::Replayed)) => {
            // A concurrent mint with the same key committed first.
            return match replayed(&state, &request).await? {
                Some(response) => Ok(replay(response)),
                None => Err(ApiError::internal("mint", "idempotency key vanished")),
            };
        }
        other => other?,
    };
    let metadata = request
        .metadata
        .as_ref()
        .and_then(|m| serde_json::from_str(&m.json).ok());
    let response = match outcome {
        MintOutcome::Authoritative(evidence) => MintResponse {
            id: evidence.id.clone(),
            issuer: "A".into(),
            provisional: false,
            status: evidence.status.clone(),
            evidence: Some(*evidence),
            provisional_record: None,
            metadata,
        },
        MintOutcome::Provisional(record) => {
            // A provisional ID has no row here; its metadata is stored beside it now.
            if let Some(m) = &request.metadata {
                store::insert_metadata_one(
                    &state.pool,
                    &record.provisional_id,
                    request.api_key_id.as_deref(),
                    m,
                )
                .await?;
            }
            MintResponse {
                id: record.provisional_id.clone(),
                issuer: "F".into(),
                provisional: true,
                status: "provisional".into(),
                evidence: None,
                provisional_record: Some(*record),
                metadata,
            }
        }
    };
    Ok((StatusCode::CREATED, HeaderMap::new(), Json(response)))
}

/// Verifies a ChittyID and returns all of its evidence (SPEC §5.3).
#[utoipa::path(
    get, path = "/api/v2/chittyid/verify/{id}", tag = "chittyid",
    params(("id" = String, Path, description = "A ChittyID, e.g. 01-A-CHI-7K3M9QXP-I-2611-Z-0")),
    responses(
        (status = 200, body = VerifyResponse),
        (status = 400, body = ErrorBody, description = "Malformed, legacy shape, or check character mismatch"),
        (status = 404, body = ErrorBody, description = "Well-formed but not issued here"),
    ),
    security(("api_key" = []))
)]
pub async fn verify(
    State(state): State<ChittyIdApi>,
    Path(id): Path<String>,
) -> Result<Json<VerifyResponse>, ApiError> {
    let evidence = state.verifier.verify(&id).await?;
    Ok(Json(VerifyResponse {
        valid: true,
        evidence: (*evidence).clone(),
    }))
}

/// An ID's metadata.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MetadataResponse {
    /// The ID.
    pub id: String,
    /// The object stored with its mint.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// Whether anyone may read it.
    pub public: bool,
}

/// The metadata stored with an ID: for whoever minted it, or anyone if it is public.
#[utoipa::path(
    get, path = "/api/v2/chittyid/{id}/metadata", tag = "chittyid",
    params(("id" = String, Path, description = "A ChittyID")),
    responses(
        (status = 200, body = MetadataResponse),
        (status = 404, body = ErrorBody, description = "`CHITTYID_METADATA_NOT_FOUND`: none, or private to its minter"),
    ),
    security(("api_key" = []), ("session" = []))
)]
pub async fn metadata(
    State(state): State<ChittyIdApi>,
    principal: Option<Extension<Principal>>,
    session: Option<Extension<SessionPrincipal>>,
    Path(id): Path<String>,
) -> Result<Json<MetadataResponse>, ApiError> {
    let caller = requester(principal.as_deref(), session.as_deref());
    let not_found = || {
        ApiError::new(
            ErrorCode::ChittyIdMetadataNotFound,
            "no metadata of this ID is visible to this caller",
        )
    };
    let (minter, json, public) = store::metadata(&state.pool, &id)
        .await?
        .ok_or_else(not_found)?;
    // Private metadata answers as if there were none: its existence is the minter's business.
    if !public && (minter.is_none() || minter != caller) {
        return Err(not_found());
    }
    Ok(Json(MetadataResponse {
        id,
        metadata: serde_json::from_str(&json).unwrap_or(serde_json::Value::Null),
        public,
    }))
}

/// The current ID an imported legacy ID became.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LegacyResponse {
    /// The old ID, as imported.
    pub legacy_id: String,
    /// The current ID minted for it (verify it at `/api/v2/chittyid/verify/{id}`).
    pub id: String,
    /// Its entity type.
    pub entity_type: String,
    /// When it was imported.
    pub imported_at: chrono::DateTime<chrono::Utc>,
    /// The new ID's content hash: `SHA-256("chittyid-legacy:" ‖ legacy_id)`, hex.
    pub content_sha256: String,
}

/// Looks up a legacy ID (`CT-A-CHI-1234-I-24-A-0`, `01-C-PROD-0001-P-2501-A-X`) imported with
/// `veil-relayer legacy import`.
#[utoipa::path(
    get, path = "/api/v2/chittyid/{id}", tag = "chittyid",
    params(("id" = String, Path, description = "A legacy ChittyID")),
    responses(
        (status = 200, body = LegacyResponse),
        (status = 400, body = ErrorBody, description = "`CHITTYID_NOT_LEGACY`"),
        (status = 404, body = ErrorBody, description = "`CHITTYID_LEGACY_NOT_IMPORTED`"),
    ),
    security(("api_key" = []))
)]
pub async fn legacy(
    State(state): State<ChittyIdApi>,
    Path(id): Path<String>,
) -> Result<Json<LegacyResponse>, ApiError> {
    if let Err(not) = legacy::legacy_shape(&id) {
        let reason = match not {
            legacy::NotLegacy::Current => {
                "a current ChittyID: verify it at /api/v2/chittyid/verify/{id}".to_owned()
            }
            legacy::NotLegacy::Malformed(e) => e.to_string(),
        };
        return Err(ApiError::new(
            ErrorCode::ChittyIdNotLegacy,
            format!("not a legacy ChittyID: {reason}"),
        ));
    }
    let found = legacy::lookup(&state.pool, &id)
        .await
        .map_err(|e| ApiError::from(crate::platform::db::StoreError::from(e)))?;
    let (new_id, entity_type, imported_at) = found.ok_or_else(|| {
        ApiError::new(
            ErrorCode::ChittyIdLegacyNotImported,
            "this legacy ID has not been imported here",
        )
    })?;
    Ok(Json(LegacyResponse {
        content_sha256: hex::encode(legacy::content_hash(&id)),
        legacy_id: id,
        id: new_id,
        entity_type,
        imported_at,
    }))
}

/// Imports provisional IDs from the fallback minter (idempotent; admin).
#[utoipa::path(
    post, path = "/api/v2/chittyid/reconcile", tag = "chittyid",
    request_body(content = Option<ReconcileBody>, description = "Optional: records to import, or a cursor"),
    responses(
        (status = 200, body = ReconcileReport),
        (status = 403, body = ErrorBody, description = "Not an admin key, or address not allowlisted"),
        (status = 503, body = ErrorBody, description = "Fallback minter or drand unavailable"),
    ),
    security(("api_key" = []))
)]
pub async fn reconcile(
    State(state): State<ChittyIdApi>,
    body: Bytes,
) -> Result<Json<ReconcileReport>, ApiError> {
    let body: ReconcileBody = if body.iter().all(u8::is_ascii_whitespace) {
        ReconcileBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(ErrorCode::InvalidBody, e.to_string()))?
    };
    Ok(Json(state.reconciler.run(body.records, body.after).await?))
}

/// Cuts a batch of pending IDs now, whatever the policy (admin).
#[utoipa::path(
    post, path = "/admin/batches/cut", tag = "admin",
    responses((status = 200, body = CutResponse)),
    security(("api_key" = []))
)]
pub async fn cut_batch(State(state): State<ChittyIdApi>) -> Result<Json<CutResponse>, ApiError> {
    Ok(Json(CutResponse {
        batch: state.batcher.cut(true).await?,
    }))
}

/// Anchors every pending batch on chain now (admin); the background anchorer does the same
/// every `RELAYER_ANCHOR_INTERVAL_SECS`. At most once per batch, however often it is called.
#[utoipa::path(
    post, path = "/admin/batches/anchor", tag = "admin",
    responses(
        (status = 200, body = AnchorResponse),
        (status = 501, description = "CHAIN_NOT_CONFIGURED", body = crate::platform::error::ErrorBody),
        (status = 502, description = "CHAIN_TRANSACTION_FAILED", body = crate::platform::error::ErrorBody),
        (status = 503, description = "CHAIN_UNAVAILABLE, with Retry-After", body = crate::platform::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn anchor_batches(
    State(state): State<ChittyIdApi>,
) -> Result<Json<AnchorResponse>, ApiError> {
    let anchorer = crate::platform::http::on_chain(state.anchorer.as_deref())?;
    let anchored = anchorer.anchor_pending(64).await?;
    Ok(Json(AnchorResponse {
        anchored: anchored
            .into_iter()
            .map(|a| AnchoredBatch {
                batch_id: a.batch_id,
                signature: a.landed.signature,
                slot: a.landed.slot,
            })
            .collect(),
    }))
}
