//! The relayer's one error type and its stable, documented codes (SPEC §6).
//!
//! Every failure a caller can see is an [`ApiError`]: a [`ErrorCode`] (unique, listed in
//! `docs/api.md`, checked by a test), a message that states the rule broken, and optional
//! structured `details`. The body is always
//! `{ "error": { "code": "…", "message": "…", "details": {…} } }`.
//!
//! Internal failures ([`ErrorCode::Internal`]) are logged with their cause and answered with a
//! generic message: no SQL, no stack, no secret ever reaches a caller.

use axum::{
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

veil_api_codes::error_codes! {
    /// Every error code the relayer answers with.
    enum ErrorCode {
        // ChittyID grammar (the codes come from `veil_chittyid::ChittyIdError::code`).
        /// Not 8 hyphen-separated fields, or a bad check-character field.
        ChittyIdMalformed = ("CHITTYID_MALFORMED", BAD_REQUEST),
        /// A known legacy shape (`CT-…`, 4-digit sequence).
        ChittyIdLegacyFormat = ("CHITTYID_LEGACY_FORMAT", BAD_REQUEST),
        /// Version other than `01`.
        ChittyIdUnsupportedVersion = ("CHITTYID_UNSUPPORTED_VERSION", BAD_REQUEST),
        /// Issuer class other than `A` / `F`.
        ChittyIdInvalidIssuer = ("CHITTYID_INVALID_ISSUER", BAD_REQUEST),
        /// Namespace not 3–4 uppercase letters.
        ChittyIdInvalidNamespace = ("CHITTYID_INVALID_NAMESPACE", BAD_REQUEST),
        /// Sequence not 8 Crockford characters.
        ChittyIdInvalidSequence = ("CHITTYID_INVALID_SEQUENCE", BAD_REQUEST),
        /// Entity type not one of `P L T E A I`.
        ChittyIdInvalidEntityType = ("CHITTYID_INVALID_ENTITY_TYPE", BAD_REQUEST),
        /// Not a `YYMM` month.
        ChittyIdInvalidYearMonth = ("CHITTYID_INVALID_YEAR_MONTH", BAD_REQUEST),
        /// Trust level not a digit.
        ChittyIdInvalidTrustLevel = ("CHITTYID_INVALID_TRUST_LEVEL", BAD_REQUEST),
        /// The check character does not match.
        ChittyIdChecksumMismatch = ("CHITTYID_CHECKSUM_MISMATCH", BAD_REQUEST),
        /// A well-formed ID this relayer never issued.
        ChittyIdNotFound = ("CHITTYID_NOT_FOUND", NOT_FOUND),
        /// `GET /api/v2/chittyid/{id}` takes a legacy ID; this one is a current ID (verify it at `/api/v2/chittyid/verify/{id}`) or malformed.
        ChittyIdNotLegacy = ("CHITTYID_NOT_LEGACY", BAD_REQUEST),
        /// A legacy ID this relayer has not imported (`veil-relayer legacy import`).
        ChittyIdLegacyNotImported = ("CHITTYID_LEGACY_NOT_IMPORTED", NOT_FOUND),

        // Request validation.
        /// The body is not valid JSON for this endpoint.
        InvalidBody = ("INVALID_BODY", BAD_REQUEST),
        /// A query parameter is unknown or malformed (`details.field`).
        InvalidQuery = ("INVALID_QUERY", BAD_REQUEST),
        /// Give exactly one of `content` (base64) and `content_hash` (hex SHA-256).
        InvalidContent = ("INVALID_CONTENT", BAD_REQUEST),
        /// The request nonce is not 1–64 bytes of hex.
        InvalidRequestNonce = ("INVALID_REQUEST_NONCE", BAD_REQUEST),
        /// `metadata` breaks a rule (`details.rule`, `details.key`): at most 32 keys of 1–64 characters `[A-Za-z0-9_.-]`, values string (≤ 512 characters), number, boolean or null, 4 KiB in all.
        MintMetadataInvalid = ("MINT_METADATA_INVALID", BAD_REQUEST),
        /// No metadata of this ID is visible to the caller (none, or private to its minter).
        ChittyIdMetadataNotFound = ("CHITTYID_METADATA_NOT_FOUND", NOT_FOUND),
        /// `Idempotency-Key` is not 1–255 visible ASCII characters.
        InvalidIdempotencyKey = ("INVALID_IDEMPOTENCY_KEY", BAD_REQUEST),
        /// This `Idempotency-Key` was used for a different mint request (`details.id`: the ID it minted).
        MintIdempotencyConflict = ("MINT_IDEMPOTENCY_CONFLICT", CONFLICT),
        /// The body is larger than the configured limit.
        PayloadTooLarge = ("PAYLOAD_TOO_LARGE", PAYLOAD_TOO_LARGE),
        /// No such route.
        RouteNotFound = ("ROUTE_NOT_FOUND", NOT_FOUND),
        /// The route exists but not with this method.
        MethodNotAllowed = ("METHOD_NOT_ALLOWED", METHOD_NOT_ALLOWED),

        // Authentication and abuse control.
        /// No `Authorization: Bearer <key>` / `X-Api-Key` header.
        AuthMissingApiKey = ("AUTH_MISSING_API_KEY", UNAUTHORIZED),
        /// The API key is unknown, malformed or revoked.
        AuthInvalidApiKey = ("AUTH_INVALID_API_KEY", UNAUTHORIZED),
        /// The session token is unknown, expired or revoked, or the refresh token was already used; sign in again.
        AuthSessionInvalid = ("AUTH_SESSION_INVALID", UNAUTHORIZED),
        /// A session asked to act for another wallet than the one that signed in (`details.session_wallet`).
        AuthSessionWalletMismatch = ("AUTH_SESSION_WALLET_MISMATCH", FORBIDDEN),
        /// The key lacks the scope this route needs.
        AuthScopeForbidden = ("AUTH_SCOPE_FORBIDDEN", FORBIDDEN),
        /// A mutating request without `X-Timestamp`, `X-Nonce` and `X-Signature`.
        AuthMissingSignature = ("AUTH_MISSING_SIGNATURE", UNAUTHORIZED),
        /// `X-Signature` is not the HMAC of this request under the key's signing secret.
        AuthInvalidSignature = ("AUTH_INVALID_SIGNATURE", UNAUTHORIZED),
        /// `X-Timestamp` is outside the ±60 s window.
        AuthTimestampExpired = ("AUTH_TIMESTAMP_EXPIRED", UNAUTHORIZED),
        /// `X-Nonce` was already used within the window.
        AuthNonceReplayed = ("AUTH_NONCE_REPLAYED", UNAUTHORIZED),
        /// The caller's address is not on the admin allowlist.
        AuthIpForbidden = ("AUTH_IP_FORBIDDEN", FORBIDDEN),
        /// No API key has this id (`details.key_id`).
        KeyNotFound = ("KEY_NOT_FOUND", NOT_FOUND),
        /// The key's GCRA rate limit is exceeded; see `Retry-After`.
        RateLimited = ("RATE_LIMITED", TOO_MANY_REQUESTS),

        // Dependencies.
        /// No drand relay gave a valid, fresh beacon, and no fallback minter is configured.
        DrandUnavailable = ("DRAND_UNAVAILABLE", SERVICE_UNAVAILABLE),
        /// drand is unavailable and the fallback minter is unreachable or refused.
        FallbackUnavailable = ("FALLBACK_UNAVAILABLE", SERVICE_UNAVAILABLE),
        /// PostgreSQL is unreachable.
        DatabaseUnavailable = ("DATABASE_UNAVAILABLE", SERVICE_UNAVAILABLE),
        /// Redis (the nonce store) is unreachable; signed requests cannot be checked for replay.
        NonceStoreUnavailable = ("NONCE_STORE_UNAVAILABLE", SERVICE_UNAVAILABLE),
        /// The minter could not find a free sequence after the retry budget.
        MintCollisionBudgetExhausted = ("MINT_COLLISION_BUDGET_EXHAUSTED", SERVICE_UNAVAILABLE),
        /// The chain RPC is unreachable, or its circuit breaker is open; see `Retry-After`.
        ChainUnavailable = ("CHAIN_UNAVAILABLE", SERVICE_UNAVAILABLE),
        /// The relayer runs without `RELAYER_RPC_URL`: nothing is sent on chain.
        ChainNotConfigured = ("CHAIN_NOT_CONFIGURED", NOT_IMPLEMENTED),
        /// The chain refused the relayer's transaction, or it landed and failed (`details`:
        /// the runtime error and the failing program). Usually configuration: the chain key
        /// is not the registry's registrar, or has no lamports.
        ChainTransactionFailed = ("CHAIN_TRANSACTION_FAILED", BAD_GATEWAY),

        // Registry and prover.
        /// A value that must be a BN254 scalar is not below the field modulus (`details.field`).
        FieldNotCanonical = ("FIELD_NOT_CANONICAL", BAD_REQUEST),
        /// The wallet's signature over the registration message does not verify.
        WalletSignatureInvalid = ("WALLET_SIGNATURE_INVALID", BAD_REQUEST),
        /// The token account read on chain does not show the wallet holding the mint (`details.reason`: `no_account`, `not_a_token_account`, `wrong_mint`, `wrong_owner`, `zero_balance`).
        TokenNotHeld = ("TOKEN_NOT_HELD", UNPROCESSABLE_ENTITY),
        /// The wallet registered another identity on this track, or another wallet registered this identity (`details.reason`).
        RegistryAlreadyRegistered = ("REGISTRY_ALREADY_REGISTERED", CONFLICT),
        /// The track's tree holds no more leaves.
        RegistryTrackFull = ("REGISTRY_TRACK_FULL", CONFLICT),
        /// Nobody registered on this mint's track.
        RegistryTrackNotFound = ("REGISTRY_TRACK_NOT_FOUND", NOT_FOUND),
        /// No member of this track has the secret's identity.
        RegistryNotAMember = ("REGISTRY_NOT_A_MEMBER", NOT_FOUND),
        /// The member registered after the latest published root; publish first (`details`: `leaf_index`, `published_leaves`).
        RegistryNotPublished = ("REGISTRY_NOT_PUBLISHED", CONFLICT),
        /// The proof does not verify against its public inputs (checked before anything is sent).
        ProofInvalid = ("PROOF_INVALID", UNPROCESSABLE_ENTITY),
        /// The nullifier was already spent on this track; `details` carries the signature and slot when this relayer spent it. An idempotent conflict: nothing was sent.
        NullifierAlreadyUsed = ("NULLIFIER_ALREADY_USED", CONFLICT),
        /// The proof's root is not among the track's recent roots on chain; prove again.
        RootNotRecent = ("ROOT_NOT_RECENT", CONFLICT),
        /// The proof's root has a holdings snapshot older than the track's freshness window; publish a fresh root and prove again.
        RootTooOld = ("ROOT_TOO_OLD", CONFLICT),
        /// The proof's scope does not follow the track's nullifier rule now: 0 on a once-per-track track, the current epoch on an epoch track; prove again with that scope.
        ScopeMismatch = ("SCOPE_MISMATCH", CONFLICT),
        /// The latest published snapshot did not find this member holding the token (`details`: `leaf_index`, `snapshot_slot`).
        RegistryNotHeldAtSnapshot = ("REGISTRY_NOT_HELD_AT_SNAPSHOT", CONFLICT),
        /// Every prover worker is busy and the queue is full; see `Retry-After`.
        ProverBusy = ("PROVER_BUSY", TOO_MANY_REQUESTS),
        /// The proving key could not be loaded (logged); no proof can be made.
        ProverUnavailable = ("PROVER_UNAVAILABLE", SERVICE_UNAVAILABLE),

        // Challenges.
        /// No challenge account at that address.
        ChallengeNotFound = ("CHALLENGE_NOT_FOUND", NOT_FOUND),
        /// The step is the counterparty's, and nobody has accepted the challenge yet.
        ChallengeNoCounterparty = ("CHALLENGE_NO_COUNTERPARTY", CONFLICT),
        /// The challenge has no arbiter to resolve it.
        ChallengeNoArbiter = ("CHALLENGE_NO_ARBITER", CONFLICT),
        /// The challenge program refused the step (`details.rule`: its error, e.g. `DeadlineNotReached`, `InvalidStatus`; `details.code`).
        ChallengeRefused = ("CHALLENGE_REFUSED", CONFLICT),
        /// A funds requirement names no wallet verification to check it against (`wallet_verification_id` or `funds.verification_id`).
        ChallengeVerificationRequired = ("CHALLENGE_VERIFICATION_REQUIRED", UNPROCESSABLE_ENTITY),
        /// The cited wallet verification is not a Sign-In With Solana of the party's wallet (`details.expected`, `details.found`); nothing is attested.
        ChallengeVerificationMismatch = ("CHALLENGE_VERIFICATION_MISMATCH", UNPROCESSABLE_ENTITY),
        /// The forwarded transaction is not base64 bincode, or a signature is missing or does not verify.
        TransactionInvalid = ("TRANSACTION_INVALID", BAD_REQUEST),
        /// The forwarded transaction calls a program the relayer does not forward for (`details.program`, `details.allowed`): only the registry and challenge programs and the token, associated-token and compute-budget programs.
        TransactionProgramNotAllowed = ("TRANSACTION_PROGRAM_NOT_ALLOWED", FORBIDDEN),

        // Gatekeeper: wallet sign-in.
        /// The chain id is not CAIP-2 (`solana:<cluster>`, `eip155:<n>`) or not accepted here (`details.supported`).
        GatekeeperChainNotSupported = ("GATEKEEPER_CHAIN_NOT_SUPPORTED", BAD_REQUEST),
        /// The signed text is not a Sign-In With Solana / EIP-4361 message (`details.rule`).
        GatekeeperMessageMalformed = ("GATEKEEPER_MESSAGE_MALFORMED", BAD_REQUEST),
        /// The message's nonce was never issued.
        GatekeeperNonceUnknown = ("GATEKEEPER_NONCE_UNKNOWN", BAD_REQUEST),
        /// The message's nonce was already used by a verification.
        GatekeeperNonceUsed = ("GATEKEEPER_NONCE_USED", CONFLICT),
        /// The message's nonce expired (`details.expired_at`); ask for a new challenge.
        GatekeeperNonceExpired = ("GATEKEEPER_NONCE_EXPIRED", GONE),
        /// The message names another domain than its nonce was issued for (`details`).
        GatekeeperDomainMismatch = ("GATEKEEPER_DOMAIN_MISMATCH", BAD_REQUEST),
        /// The message names another chain than its nonce was issued for (`details.expected`).
        GatekeeperChainMismatch = ("GATEKEEPER_CHAIN_MISMATCH", BAD_REQUEST),
        /// The message differs from the one issued (`details.first_difference`, a byte offset).
        GatekeeperMessageMismatch = ("GATEKEEPER_MESSAGE_MISMATCH", BAD_REQUEST),
        /// The signature is not base58 of 64 bytes (Solana) or 0x-hex r‖s‖v with a low s (EVM).
        GatekeeperSignatureMalformed = ("GATEKEEPER_SIGNATURE_MALFORMED", BAD_REQUEST),
        /// The signature was made by another key than the message's address.
        GatekeeperWrongSigner = ("GATEKEEPER_WRONG_SIGNER", UNAUTHORIZED),
        /// The funds check cannot read this asset: not `native`, a mint of SPL Token / Token-2022, or an ERC-20 contract (`details.asset`).
        GatekeeperAssetInvalid = ("GATEKEEPER_ASSET_INVALID", BAD_REQUEST),
        /// The threshold is not a decimal in the asset's units (`details.threshold`).
        GatekeeperAmountInvalid = ("GATEKEEPER_AMOUNT_INVALID", BAD_REQUEST),
        /// The wallet's EVM network has no RPC configured here (`details.chain_id`).
        GatekeeperNetworkNotConfigured = ("GATEKEEPER_NETWORK_NOT_CONFIGURED", BAD_REQUEST),
        /// An EVM network's RPC is unreachable or its circuit breaker is open (`details`: `chain_id`, `breaker`); see `Retry-After`.
        EvmRpcUnavailable = ("EVM_RPC_UNAVAILABLE", SERVICE_UNAVAILABLE),
        /// No wallet verification has this id.
        GatekeeperVerificationNotFound = ("GATEKEEPER_VERIFICATION_NOT_FOUND", NOT_FOUND),

        // Webhooks.
        /// The endpoint URL is not an absolute https URL (http only to an allowed loopback), or its host does not resolve (`details.field`, `details.host`).
        WebhookUrlInvalid = ("WEBHOOK_URL_INVALID", BAD_REQUEST),
        /// The endpoint URL is, or resolves to, an address webhooks may not call: loopback, private, link-local, shared, unspecified or multicast (`details.address`, `details.class`).
        WebhookUrlForbidden = ("WEBHOOK_URL_FORBIDDEN", UNPROCESSABLE_ENTITY),
        /// An event type is not in the catalogue, or none was given (`details.known`).
        WebhookEventTypeUnknown = ("WEBHOOK_EVENT_TYPE_UNKNOWN", BAD_REQUEST),
        /// This key has no webhook endpoint with this id.
        WebhookEndpointNotFound = ("WEBHOOK_ENDPOINT_NOT_FOUND", NOT_FOUND),
        /// This key has no webhook delivery with this id.
        WebhookDeliveryNotFound = ("WEBHOOK_DELIVERY_NOT_FOUND", NOT_FOUND),
        /// A notification contact is not an email address or an E.164 number (`details.field`).
        WebhookContactInvalid = ("WEBHOOK_CONTACT_INVALID", BAD_REQUEST),
        /// The relayer has no notifier for this channel (`details.channel`: `email` or `sms`); its operator sets `RELAYER_NOTIFY_EMAIL_URL` or `RELAYER_NOTIFY_SMS_URL`.
        WebhookNotifierNotConfigured = ("WEBHOOK_NOTIFIER_NOT_CONFIGURED", UNPROCESSABLE_ENTITY),

        // Feature flags.
        /// The feature is switched off for this key (`details.flag`: e.g. `FF_CHALLENGES`).
        FeatureDisabled = ("FEATURE_DISABLED", SERVICE_UNAVAILABLE),

        /// The relayer is at its concurrency limit and its admission queue is full (or the request waited `RELAYER_ADMISSION_WAIT_MS`); nothing was done for the request. Retry after `Retry-After` (`details.reason`: `queue_full`, `waited_too_long`).
        Overloaded = ("OVERLOADED", SERVICE_UNAVAILABLE),

        /// The request took longer than `RELAYER_REQUEST_TIMEOUT_MS`; nothing more is done for it.
        RequestTimeout = ("REQUEST_TIMEOUT", SERVICE_UNAVAILABLE),

        /// Anything else. Logged with its cause; the caller sees only this code.
        Internal = ("INTERNAL_ERROR", INTERNAL_SERVER_ERROR),
    }
}

/// An error answer: code, message, details, and optionally `Retry-After`.
#[derive(Debug)]
pub struct ApiError {
    /// The stable code.
    pub code: ErrorCode,
    /// Human-readable, states the rule broken. Never contains internals.
    pub message: String,
    /// Structured details (field names, expected values).
    pub details: Value,
    /// Seconds for `Retry-After` (429 and 503).
    pub retry_after: Option<u64>,
}

/// The wire shape of an error, for the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorObject,
}

/// The `error` object.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorObject {
    /// Stable code, e.g. `CHITTYID_CHECKSUM_MISMATCH`.
    pub code: String,
    /// What rule was broken.
    pub message: String,
    /// Structured details.
    #[schema(value_type = Object)]
    pub details: Value,
}

impl ApiError {
    /// An error with no details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: json!({}),
            retry_after: None,
        }
    }

    /// Adds structured details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// Adds `Retry-After`.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// An internal failure: logs `cause` and answers a generic message.
    pub fn internal(context: &str, cause: impl std::fmt::Display) -> Self {
        tracing::error!(context, %cause, "internal error");
        Self::new(ErrorCode::Internal, "internal error; it has been logged")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorObject {
                code: self.code.as_str().to_owned(),
                message: self.message,
                details: self.details,
            },
        };
        let mut response = (self.code.status(), Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}
