//! The application state: every service, built once from the [`Config`], shared by handlers.

use std::{ops::Deref, sync::Arc, time::Duration};

use ed25519_dalek::VerifyingKey;
use sqlx::{postgres::PgPoolOptions, PgPool};
use veil_http_layers::client::PerClientLimit;

use crate::{
    challenges::ChallengeService,
    chittyid::anchor::Anchorer,
    chittyid::batch::{BatchPolicy, Batcher},
    chittyid::drand::{DrandClient, DrandConfig},
    chittyid::fallback_client::FallbackClient,
    chittyid::mint::{service::MintService, writer::CommitQueue, Minter, VrfKey},
    chittyid::reconcile::Reconciler,
    chittyid::store::{self, StoreError},
    chittyid::verify::Verifier,
    gatekeeper::{GatekeeperConfig, GatekeeperService},
    platform::admission::{Admission, AdmissionLimits},
    platform::auth::{AuthService, AuthSetupError, Quota},
    platform::breaker::CircuitBreaker,
    platform::chain::{ChainClient, ChainConfig},
    platform::clock::Clock,
    platform::config::Config,
    platform::evm::EvmNetworks,
    platform::flags::Flags,
    platform::metrics::Metrics,
    platform::notify::{ResendConfig, ResendNotifier, TwilioConfig, TwilioNotifier},
    platform::outbox::Outbox,
    platform::secrets::{SecretError, SecretName, SecretProvider},
    registry::prover::{KeySource, ProverConfig, ProverPool},
    registry::RegistryService,
    webhooks::{notifications::Notifiers, target::TargetPolicy, WebhookConfig, WebhookService},
};

/// Group-commit writer tasks.
pub const COMMIT_WRITERS: usize = 2;

/// Why the relayer could not start. Each names the dependency or setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// PostgreSQL is unreachable.
    #[error("cannot connect to PostgreSQL: {0}")]
    Database(#[source] sqlx::Error),
    /// A migration failed.
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A secret is missing or malformed.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The auth layer's settings are invalid.
    #[error(transparent)]
    Auth(#[from] AuthSetupError),
    /// The VRF key could not be registered.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A fallback URL is configured, but its bearer token is unusable: sending none would
    /// make every fallback request fail (or, against an unguarded fallback, hide the problem).
    #[error("RELAYER_FALLBACK_URL is set, but the `fallback_token` secret is {0}")]
    FallbackToken(&'static str),
    /// The pinned fallback key is not a 32-byte Ed25519 key in hex.
    #[error("RELAYER_FALLBACK_PUBLIC_KEY is not a 32-byte Ed25519 public key in hex")]
    FallbackKey,
    /// The drand relay list is empty or holds a URL that is not `http(s)://host…`.
    #[error(transparent)]
    Drand(#[from] crate::chittyid::drand::DrandConfigError),
    /// `RELAYER_EVM_RPC` holds an entry that is not `eip155:<n>=<url>`.
    #[error(transparent)]
    Evm(#[from] crate::platform::evm::EvmConfigError),
    /// A CORS origin is malformed.
    #[error("RELAYER_CORS_ORIGINS: {0}")]
    Cors(#[from] veil_http_layers::cors::CorsError),
    /// A trusted proxy is malformed.
    #[error("RELAYER_TRUSTED_PROXIES: {0}")]
    TrustedProxy(String),
    /// A notifier is half configured: its URL is set but not the setting named.
    #[error("{0} is set, but {1} is not")]
    Notifier(&'static str, &'static str),
    /// An HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// Every service, shared.
pub struct Inner {
    /// The configuration.
    pub config: Config,
    /// PostgreSQL.
    pub pool: PgPool,
    /// Metrics.
    pub metrics: Metrics,
    /// drand.
    pub drand: Arc<DrandClient>,
    /// The minter (VRF key, counters, commit queue).
    pub minter: Arc<Minter>,
    /// Mint with fallback.
    pub mints: Arc<MintService>,
    /// Verification with its cache.
    pub verifier: Arc<Verifier>,
    /// Batches.
    pub batcher: Arc<Batcher>,
    /// Reconciliation.
    pub reconciler: Arc<Reconciler>,
    /// API keys, signatures, nonces, rate limits, allowlist.
    pub auth: Arc<AuthService>,
    /// Feature flags.
    pub flags: Flags,
    /// Wallet sign-in (SIWS / EIP-4361).
    pub gatekeeper: Arc<GatekeeperService>,
    /// Webhook endpoints and delivery.
    pub webhooks: Arc<WebhookService>,
    /// Whether mints can fall back.
    pub fallback_configured: bool,
    /// The fallback client (for its breaker state in `/health`).
    pub fallback: Option<FallbackClient>,
    /// The chain client and the anchorer, with `RELAYER_RPC_URL`.
    pub anchorer: Option<Arc<Anchorer>>,
    /// The registry flows and their prover pool, with `RELAYER_RPC_URL`.
    pub registry: Option<Arc<RegistryService>>,
    /// The challenge flows and the expiry crank, with `RELAYER_RPC_URL`.
    pub challenges: Option<Arc<ChallengeService>>,
    /// CORS for browser callers, when origins are configured.
    pub cors: Option<tower_http::cors::CorsLayer>,
    /// The limit per client address on the routes without an API key.
    pub public_limit: PerClientLimit,
    /// Admission control: requests served at once, and the queue in front of them.
    pub admission: Admission,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Connects, migrates and wires everything. Must run inside a Tokio runtime (the commit
    /// writers are spawned on it).
    pub async fn build(
        config: Config,
        secrets: &dyn SecretProvider,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let pool = PgPoolOptions::new()
            .max_connections(config.db.db_max_connections)
            // Connections are checked by use; a ping per acquire would double the round trips
            // of the group commit. A broken connection fails its query and is replaced.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(3))
            .connect(&config.db.database_url)
            .await
            .map_err(StartupError::Database)?;
        crate::platform::db::MIGRATOR.run(&pool).await?;
        let metrics = Metrics::new();

        let vrf = VrfKey::from_secret(&secrets.get(SecretName::VrfKey)?.to_array("vrf_key")?);
        store::ensure_vrf_key(&pool, &vrf.key_id, &vrf.public_key).await?;

        let drand_config = DrandConfig::from_config(&config);
        drand_config.validate()?;
        let chain = drand_config.chain.clone();
        let drand = Arc::new(DrandClient::new(
            drand_config,
            clock.clone(),
            metrics.clone(),
        )?);

        let flags = Flags::new(
            config.flags(),
            pool.clone(),
            metrics.feature_flag_enabled.clone(),
        );
        flags.refresh().await?;
        let queue = CommitQueue::start(
            pool.clone(),
            config.mint_commit_max_rows,
            COMMIT_WRITERS,
            metrics.clone(),
            Outbox::new(flags.clone()),
        );
        let minter = Arc::new(Minter::new(vrf, chain.clone(), queue, metrics.clone()));
        let fallback = match &config.fallback_url {
            Some(url) => Some(FallbackClient::new(
                url,
                Some(fallback_token(secrets)?),
                config.drand_timeout(),
                config.breaker(),
                &metrics,
            )?),
            None => None,
        };
        let pinned = match &config.fallback_public_key {
            Some(hex_key) => Some(
                hex::decode(hex_key)
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .and_then(|b| VerifyingKey::from_bytes(&b).ok())
                    .ok_or(StartupError::FallbackKey)?,
            ),
            None => None,
        };
        let mints = Arc::new(MintService::new(
            drand.clone(),
            minter.clone(),
            fallback.clone(),
            metrics.clone(),
        ));
        let verifier = Arc::new(Verifier::new(
            pool.clone(),
            chain.chain_hash.clone(),
            config.verify_cache_capacity,
            Duration::from_secs(config.verify_cache_ttl_secs),
            metrics.clone(),
        ));
        let batcher = Arc::new(Batcher::new(
            pool.clone(),
            BatchPolicy {
                max_ids: config.batch_max_ids,
                max_age: Duration::from_secs(config.batch_max_age_secs),
            },
            verifier.clone(),
        ));
        let reconciler = Arc::new(Reconciler::new(
            pool.clone(),
            drand.clone(),
            minter.clone(),
            fallback.clone(),
            pinned,
            metrics.clone(),
        ));
        let (anchorer, registry, solana) = match &config.rpc_url {
            Some(url) => {
                let seed: [u8; 32] = secrets.get(SecretName::ChainKey)?.to_array("chain_key")?;
                let payer = solana_keypair::Keypair::new_from_array(seed);
                let breaker =
                    Arc::new(CircuitBreaker::new("rpc", config.breaker()).with_metrics(&metrics));
                let chain = Arc::new(ChainClient::new(
                    ChainConfig {
                        poll_interval: Duration::from_millis(config.chain_poll_ms),
                        ..ChainConfig::new(url.clone())
                    },
                    payer,
                    breaker,
                    pool.clone(),
                ));
                let prover = Arc::new(ProverPool::start(
                    ProverConfig {
                        key: config
                            .proving_key
                            .clone()
                            .map_or(KeySource::Development, KeySource::File),
                        workers: usize::try_from(config.prover_workers).unwrap_or(1),
                        queue: config.prover_queue,
                    },
                    metrics.clone(),
                ));
                let registry = Arc::new(RegistryService::new(
                    pool.clone(),
                    chain.clone(),
                    prover,
                    metrics.clone(),
                    config.root_freshness_slots,
                ));
                let anchorer = Arc::new(Anchorer::new(
                    pool.clone(),
                    chain.clone(),
                    verifier.clone(),
                    config.anchor_namespace,
                    Outbox::new(flags.clone()),
                ));
                (Some(anchorer), Some(registry), Some(chain))
            }
            None => (None, None, None),
        };
        let auth = AuthService::from_config(&config, pool.clone(), secrets, clock.clone())?;
        let gatekeeper = Arc::new(GatekeeperService::new(
            pool.clone(),
            GatekeeperConfig {
                domain: config.gatekeeper_domain.clone(),
                uri: config.gatekeeper_uri.clone(),
                nonce_ttl: Duration::from_secs(config.gatekeeper_nonce_ttl_secs),
                chains: config.gatekeeper_chains.clone(),
            },
            clock.clone(),
            solana.clone(),
            EvmNetworks::from_entries(&config.evm_rpc, config.drand_timeout(), config.breaker())?,
        ));
        let webhooks = Arc::new(WebhookService::new(
            pool.clone(),
            WebhookConfig {
                policy: TargetPolicy {
                    allow_loopback: config.webhook_allow_loopback,
                    allow_private: config.webhook_allow_private,
                },
                timeout: Duration::from_millis(config.webhook_timeout_ms),
                schedule: config
                    .webhook_schedule_secs
                    .iter()
                    .map(|s| Duration::from_secs(*s))
                    .collect(),
                disable_after: Duration::from_secs(config.webhook_disable_after_secs),
                concurrency: usize::try_from(config.webhook_concurrency).unwrap_or(16),
                poll: Duration::from_millis(config.webhook_poll_ms),
                retention_days: config.webhook_retention_days,
            },
            secrets
                .get(SecretName::HmacMaster)?
                .to_array("hmac_master")?,
            flags.clone(),
            metrics.clone(),
            notifiers(&config, secrets, &metrics)?,
        )?);
        // Challenges attest from the gatekeeper's evidence when a call cites it.
        let challenges = solana.map(|chain| {
            Arc::new(ChallengeService::new(
                pool.clone(),
                chain,
                gatekeeper.clone(),
                metrics.clone(),
                Duration::from_millis(config.challenge_read_ttl_ms),
            ))
        });
        let cors = veil_http_layers::cors::layer(&config.cors_origins)?;
        let trusted = veil_http_layers::client::parse_trusted(&config.trusted_proxies)
            .map_err(StartupError::TrustedProxy)?;
        let public_limit = PerClientLimit::new(
            Quota::try_new(config.public_per_ip_per_sec, config.public_per_ip_burst)
                .unwrap_or(Quota::try_new(2, 100).expect("non-zero")),
            trusted,
            crate::platform::http::rate_limited,
        );
        let admission = Admission::new(
            AdmissionLimits {
                max_in_flight: usize::try_from(config.max_in_flight).unwrap_or(usize::MAX),
                max_queued: config.admission_queue,
                max_wait: Duration::from_millis(config.admission_wait_ms),
            },
            metrics.clone(),
        );
        Ok(Self(Arc::new(Inner {
            cors,
            public_limit,
            admission,
            anchorer,
            registry,
            challenges,
            fallback_configured: fallback.is_some(),
            fallback: fallback.clone(),
            config,
            pool,
            metrics,
            drand,
            minter,
            mints,
            verifier,
            batcher,
            reconciler,
            auth,
            flags,
            gatekeeper,
            webhooks,
        })))
    }
}

/// The email and SMS notifiers that are configured; a URL without its settings or secret
/// stops the relayer at start.
fn notifiers(
    config: &Config,
    secrets: &dyn SecretProvider,
    metrics: &Metrics,
) -> Result<Notifiers, StartupError> {
    let timeout = Duration::from_millis(config.notify_timeout_ms);
    let mut out = Notifiers::default();
    if let Some(base_url) = &config.notify_email_url {
        let from = config
            .notify_email_from
            .clone()
            .ok_or(StartupError::Notifier(
                "RELAYER_NOTIFY_EMAIL_URL",
                "RELAYER_NOTIFY_EMAIL_FROM",
            ))?;
        let notifier = ResendNotifier::new(
            ResendConfig {
                base_url: base_url.clone(),
                from,
            },
            secrets.get(SecretName::NotifyEmailKey)?,
            timeout,
            config.breaker(),
            metrics,
        )?;
        out.email = Some(Arc::new(notifier));
    }
    if let Some(base_url) = &config.notify_sms_url {
        let account_sid = config
            .notify_sms_account
            .clone()
            .ok_or(StartupError::Notifier(
                "RELAYER_NOTIFY_SMS_URL",
                "RELAYER_NOTIFY_SMS_ACCOUNT",
            ))?;
        let from = config
            .notify_sms_from
            .clone()
            .ok_or(StartupError::Notifier(
                "RELAYER_NOTIFY_SMS_URL",
                "RELAYER_NOTIFY_SMS_FROM",
            ))?;
        let notifier = TwilioNotifier::new(
            TwilioConfig {
                base_url: base_url.clone(),
                account_sid,
                from,
            },
            secrets.get(SecretName::NotifySmsToken)?,
            timeout,
            config.breaker(),
            metrics,
        )?;
        out.sms = Some(Arc::new(notifier));
    }
    Ok(out)
}

/// The fallback minter's shortest token (`veil_fallback::config::MIN_TOKEN_LEN`; the two
/// services share no code by design, so the number is repeated here).
const FALLBACK_MIN_TOKEN_LEN: usize = 32;

/// The fallback minter's bearer token: required whenever a fallback URL is set (audit finding
/// 13). A missing or unreadable secret stops the relayer at start instead of silently sending
/// no token; so does one shorter than the fallback's own minimum.
fn fallback_token(secrets: &dyn SecretProvider) -> Result<String, StartupError> {
    let secret = secrets.get(SecretName::FallbackToken)?;
    let token = std::str::from_utf8(secret.expose())
        .map_err(|_| StartupError::FallbackToken("not UTF-8"))?
        .trim()
        .to_owned();
    if token.len() < FALLBACK_MIN_TOKEN_LEN {
        return Err(StartupError::FallbackToken(
            "shorter than the fallback minter's 32-character minimum",
        ));
    }
    Ok(token)
}
