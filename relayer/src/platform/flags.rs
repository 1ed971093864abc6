//! Feature flags (SPEC §6): each is `off`, `on`, or a percentage rollout bucketed by a stable
//! hash of (flag, API key id), so one key's experience does not flicker.
//!
//! Initial values come from the environment (`FF_*`, `off` when unset). `PUT /admin/flags`
//! stores a change in PostgreSQL with who made it; every relayer instance reads the table every
//! `RELAYER_FLAGS_REFRESH_MS` (2 s by default), so instances agree within that bound, without a
//! restart. A stored value overrides the environment until it is changed again.
//!
//! A disabled route answers `503 FEATURE_DISABLED` naming the flag ([`require`]); a check is
//! made when a request starts, so turning a flag off lets in-flight requests finish.

use std::{
    collections::BTreeMap,
    fmt,
    str::FromStr,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    extract::{Request, State},
    response::{IntoResponse, Response},
    Json,
};
use parking_lot::RwLock;
use prometheus::GaugeVec;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row};
use utoipa::ToSchema;

use crate::platform::{
    auth::api_keys::Principal,
    db::StoreError,
    error::{ApiError, ErrorCode},
};

macro_rules! flags {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)+) => {
        /// A feature flag.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Flag {
            $($(#[$doc])* $variant,)+
        }

        impl Flag {
            /// Every flag.
            pub const ALL: &'static [Flag] = &[$(Flag::$variant,)+];

            /// The flag's name, which is also its environment variable.
            pub fn name(self) -> &'static str {
                match self {
                    $(Flag::$variant => $name,)+
                }
            }
        }
    };
}

flags! {
    /// The gatekeeper's wallet and funds checks (`/gatekeeper/v2/*`).
    GatekeeperV2 = "FF_GATEKEEPER_V2",
    /// Every challenge route.
    Challenges = "FF_CHALLENGES",
    /// Creating Fire-mode challenges.
    FireMode = "FF_FIRE_MODE",
    /// Creating Enforced-mode challenges.
    EnforcedMode = "FF_ENFORCED_MODE",
    /// Webhook endpoints and deliveries.
    Webhooks = "FF_WEBHOOKS",
    /// Documents.
    Documents = "FF_DOCUMENTS",
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Flag {
    type Err = FlagError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Flag::ALL
            .iter()
            .copied()
            .find(|f| f.name() == s)
            .ok_or_else(|| FlagError::UnknownFlag(s.to_owned()))
    }
}

/// A flag's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollout {
    /// Nobody.
    Off,
    /// Everybody.
    On,
    /// This many percent of API keys (1–99), chosen by a stable hash.
    Percent(u8),
}

impl Rollout {
    /// The share of keys let through, 0.0–1.0.
    pub fn fraction(self) -> f64 {
        match self {
            Rollout::Off => 0.0,
            Rollout::On => 1.0,
            Rollout::Percent(p) => f64::from(p) / 100.0,
        }
    }

    /// Whether the key `key_id` (or an unauthenticated caller, `None`) is let through `flag`.
    /// A percentage lets no unauthenticated caller through: there is nothing stable to
    /// bucket.
    pub fn admits(self, flag: Flag, key_id: Option<&str>) -> bool {
        match (self, key_id) {
            (Rollout::Off, _) => false,
            (Rollout::On, _) => true,
            (Rollout::Percent(_), None) => false,
            (Rollout::Percent(p), Some(key)) => bucket(flag, key) < u64::from(p),
        }
    }
}

/// The key's bucket, 0–99, for `flag`: the first 8 bytes of SHA-256(flag ‖ 0 ‖ key id) mod
/// 100. Per flag, so the same keys are not always the first let through.
pub fn bucket(flag: Flag, key_id: &str) -> u64 {
    let digest = Sha256::new()
        .chain_update(flag.name())
        .chain_update([0])
        .chain_update(key_id)
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) % 100
}

impl fmt::Display for Rollout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rollout::Off => f.write_str("off"),
            Rollout::On => f.write_str("on"),
            Rollout::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl FromStr for Rollout {
    type Err = FlagError;

    /// `off`, `on`, or `N%` with N in 0–100 (`0%` is `off`, `100%` is `on`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || FlagError::BadRollout(s.to_owned());
        match s.trim().to_ascii_lowercase().as_str() {
            "off" | "false" | "0" => Ok(Rollout::Off),
            "on" | "true" | "1" => Ok(Rollout::On),
            other => {
                let digits = other.strip_suffix('%').ok_or_else(bad)?;
                match digits.parse::<u8>().map_err(|_| bad())? {
                    0 => Ok(Rollout::Off),
                    100 => Ok(Rollout::On),
                    p if p < 100 => Ok(Rollout::Percent(p)),
                    _ => Err(bad()),
                }
            }
        }
    }
}

/// Why a flag setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    /// Not one of [`Flag::ALL`].
    #[error("unknown feature flag `{0}`")]
    UnknownFlag(String),
    /// Not `off`, `on` or `N%`.
    #[error("`{0}` is not a rollout: use `off`, `on` or a percentage such as `25%`")]
    BadRollout(String),
}

impl From<FlagError> for ApiError {
    fn from(e: FlagError) -> Self {
        let details = match &e {
            FlagError::UnknownFlag(name) => json!({
                "flag": name,
                "known": Flag::ALL.iter().map(|f| f.name()).collect::<Vec<_>>(),
            }),
            FlagError::BadRollout(value) => json!({ "rollout": value }),
        };
        ApiError::new(ErrorCode::InvalidBody, e.to_string()).with_details(details)
    }
}

/// `503 FEATURE_DISABLED` naming `flag`.
pub fn disabled(flag: Flag) -> ApiError {
    ApiError::new(
        ErrorCode::FeatureDisabled,
        format!("this feature is disabled ({flag})"),
    )
    .with_details(json!({ "flag": flag.name() }))
}

/// Reads the initial rollouts from `FF_*` environment variables; unset flags are `off`.
pub fn from_env() -> Result<BTreeMap<Flag, Rollout>, FlagError> {
    from_lookup(|name| std::env::var(name).ok())
}

/// [`from_env`] over any lookup (tests).
pub fn from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<Flag, Rollout>, FlagError> {
    Flag::ALL
        .iter()
        .map(|&flag| {
            let rollout = match lookup(flag.name()) {
                Some(value) => value.parse()?,
                None => Rollout::Off,
            };
            Ok((flag, rollout))
        })
        .collect()
}

/// Every flag on (local stacks and tests).
pub fn all_on() -> BTreeMap<Flag, Rollout> {
    Flag::ALL.iter().map(|&f| (f, Rollout::On)).collect()
}

/// One flag's effective state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FlagState {
    /// The flag, e.g. `FF_CHALLENGES`.
    pub flag: String,
    /// `off`, `on` or `N%`.
    pub rollout: String,
    /// `env` (the initial value) or `admin` (changed at runtime).
    pub source: String,
    /// Who changed it last (`admin` only): `<key id> (<label>)`.
    pub updated_by: Option<String>,
    /// When (`admin` only), RFC 3339.
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone)]
struct Stored {
    rollout: Rollout,
    updated_by: String,
    updated_at: String,
}

struct Inner {
    env: BTreeMap<Flag, Rollout>,
    stored: RwLock<BTreeMap<Flag, Stored>>,
    pool: PgPool,
    gauge: GaugeVec,
}

/// The flags of this instance: the environment's values overlaid with PostgreSQL's.
#[derive(Clone)]
pub struct Flags(Arc<Inner>);

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(Flag::ALL.iter().map(|&flag| (flag, self.rollout(flag))))
            .finish()
    }
}

impl Flags {
    /// Flags with these initial values, reading runtime changes from `pool`; `gauge` is
    /// `feature_flag_enabled{flag}`. Call [`Flags::refresh`] once before serving.
    pub fn new(env: BTreeMap<Flag, Rollout>, pool: PgPool, gauge: GaugeVec) -> Self {
        let flags = Self(Arc::new(Inner {
            env,
            stored: RwLock::new(BTreeMap::new()),
            pool,
            gauge,
        }));
        flags.export();
        flags
    }

    /// The effective rollout of `flag`.
    pub fn rollout(&self, flag: Flag) -> Rollout {
        self.0
            .stored
            .read()
            .get(&flag)
            .map(|s| s.rollout)
            .or_else(|| self.0.env.get(&flag).copied())
            .unwrap_or(Rollout::Off)
    }

    /// Whether `flag` lets the key `key_id` through.
    pub fn admits(&self, flag: Flag, key_id: Option<&str>) -> bool {
        self.rollout(flag).admits(flag, key_id)
    }

    /// `Ok` when `flag` lets `principal` through, else `503 FEATURE_DISABLED`.
    pub fn check(&self, flag: Flag, principal: Option<&Principal>) -> Result<(), ApiError> {
        if self.admits(flag, principal.map(|p| p.key_id.as_str())) {
            Ok(())
        } else {
            Err(disabled(flag))
        }
    }

    /// Every flag's state.
    pub fn list(&self) -> Vec<FlagState> {
        let stored = self.0.stored.read();
        Flag::ALL
            .iter()
            .map(|&flag| match stored.get(&flag) {
                Some(s) => FlagState {
                    flag: flag.name().into(),
                    rollout: s.rollout.to_string(),
                    source: "admin".into(),
                    updated_by: Some(s.updated_by.clone()),
                    updated_at: Some(s.updated_at.clone()),
                },
                None => FlagState {
                    flag: flag.name().into(),
                    rollout: self
                        .0
                        .env
                        .get(&flag)
                        .copied()
                        .unwrap_or(Rollout::Off)
                        .to_string(),
                    source: "env".into(),
                    updated_by: None,
                    updated_at: None,
                },
            })
            .collect()
    }

    /// Reads the stored changes. Rows naming a flag this build does not know, or holding an
    /// unreadable rollout, are skipped with a warning (a newer instance may have written them).
    pub async fn refresh(&self) -> Result<(), StoreError> {
        let rows = sqlx::query(
            "SELECT name, rollout, updated_by, \
             to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS at \
             FROM feature_flags",
        )
        .fetch_all(&self.0.pool)
        .await?;
        let mut stored = BTreeMap::new();
        for row in rows {
            let name: String = row.get("name");
            let raw: String = row.get("rollout");
            match (name.parse::<Flag>(), raw.parse::<Rollout>()) {
                (Ok(flag), Ok(rollout)) => {
                    stored.insert(
                        flag,
                        Stored {
                            rollout,
                            updated_by: row.get("updated_by"),
                            updated_at: row.get("at"),
                        },
                    );
                }
                _ => {
                    tracing::warn!(%name, rollout = %raw, "skipping an unreadable feature flag row")
                }
            }
        }
        *self.0.stored.write() = stored;
        self.export();
        Ok(())
    }

    /// Stores `changes` in one transaction, each with an audit row naming `by`, then applies
    /// them here at once (other instances within their refresh interval).
    pub async fn set(
        &self,
        changes: &BTreeMap<Flag, Rollout>,
        by: &str,
    ) -> Result<Vec<FlagState>, StoreError> {
        let mut tx = self.0.pool.begin().await?;
        for (&flag, &rollout) in changes {
            let previous = self.rollout(flag);
            sqlx::query(
                "INSERT INTO feature_flags (name, rollout, updated_by) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET rollout = $2, updated_by = $3, updated_at = now()",
            )
            .bind(flag.name())
            .bind(rollout.to_string())
            .bind(by)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO feature_flag_changes (name, previous, rollout, changed_by) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(flag.name())
            .bind(previous.to_string())
            .bind(rollout.to_string())
            .bind(by)
            .execute(&mut *tx)
            .await?;
            tracing::info!(flag = %flag, %previous, %rollout, changed_by = by, "feature flag changed");
        }
        tx.commit().await?;
        self.refresh().await?;
        Ok(self.list())
    }

    /// Re-reads the table every `every` until `stop` turns true. A failed read keeps the last
    /// values (logged): flags never flip because PostgreSQL blinked.
    pub async fn run(self, every: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(error) = self.refresh().await {
                        tracing::warn!(%error, "feature flags not refreshed; keeping the last values");
                    }
                }
                _ = stop.changed() => return,
            }
        }
    }

    fn export(&self) {
        for &flag in Flag::ALL {
            self.0
                .gauge
                .with_label_values(&[flag.name()])
                .set(self.rollout(flag).fraction());
        }
    }
}

/// A layer for `route_layer` that answers `503 FEATURE_DISABLED` unless `flag` lets the
/// request's key through. Add it *before* the auth layer (the last added runs first), so the
/// key is known.
pub fn require(flags: Flags, flag: Flag) -> FlagLayer {
    FlagLayer { flags, flag }
}

/// See [`require`].
#[derive(Clone)]
pub struct FlagLayer {
    flags: Flags,
    flag: Flag,
}

impl<S> tower::Layer<S> for FlagLayer {
    type Service = FlagGate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FlagGate {
            inner,
            flags: self.flags.clone(),
            flag: self.flag,
        }
    }
}

/// The service [`FlagLayer`] makes.
#[derive(Clone)]
pub struct FlagGate<S> {
    inner: S,
    flags: Flags,
    flag: Flag,
}

impl<S> tower::Service<Request> for FlagGate<S>
where
    S: tower::Service<Request, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future =
        futures::future::Either<S::Future, std::future::Ready<Result<Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let principal = request.extensions().get::<Principal>();
        match self.flags.check(self.flag, principal) {
            Ok(()) => futures::future::Either::Left(self.inner.call(request)),
            Err(refused) => {
                futures::future::Either::Right(std::future::ready(Ok(refused.into_response())))
            }
        }
    }
}

/// `PUT /admin/flags`: `{ "FF_CHALLENGES": "off", "FF_FIRE_MODE": "25%" }`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({ "FF_FIRE_MODE": "25%" }))]
pub struct FlagChanges(pub BTreeMap<String, String>);

/// Every flag's state.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FlagList {
    /// In [`Flag::ALL`] order.
    pub flags: Vec<FlagState>,
}

/// Every feature flag's effective state and where it comes from.
#[utoipa::path(get, path = "/admin/flags", tag = "admin",
    responses((status = 200, body = FlagList)),
    security(("api_key" = [])))]
pub async fn list(State(flags): State<Flags>) -> Json<FlagList> {
    Json(FlagList {
        flags: flags.list(),
    })
}

/// Changes flags at runtime, all or none; each change is stored with the caller's key and
/// reaches every instance within `RELAYER_FLAGS_REFRESH_MS`.
#[utoipa::path(put, path = "/admin/flags", tag = "admin",
    request_body = FlagChanges,
    responses((status = 200, body = FlagList),
              (status = 400, description = "`INVALID_BODY`: an unknown flag or rollout (`details`)")),
    security(("api_key" = [])))]
pub async fn change(
    State(flags): State<Flags>,
    principal: Principal,
    crate::platform::http::ApiJson(FlagChanges(raw)): crate::platform::http::ApiJson<FlagChanges>,
) -> Result<Json<FlagList>, ApiError> {
    if raw.is_empty() {
        return Err(crate::platform::http::invalid_field(
            "body",
            "an object of at least one flag name to its rollout",
        ));
    }
    let changes = raw
        .iter()
        .map(|(name, value)| Ok((name.parse::<Flag>()?, value.parse::<Rollout>()?)))
        .collect::<Result<BTreeMap<_, _>, FlagError>>()?;
    let by = format!("{} ({})", principal.key_id, principal.label);
    let flags = flags.set(&changes, &by).await?;
    Ok(Json(FlagList { flags }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollouts_parse_and_print() {
        for (raw, rollout) in [
            ("off", Rollout::Off),
            ("ON", Rollout::On),
            ("25%", Rollout::Percent(25)),
            ("0%", Rollout::Off),
            ("100%", Rollout::On),
        ] {
            assert_eq!(raw.parse::<Rollout>().unwrap(), rollout, "{raw}");
        }
        for bad in ["", "maybe", "101%", "25", "-1%", "2.5%"] {
            assert_eq!(
                bad.parse::<Rollout>(),
                Err(FlagError::BadRollout(bad.to_owned())),
                "{bad}"
            );
        }
        assert_eq!(Rollout::Percent(7).to_string(), "7%");
        assert_eq!(
            "FF_NOPE".parse::<Flag>(),
            Err(FlagError::UnknownFlag("FF_NOPE".into()))
        );
    }

    #[test]
    fn a_percentage_lets_through_its_share_of_10_000_keys_and_always_the_same_ones() {
        for percent in [1u8, 10, 25, 50, 90] {
            let rollout = Rollout::Percent(percent);
            let admitted = (0..10_000)
                .filter(|i| rollout.admits(Flag::FireMode, Some(&format!("{i:016x}"))))
                .count();
            let expected = usize::from(percent) * 100;
            // 10,000 Bernoulli draws: the standard deviation is at most 50; allow 4 of them.
            assert!(
                admitted.abs_diff(expected) <= 200,
                "{percent}%: {admitted} of 10000 admitted"
            );
        }
        let key = "0123456789abcdef";
        let first = Rollout::Percent(50).admits(Flag::Challenges, Some(key));
        for _ in 0..100 {
            assert_eq!(
                Rollout::Percent(50).admits(Flag::Challenges, Some(key)),
                first
            );
        }
        // Widening a rollout never drops a key that was in.
        let in_at_10: Vec<_> = (0..1000)
            .map(|i| format!("{i:016x}"))
            .filter(|k| Rollout::Percent(10).admits(Flag::Webhooks, Some(k)))
            .collect();
        assert!(in_at_10
            .iter()
            .all(|k| Rollout::Percent(60).admits(Flag::Webhooks, Some(k))));
        assert!(!Rollout::Percent(99).admits(Flag::Webhooks, None));
    }

    #[test]
    fn env_values_are_read_and_unset_flags_are_off() {
        let flags = from_lookup(|name| match name {
            "FF_CHALLENGES" => Some("on".into()),
            "FF_FIRE_MODE" => Some("30%".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(flags[&Flag::Challenges], Rollout::On);
        assert_eq!(flags[&Flag::FireMode], Rollout::Percent(30));
        assert_eq!(flags[&Flag::Documents], Rollout::Off);
        assert_eq!(
            from_lookup(|_| Some("sometimes".into())),
            Err(FlagError::BadRollout("sometimes".into()))
        );
    }
}
