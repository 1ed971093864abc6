//! `/api/v2/challenges/*` and `/api/v2/transactions`: thin handlers over
//! [`ChallengeService`](crate::challenges::ChallengeService).
//!
//! Wallet-signed steps answer an [`UnsignedResponse`]; the relayer's own steps (attest, settle,
//! expire) answer where their transaction landed.

use anchor_lang::prelude::Pubkey;
use axum::{
    extract::{Path, State},
    Extension, Json,
};
use challenge::{
    state::{Challenge, Mode, Outcome, Party, PartyState, Status},
    CreateChallengeArgs,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::platform::http::{
    invalid_field, invalid_param, on_chain, parse_pubkey, ApiJson, ApiQuery,
};
use std::sync::Arc;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    challenges::{
        listing::{self, Cursor, Filter},
        ChallengeService, CreateRequest, Evidence, FundsRequirement, Unsigned,
    },
    platform::{
        auth::{self, AuthService, Principal, Scope, SessionPrincipal},
        chain::Landed,
        error::{ApiError, ErrorBody, ErrorCode},
        flags::{self, Flag, Flags},
    },
};

/// What the challenge handlers call: the service, present with `RELAYER_RPC_URL` (without it
/// every route answers `501 CHAIN_NOT_CONFIGURED`).
#[derive(Clone)]
pub struct ChallengeApi {
    /// The challenge flows.
    pub challenges: Option<Arc<ChallengeService>>,
    /// `FF_FIRE_MODE` and `FF_ENFORCED_MODE` gate creating challenges of those modes.
    pub flags: Flags,
    /// The database the listing reads the indexer's tables from (it needs no chain).
    pub pool: sqlx::PgPool,
}

/// The challenge routes with their OpenAPI paths, all under the `challenges` scope and
/// `FF_CHALLENGES`.
pub fn routes(state: ChallengeApi, auth: &Arc<AuthService>) -> OpenApiRouter {
    let flag = flags::require(state.flags.clone(), Flag::Challenges);
    // A person's session may create, list and read challenges, take its own wallet's steps
    // (accept, deposit, lock, confirm; resolve as the arbiter), and forward what its wallet
    // signed, and ask the gatekeeper to attest its own party on its sign-in; the relayer's
    // own steps (settle, expire) stay behind keys.
    let parties = OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(attest))
        .routes(routes!(get))
        .routes(routes!(accept))
        .routes(routes!(deposit))
        .routes(routes!(lock))
        .routes(routes!(confirm))
        .routes(routes!(resolve))
        .routes(routes!(forward))
        .route_layer(flag.clone())
        .route_layer(auth::require_key_or_session(
            auth.clone(),
            Scope::Challenges,
        ));
    OpenApiRouter::new()
        .routes(routes!(settle))
        .routes(routes!(expire))
        .route_layer(flag)
        .route_layer(auth::require(auth.clone(), Scope::Challenges))
        .merge(parties)
        .with_state(state)
}

/// The wallet a session acts for: only a Solana wallet can be a challenge's party.
fn acting_as(session: &Option<Extension<SessionPrincipal>>) -> Result<Option<Pubkey>, ApiError> {
    let Some(Extension(session)) = session else {
        return Ok(None);
    };
    let solana = session.chain_id.starts_with("solana:");
    match session.address.parse::<Pubkey>() {
        Ok(wallet) if solana => Ok(Some(wallet)),
        _ => Err(auth::AuthError::SessionWalletMismatch {
            session_wallet: format!("{}:{}", session.chain_id, session.address),
        }
        .into()),
    }
}

fn service(state: &ChallengeApi) -> Result<&ChallengeService, ApiError> {
    on_chain(state.challenges.as_deref())
}

fn address(raw: &str) -> Result<Pubkey, ApiError> {
    parse_pubkey(raw, "address")
}

fn parse_mode(raw: &str, field: &str) -> Result<Mode, ApiError> {
    match raw {
        "solo" => Ok(Mode::Solo),
        "gatekeeper" => Ok(Mode::Gatekeeper),
        "fire" => Ok(Mode::Fire),
        "enforced" => Ok(Mode::Enforced),
        _ => Err(invalid_field(
            field,
            "one of solo, gatekeeper, fire, enforced",
        )),
    }
}

const STATUSES: [Status; 8] = [
    Status::Draft,
    Status::AwaitingCounterparty,
    Status::Accepted,
    Status::IntentLocked,
    Status::Disputed,
    Status::Completed,
    Status::Cancelled,
    Status::Expired,
];

const MODES: [Mode; 4] = [Mode::Solo, Mode::Gatekeeper, Mode::Fire, Mode::Enforced];

/// An indexed status or mode (the program's variant name, as the indexer stores it) in the
/// API's words; unknown names pass through unchanged.
fn api_name<T: Copy + std::fmt::Debug>(
    stored: &str,
    all: &[T],
    name: fn(T) -> &'static str,
) -> String {
    all.iter()
        .find(|v| format!("{v:?}") == stored)
        .map_or_else(|| stored.to_owned(), |v| name(*v).to_owned())
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Solo => "solo",
        Mode::Gatekeeper => "gatekeeper",
        Mode::Fire => "fire",
        Mode::Enforced => "enforced",
    }
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Draft => "draft",
        Status::AwaitingCounterparty => "awaiting_counterparty",
        Status::Accepted => "accepted",
        Status::IntentLocked => "intent_locked",
        Status::Disputed => "disputed",
        Status::Completed => "completed",
        Status::Cancelled => "cancelled",
        Status::Expired => "expired",
    }
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::CreatorWins => "creator_wins",
        Outcome::CounterpartyWins => "counterparty_wins",
        Outcome::Draw => "draw",
        Outcome::NoContest => "no_contest",
    }
}

fn parse_outcome(raw: &str) -> Result<Outcome, ApiError> {
    match raw {
        "creator_wins" => Ok(Outcome::CreatorWins),
        "counterparty_wins" => Ok(Outcome::CounterpartyWins),
        "draw" => Ok(Outcome::Draw),
        "no_contest" => Ok(Outcome::NoContest),
        _ => Err(invalid_field(
            "outcome",
            "one of creator_wins, counterparty_wins, draw, no_contest",
        )),
    }
}

fn parse_party(raw: &str) -> Result<Party, ApiError> {
    match raw {
        "creator" => Ok(Party::Creator),
        "counterparty" => Ok(Party::Counterparty),
        _ => Err(invalid_field("party", "creator or counterparty")),
    }
}

/// A transaction for a wallet to sign.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UnsignedResponse {
    /// The challenge's address.
    pub challenge: String,
    /// The transaction (bincode, base64) with empty signatures; fee payer `signer`.
    pub transaction: String,
    /// Who signs (and pays).
    pub signer: String,
    /// The last block height at which it can land: sign and send before then.
    pub last_valid_block_height: u64,
}

impl From<Unsigned> for UnsignedResponse {
    fn from(u: Unsigned) -> Self {
        Self {
            challenge: u.challenge.to_string(),
            transaction: u.transaction,
            signer: u.signer.to_string(),
            last_valid_block_height: u.last_valid_block_height,
        }
    }
}

/// Where a transaction landed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LandedResponse {
    /// The transaction (base58).
    pub signature: String,
    /// Its slot.
    pub slot: u64,
}

impl From<Landed> for LandedResponse {
    fn from(l: Landed) -> Self {
        Self {
            signature: l.signature,
            slot: l.slot,
        }
    }
}

/// `POST /api/v2/challenges`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = ChallengeCreateBody)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// The creator's wallet (base58); signs and pays.
    pub creator: String,
    /// `solo`, `gatekeeper`, `fire` or `enforced`.
    pub mode: String,
    /// The counterparty (base58); absent for an open challenge.
    pub counterparty: Option<String>,
    /// The arbiter (base58); required when bonded.
    pub arbiter: Option<String>,
    /// The agreed terms; their SHA-256 is stored (give this or `terms_hash`).
    pub terms: Option<String>,
    /// SHA-256 of the terms, hex.
    pub terms_hash: Option<String>,
    /// The bond mint (base58), when bonded (6 decimals).
    pub bond_mint: Option<String>,
    /// Each party's bond, base units (0 = unbonded).
    #[serde(default)]
    pub bond_amount: u64,
    /// The winner's share of the loser's bond, basis points.
    #[serde(default)]
    pub winner_share_bps: u16,
    /// The treasury's share of the loser's bond, basis points.
    #[serde(default)]
    pub treasury_share_bps: u16,
    /// Enforced: Unix time by which the counterparty must accept.
    #[serde(default)]
    pub accept_deadline: i64,
    /// Unix time by which the outcome must be confirmed: required in Enforced and whenever
    /// bonded (Fire: within the configured response window from now).
    #[serde(default)]
    pub response_deadline: i64,
    /// Picks the address with the creator; random when absent.
    pub nonce: Option<u64>,
}

/// Builds `create_challenge` for the creator to sign.
#[utoipa::path(
    post, path = "/api/v2/challenges", tag = "challenges", request_body = CreateBody,
    responses(
        (status = 200, body = UnsignedResponse),
        (status = 400, body = ErrorBody, description = "INVALID_BODY"),
        (status = 503, body = ErrorBody, description = "CHAIN_UNAVAILABLE"),
    ),
    security(("api_key" = []))
)]
pub async fn create(
    State(state): State<ChallengeApi>,
    principal: Option<Extension<Principal>>,
    session: Option<Extension<SessionPrincipal>>,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Json<UnsignedResponse>, ApiError> {
    // A session creates as its own wallet only.
    if let Some(Extension(session)) = &session {
        session.require_wallet("solana", &body.creator)?;
    }
    let principal = principal.as_deref();
    let mode = parse_mode(&body.mode, "mode")?;
    match mode {
        Mode::Fire => state.flags.check(Flag::FireMode, principal)?,
        Mode::Enforced => state.flags.check(Flag::EnforcedMode, principal)?,
        Mode::Solo | Mode::Gatekeeper => {}
    }
    let service = service(&state)?;
    let terms_hash: [u8; 32] = match (&body.terms, &body.terms_hash) {
        (Some(terms), None) => Sha256::digest(terms.as_bytes()).into(),
        (None, Some(hash)) => hex::decode(hash)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| invalid_field("terms_hash", "32 bytes in hex"))?,
        _ => {
            return Err(invalid_field(
                "terms",
                "given, or `terms_hash` instead (exactly one)",
            ))
        }
    };
    let bond_mint = body
        .bond_mint
        .as_deref()
        .map(|m| parse_pubkey(m, "bond_mint"))
        .transpose()?;
    if bond_mint.is_some() != (body.bond_amount > 0) {
        return Err(invalid_field(
            "bond_mint",
            "given exactly when `bond_amount` is above 0",
        ));
    }
    let request = CreateRequest {
        creator: parse_pubkey(&body.creator, "creator")?,
        args: CreateChallengeArgs {
            nonce: body.nonce.unwrap_or_else(|| rand::thread_rng().next_u64()),
            mode,
            counterparty: body
                .counterparty
                .as_deref()
                .map(|c| parse_pubkey(c, "counterparty"))
                .transpose()?,
            arbiter: body
                .arbiter
                .as_deref()
                .map(|a| parse_pubkey(a, "arbiter"))
                .transpose()?,
            terms_hash,
            bond_amount: body.bond_amount,
            winner_share_bps: body.winner_share_bps,
            treasury_share_bps: body.treasury_share_bps,
            accept_deadline: body.accept_deadline,
            response_deadline: body.response_deadline,
        },
        bond_mint,
    };
    let key_id = principal.map(|p| p.key_id.as_str());
    Ok(Json(service.create(&request, key_id).await?.into()))
}

/// `GET /api/v2/challenges` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// A wallet (base58): challenges where it is the creator or the counterparty (named or
    /// accepted). A session may name only its own wallet, and without it lists its own.
    pub party: Option<String>,
    /// The current status: `draft`, `awaiting_counterparty`, `accepted`, `intent_locked`,
    /// `disputed`, `completed`, `cancelled`, `expired`.
    pub status: Option<String>,
    /// `solo`, `gatekeeper`, `fire` or `enforced`.
    pub mode: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Rows per page, 1 to 200 (50 when absent).
    pub limit: Option<u32>,
}

/// A challenge as the indexer recorded it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChallengeSummary {
    /// Its address.
    pub address: String,
    /// The creator.
    pub creator: String,
    /// The counterparty, once named by the creator or once it accepted.
    pub counterparty: Option<String>,
    /// Whether the counterparty accepted.
    pub counterparty_accepted: bool,
    /// `solo`, `gatekeeper`, `fire`, `enforced`.
    pub mode: String,
    /// The current status (as for `GET /api/v2/challenges/{address}`).
    pub status: String,
    /// SHA-256 of the terms, hex.
    pub terms_hash: String,
    /// The bond mint, when bonded.
    pub bond_mint: Option<String>,
    /// Each party's bond, base units, as a decimal string.
    pub bond_amount: String,
    /// The slot it was created in.
    pub created_slot: u64,
    /// Unix time of the block it was created in, when known.
    pub created_at: Option<i64>,
    /// The slot of its latest status change.
    pub status_slot: u64,
}

/// A page of challenges.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChallengeList {
    /// Newest first.
    pub challenges: Vec<ChallengeSummary>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// The slot the indexer has committed through: the rows are as of it.
    pub indexed_slot: Option<u64>,
}

/// Lists challenges from the indexed tables, newest first, by keyset pages. An API key sees
/// the challenges whose `create` it built (an admin key all); a session those where its wallet
/// is a party.
#[utoipa::path(
    get, path = "/api/v2/challenges", tag = "challenges", params(ListParams),
    responses(
        (status = 200, body = ChallengeList),
        (status = 400, body = ErrorBody, description = "`INVALID_QUERY`: a filter, the cursor or the limit"),
        (status = 403, body = ErrorBody, description = "`AUTH_SESSION_WALLET_MISMATCH`: a session named another wallet"),
    ),
    security(("api_key" = []))
)]
pub async fn list(
    State(state): State<ChallengeApi>,
    principal: Option<Extension<Principal>>,
    session: Option<Extension<SessionPrincipal>>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<ChallengeList>, ApiError> {
    let mut filter = Filter {
        limit: listing::DEFAULT_LIMIT,
        ..Filter::default()
    };
    if let Some(limit) = params.limit {
        if !(1..=listing::MAX_LIMIT).contains(&limit) {
            return Err(invalid_param("limit", "1 to 200"));
        }
        filter.limit = limit;
    }
    let party = match (&session, &params.party) {
        (Some(Extension(session)), named) => {
            let wallet = named.as_deref().unwrap_or(&session.address);
            session.require_wallet("solana", wallet)?;
            Some(wallet)
        }
        (None, named) => named.as_deref(),
    };
    filter.party = party
        .map(|p| {
            p.parse()
                .map_err(|_| invalid_param("party", "a base58 Solana address"))
        })
        .transpose()?;
    if session.is_none() {
        let principal = principal
            .as_deref()
            .ok_or_else(|| ApiError::internal("principal", "route is not behind auth"))?;
        if !principal.scopes.contains(&auth::Scope::Admin) {
            filter.created_by_key = Some(principal.key_id.clone());
        }
    }
    filter.mode = params
        .mode
        .as_deref()
        .map(|m| {
            parse_mode(m, "mode")
                .map(|m| format!("{m:?}"))
                .map_err(|_| invalid_param("mode", "one of solo, gatekeeper, fire, enforced"))
        })
        .transpose()?;
    filter.status = params
        .status
        .as_deref()
        .map(|raw| {
            STATUSES
                .iter()
                .find(|s| status_name(**s) == raw)
                .map(|s| format!("{s:?}"))
                .ok_or_else(|| {
                    invalid_param(
                        "status",
                        "one of draft, awaiting_counterparty, accepted, intent_locked, \
                         disputed, completed, cancelled, expired",
                    )
                })
        })
        .transpose()?;
    filter.after = params
        .cursor
        .as_deref()
        .map(|c| {
            Cursor::decode(c)
                .ok_or_else(|| invalid_param("cursor", "a `next_cursor` this API returned"))
        })
        .transpose()?;
    let page = listing::list(&state.pool, &filter)
        .await
        .map_err(|e| ApiError::from(crate::platform::db::StoreError::from(e)))?;
    Ok(Json(ChallengeList {
        challenges: page
            .challenges
            .into_iter()
            .map(|c| ChallengeSummary {
                address: c.address.to_string(),
                creator: c.creator.to_string(),
                counterparty: c.counterparty.map(|p| p.to_string()),
                counterparty_accepted: c.accepted,
                mode: api_name(&c.mode, &MODES, mode_name),
                status: api_name(&c.status, &STATUSES, status_name),
                terms_hash: hex::encode(c.terms_hash),
                bond_mint: (c.bond_mint != Pubkey::default()).then(|| c.bond_mint.to_string()),
                bond_amount: c.bond_amount,
                created_slot: c.created_slot,
                created_at: c.created_at,
                status_slot: c.status_slot,
            })
            .collect(),
        next_cursor: page.next.map(|c| c.encode()),
        indexed_slot: page.indexed_slot,
    }))
}

/// One party's progress.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PartyView {
    /// The gatekeeper attested both checks.
    pub verified: bool,
    /// The bond is (or was) in the vault.
    pub bond_deposited: bool,
    /// The outcome this party confirmed.
    pub confirmed: Option<String>,
}

impl From<&PartyState> for PartyView {
    fn from(p: &PartyState) -> Self {
        Self {
            verified: p.verified,
            bond_deposited: p.bond_deposited,
            confirmed: p.confirmed.map(|o| outcome_name(o).to_owned()),
        }
    }
}

/// A challenge as the chain holds it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChallengeView {
    /// Its address.
    pub address: String,
    /// The creator.
    pub creator: String,
    /// The counterparty, once known.
    pub counterparty: Option<String>,
    /// The arbiter, chosen by the creator alone: it decides disputes and so who is slashed.
    /// A counterparty should accept only an arbiter it trusts (`docs/security.md`).
    pub arbiter: Option<String>,
    /// Seconds the arbiter has to decide a dispute, from the moment it arises.
    pub arbiter_window: i64,
    /// Unix time by which the arbiter must decide the current dispute (0 before one).
    pub arbiter_deadline: i64,
    /// `solo`, `gatekeeper`, `fire`, `enforced`.
    pub mode: String,
    /// `draft`, `awaiting_counterparty`, `accepted`, `intent_locked`, `disputed`,
    /// `completed`, `cancelled`, `expired`.
    pub status: String,
    /// SHA-256 of the terms, hex.
    pub terms_hash: String,
    /// The bond mint, when bonded.
    pub bond_mint: Option<String>,
    /// Each party's bond.
    pub bond_amount: u64,
    /// Unix time by which the counterparty must accept (Enforced; 0 otherwise).
    pub accept_deadline: i64,
    /// Unix time by which the outcome must be confirmed (Enforced and bonded; 0 otherwise).
    /// After it, a single confirmation stands and none refunds.
    pub response_deadline: i64,
    /// The creator's progress.
    pub creator_state: PartyView,
    /// The counterparty's progress.
    pub counterparty_state: PartyView,
    /// The final outcome.
    pub outcome: Option<String>,
    /// Tokens deposited into the vault.
    pub deposited: u64,
    /// Tokens paid out of it.
    pub paid_out: u64,
    /// The vault is closed (settled, refunded or never opened).
    pub vault_closed: bool,
    /// The slot the account was read at (confirmed commitment).
    pub slot: u64,
    /// Milliseconds since it was read: answers come from a cache that this relayer's own
    /// transactions and the indexer's events keep current, and that is never older than
    /// `RELAYER_CHALLENGE_READ_TTL_MS` (`docs/api.md`).
    pub age_ms: u64,
}

fn view(address: &Pubkey, c: &Challenge, slot: u64, age_ms: u64) -> ChallengeView {
    ChallengeView {
        address: address.to_string(),
        creator: c.creator.to_string(),
        counterparty: c.counterparty.map(|p| p.to_string()),
        arbiter: c.arbiter.map(|p| p.to_string()),
        arbiter_window: c.arbiter_window,
        arbiter_deadline: c.arbiter_deadline,
        mode: mode_name(c.mode).into(),
        status: status_name(c.status).into(),
        terms_hash: hex::encode(c.terms_hash),
        bond_mint: (c.bond_amount > 0).then(|| c.bond_mint.to_string()),
        bond_amount: c.bond_amount,
        accept_deadline: c.accept_deadline,
        response_deadline: c.response_deadline,
        creator_state: (&c.creator_state).into(),
        counterparty_state: (&c.counterparty_state).into(),
        outcome: c.outcome.map(|o| outcome_name(o).into()),
        deposited: c.deposited,
        paid_out: c.paid_out,
        vault_closed: c.vault_closed || c.bond_amount == 0,
        slot,
        age_ms,
    }
}

/// Reads a challenge from the chain.
#[utoipa::path(
    get, path = "/api/v2/challenges/{address}", tag = "challenges",
    params(("address" = String, Path, description = "The challenge (base58)")),
    responses((status = 200, body = ChallengeView), (status = 404, body = ErrorBody, description = "CHALLENGE_NOT_FOUND")),
    security(("api_key" = []))
)]
pub async fn get(
    State(state): State<ChallengeApi>,
    Path(raw): Path<String>,
) -> Result<Json<ChallengeView>, ApiError> {
    let address = address(&raw)?;
    let snapshot = service(&state)?.read(&address).await?;
    let challenge = snapshot
        .challenge
        .as_ref()
        .ok_or_else(|| ApiError::internal("challenge read", "a found read without its account"))?;
    let age_ms = u64::try_from(snapshot.read_at.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(Json(view(&address, challenge, snapshot.slot, age_ms)))
}

/// `{ "counterparty": "<base58>" }`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    /// The accepting wallet.
    pub counterparty: String,
}

/// Builds `accept` for the counterparty to sign.
#[utoipa::path(
    post, path = "/api/v2/challenges/{address}/accept", tag = "challenges", request_body = AcceptBody,
    params(("address" = String, Path)),
    responses((status = 200, body = UnsignedResponse), (status = 404, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn accept(
    State(state): State<ChallengeApi>,
    session: Option<Extension<SessionPrincipal>>,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<AcceptBody>,
) -> Result<Json<UnsignedResponse>, ApiError> {
    // A session accepts as its own wallet only.
    if let Some(Extension(session)) = &session {
        session.require_wallet("solana", &body.counterparty)?;
    }
    let counterparty = parse_pubkey(&body.counterparty, "counterparty")?;
    Ok(Json(
        service(&state)?
            .accept(&address(&raw)?, &counterparty)
            .await?
            .into(),
    ))
}

/// `{ "party": "creator" | "counterparty" }`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartyBody {
    /// Which side.
    pub party: String,
}

/// What an attestation is made from: the party, and optionally the gatekeeper's evidence.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttestBody {
    /// `creator` or `counterparty`.
    pub party: String,
    /// The party's Sign-In With Solana verification (`POST /gatekeeper/v2/wallet/verify`).
    /// With it the bond is checked as a gatekeeper funds attestation of that wallet, and the
    /// hash on chain covers both. It must be of the party's wallet (else
    /// `CHALLENGE_VERIFICATION_MISMATCH`, and nothing is attested).
    #[serde(default)]
    pub wallet_verification_id: Option<String>,
    /// A further proof of funds the terms ask of the party: PASSED or FAILED decides the funds
    /// check together with the bond.
    #[serde(default)]
    pub funds: Option<FundsBody>,
}

/// At least `threshold` of `asset` in a verified wallet.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = AttestFundsBody)]
#[serde(deny_unknown_fields)]
pub struct FundsBody {
    /// The verification to check (a Solana or EVM wallet); by default `wallet_verification_id`.
    #[serde(default)]
    pub verification_id: Option<String>,
    /// `native`, an SPL / Token-2022 mint, or an ERC-20 contract.
    pub asset: String,
    /// A decimal in the asset's units, e.g. `"2.5"`.
    pub threshold: String,
}

/// `{ "party": …, "outcome": … }`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    /// Which side confirms.
    pub party: String,
    /// `creator_wins`, `counterparty_wins`, `draw` or `no_contest`.
    pub outcome: String,
}

/// `{ "outcome": … }`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// The arbiter's decision.
    pub outcome: String,
}

/// Builds `deposit_bond` from the party's associated token account, for the party to sign.
#[utoipa::path(
    post, path = "/api/v2/challenges/{address}/deposit", tag = "challenges", request_body = PartyBody,
    params(("address" = String, Path)),
    responses((status = 200, body = UnsignedResponse), (status = 409, body = ErrorBody, description = "CHALLENGE_NO_COUNTERPARTY")),
    security(("api_key" = []))
)]
pub async fn deposit(
    State(state): State<ChallengeApi>,
    session: Option<Extension<SessionPrincipal>>,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<PartyBody>,
) -> Result<Json<UnsignedResponse>, ApiError> {
    let party = parse_party(&body.party)?;
    let acting = acting_as(&session)?;
    Ok(Json(
        service(&state)?
            .deposit(&address(&raw)?, party, acting.as_ref())
            .await?
            .into(),
    ))
}

/// Builds `lock_intent` for the party to sign.
#[utoipa::path(
    post, path = "/api/v2/challenges/{address}/lock", tag = "challenges", request_body = PartyBody,
    params(("address" = String, Path)),
    responses((status = 200, body = UnsignedResponse)),
    security(("api_key" = []))
)]
pub async fn lock(
    State(state): State<ChallengeApi>,
    session: Option<Extension<SessionPrincipal>>,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<PartyBody>,
) -> Result<Json<UnsignedResponse>, ApiError> {
    let party = parse_party(&body.party)?;
    let acting = acting_as(&session)?;
    Ok(Json(
        service(&state)?
            .lock(&address(&raw)?, party, acting.as_ref())
            .await?
            .into(),
    ))
}

/// Builds `confirm_outcome` for the party to sign.
#[utoipa::path(
    post, path = "/api/v2/challenges/{address}/confirm", tag = "challenges", request_body = ConfirmBody,
    params(("address" = String, Path)),
    responses((status = 200, body = UnsignedResponse)),
    security(("api_key" = []))
)]
pub async fn confirm(
    State(state): State<ChallengeApi>,
    session: Option<Extension<SessionPrincipal>>,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<ConfirmBody>,
) -> Result<Json<UnsignedResponse>, ApiError> {
    let party = parse_party(&body.party)?;
    let outcome = parse_outcome(&body.outcome)?;
    let acting = acting_as(&session)?;
    Ok(Json(
        service(&state)?
            .confirm(&address(&raw)?, party, outcome, acting.as_ref())
            .await?
            .into(),
    ))
}

/// Builds `resolve` for the arbiter to sign.
#[utoipa::path(
    post, path = "/api/v2/challenges/{address}/resolve", tag = "challenges", request_body = ResolveBody,
    params(("address" = String, Path)),
    responses((status = 200, body = UnsignedResponse), (status = 409, body = ErrorBody, description = "CHALLENGE_NO_ARBITER")),
    security(("api_key" = []))
)]
pub async fn resolve(
    State(state): State<ChallengeApi>,
    session: Option<Extension<SessionPrincipal>>,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<ResolveBody>,
) -> Result<Json<UnsignedResponse>, ApiError> {
    let outcome = parse_outcome(&body.outcome)?;
    let acting = acting_as(&session)?;
    Ok(Json(
        service(&state)?
            .resolve(&address(&raw)?, outcome, acting.as_ref())
            .await?
            .into(),
    ))
}

/// An attestation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AttestResponse {
    /// Both checks passed (false cancels the challenge and refunds its bonds).
    pub passed: bool,
    /// SHA-256 of the attestation record, as stored on chain (hex).
    pub attestation_hash: String,
    /// The wallet verification the attestation cites, when made from evidence.
    pub wallet_verification_id: Option<String>,
    /// The funds attestations it cites (the bond's first), when made from evidence; each is
    /// PASSED or FAILED, never a balance.
    pub funds_attestation_ids: Vec<String>,
    /// The `attest_verification` transaction.
    pub signature: String,
    /// Its slot.
    pub slot: u64,
}

/// Checks a party and attests the result as the gatekeeper (the relayer signs and pays). A
/// failed check cancels the challenge and refunds its bonds, so a key needs the `gatekeeper`
/// scope (`challenges` alone is refused). With gatekeeper evidence
/// (`FF_GATEKEEPER_V2`), the checks are its wallet verification and funds attestations. A
/// party's session asks for its own party only, and its evidence is its own sign-in.
#[utoipa::path(
    post, path = "/api/v2/challenges/{address}/attest", tag = "challenges", request_body = AttestBody,
    params(("address" = String, Path)),
    responses(
        (status = 200, body = AttestResponse),
        (status = 400, body = ErrorBody, description = "GATEKEEPER_ASSET_INVALID, GATEKEEPER_AMOUNT_INVALID, GATEKEEPER_NETWORK_NOT_CONFIGURED, INVALID_BODY (a session citing other evidence)"),
        (status = 403, body = ErrorBody, description = "AUTH_SCOPE_FORBIDDEN: a key without the `gatekeeper` scope; AUTH_SESSION_WALLET_MISMATCH: a session asked for another wallet's party"),
        (status = 404, body = ErrorBody, description = "CHALLENGE_NOT_FOUND, GATEKEEPER_VERIFICATION_NOT_FOUND"),
        (status = 409, body = ErrorBody, description = "CHALLENGE_REFUSED (details.rule), CHALLENGE_NO_COUNTERPARTY"),
        (status = 422, body = ErrorBody, description = "CHALLENGE_VERIFICATION_MISMATCH, CHALLENGE_VERIFICATION_REQUIRED"),
        (status = 503, body = ErrorBody, description = "CHAIN_UNAVAILABLE, EVM_RPC_UNAVAILABLE, FEATURE_DISABLED (evidence while FF_GATEKEEPER_V2 is off)"),
    ),
    security(("api_key" = []))
)]
pub async fn attest(
    State(state): State<ChallengeApi>,
    principal: Option<Extension<Principal>>,
    session: Option<Extension<SessionPrincipal>>,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<AttestBody>,
) -> Result<Json<AttestResponse>, ApiError> {
    let party = parse_party(&body.party)?;
    let principal = principal.as_deref();
    if let Some(key) = principal.filter(|key| !key.has_scope(Scope::Gatekeeper)) {
        tracing::warn!(key_id = %key.key_id, "attest refused: the key lacks the gatekeeper scope");
        return Err(auth::AuthError::ScopeForbidden {
            required: Scope::Gatekeeper,
        }
        .into());
    }
    let acting = acting_as(&session)?;
    let evidence = match &session {
        // A session's evidence is its own sign-in: the gatekeeper's verification that this
        // wallet signed, and the bond's funds read for it. It cites nothing else.
        Some(Extension(session)) => {
            if body.funds.is_some()
                || body
                    .wallet_verification_id
                    .as_ref()
                    .is_some_and(|id| *id != session.verification_id)
            {
                return Err(ApiError::new(
                    ErrorCode::InvalidBody,
                    "a session's attestation cites its own sign-in only: leave out \
                     `wallet_verification_id` and `funds`",
                ));
            }
            Evidence {
                wallet_verification: Some(session.verification_id.clone()),
                funds: None,
            }
        }
        // A key attests only with the gatekeeper's role: a failed check cancels the challenge,
        // so a plain `challenges` key must not be able to cancel someone else's.
        None => Evidence {
            wallet_verification: body.wallet_verification_id,
            funds: body.funds.map(|f| FundsRequirement {
                verification: f.verification_id,
                asset: f.asset,
                threshold: f.threshold,
            }),
        },
    };
    if evidence != Evidence::default() {
        state.flags.check(Flag::GatekeeperV2, principal)?;
    }
    let attested = service(&state)?
        .attest(
            &address(&raw)?,
            party,
            &evidence,
            principal.map(|p| p.key_id.as_str()),
            acting.as_ref(),
        )
        .await?;
    Ok(Json(AttestResponse {
        passed: attested.passed,
        attestation_hash: hex::encode(attested.attestation_hash),
        wallet_verification_id: attested.wallet_verification,
        funds_attestation_ids: attested.funds_attestations,
        signature: attested.landed.signature,
        slot: attested.landed.slot,
    }))
}

/// Settles a completed bonded challenge (the relayer cranks it, once).
#[utoipa::path(
    post, path = "/api/v2/challenges/{address}/settle", tag = "challenges",
    params(("address" = String, Path)),
    responses((status = 200, body = LandedResponse), (status = 409, body = ErrorBody, description = "CHALLENGE_REFUSED")),
    security(("api_key" = []))
)]
pub async fn settle(
    State(state): State<ChallengeApi>,
    Path(raw): Path<String>,
) -> Result<Json<LandedResponse>, ApiError> {
    Ok(Json(service(&state)?.settle(&address(&raw)?).await?.into()))
}

/// Expires an overdue Enforced challenge, refunding its bonds (the relayer cranks it, once).
#[utoipa::path(
    post, path = "/api/v2/challenges/{address}/expire", tag = "challenges",
    params(("address" = String, Path)),
    responses((status = 200, body = LandedResponse), (status = 409, body = ErrorBody, description = "CHALLENGE_REFUSED (DeadlineNotReached, …)")),
    security(("api_key" = []))
)]
pub async fn expire(
    State(state): State<ChallengeApi>,
    Path(raw): Path<String>,
) -> Result<Json<LandedResponse>, ApiError> {
    Ok(Json(service(&state)?.expire(&address(&raw)?).await?.into()))
}

/// `{ "transaction": "<base64>" }`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardBody {
    /// A wallet-signed transaction (bincode, base64), e.g. one of the unsigned ones above
    /// after signing.
    pub transaction: String,
}

/// Sends a wallet-signed transaction and waits until it lands at confirmed commitment.
#[utoipa::path(
    post, path = "/api/v2/transactions", tag = "challenges", request_body = ForwardBody,
    responses(
        (status = 200, body = LandedResponse),
        (status = 400, body = ErrorBody, description = "TRANSACTION_INVALID"),
        (status = 409, body = ErrorBody, description = "CHALLENGE_REFUSED (details.rule)"),
        (status = 502, body = ErrorBody, description = "CHAIN_TRANSACTION_FAILED"),
    ),
    security(("api_key" = []))
)]
pub async fn forward(
    State(state): State<ChallengeApi>,
    ApiJson(body): ApiJson<ForwardBody>,
) -> Result<Json<LandedResponse>, ApiError> {
    Ok(Json(
        service(&state)?.forward(&body.transaction).await?.into(),
    ))
}
