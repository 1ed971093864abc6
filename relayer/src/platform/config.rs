//! Typed configuration: clap derive with `RELAYER_*` environment variables, parsed once.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser, ValueEnum};

use crate::platform::{
    auth::allowlist::IpAllowlist,
    flags::{Flag, Rollout},
};

/// Where the database is.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// PostgreSQL URL.
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "postgres://postgres@127.0.0.1:5432/veil"
    )]
    pub database_url: String,
    /// Pool size.
    #[arg(long, env = "RELAYER_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
}

/// Where secrets come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SecretSource {
    /// `RELAYER_SECRET_<NAME>` environment variables.
    Env,
    /// One file per secret in `--secrets-dir`.
    File,
    /// A 1Password Connect server: `OP_CONNECT_HOST`, `OP_CONNECT_TOKEN`, and the item
    /// `op://<RELAYER_OP_VAULT>/<RELAYER_OP_ITEM>/<secret name>` (or `RELAYER_OP_REF_<NAME>`).
    #[value(name = "onepassword")]
    OnePassword,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable.
    Text,
    /// One JSON object per line.
    Json,
}

/// Everything `serve` needs.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "RELAYER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Database.
    #[command(flatten)]
    pub db: DbArgs,
    /// Redis URL (nonce store).
    #[arg(
        long,
        env = "RELAYER_REDIS_URL",
        hide_env_values = true,
        default_value = "redis://127.0.0.1:6379"
    )]
    pub redis_url: String,
    /// Prefix of every Redis key, so several relayers (or tests) can share one server.
    #[arg(long, env = "RELAYER_REDIS_PREFIX", default_value = "veil:")]
    pub redis_prefix: String,
    /// drand relays, tried in order (comma-separated base URLs).
    #[arg(
        long,
        env = "RELAYER_DRAND_URLS",
        hide_env_values = true,
        value_delimiter = ',',
        default_value = "https://api.drand.sh,https://drand.cloudflare.com,https://api2.drand.sh,https://api3.drand.sh"
    )]
    pub drand_urls: Vec<String>,
    /// Per-request timeout to a drand relay, in milliseconds.
    #[arg(long, env = "RELAYER_DRAND_TIMEOUT_MS", default_value_t = 2_000)]
    pub drand_timeout_ms: u64,
    /// A "latest" beacon older than this many seconds is refused as stale.
    #[arg(long, env = "RELAYER_DRAND_MAX_AGE_SECS", default_value_t = 30)]
    pub drand_max_age_secs: u64,
    /// Consecutive failures that open a dependency's circuit breaker.
    #[arg(long, env = "RELAYER_BREAKER_FAILURES", default_value_t = 3)]
    pub breaker_failures: u32,
    /// Seconds a breaker stays open before one probe is let through (half-open).
    #[arg(long, env = "RELAYER_BREAKER_OPEN_SECS", default_value_t = 10)]
    pub breaker_open_secs: u64,
    /// The fallback minter's base URL; mints fall back to it when drand is unavailable.
    #[arg(long, env = "RELAYER_FALLBACK_URL", hide_env_values = true)]
    pub fallback_url: Option<String>,
    /// The fallback minter's Ed25519 public key (hex), pinned: reconciliation refuses records
    /// it did not sign.
    #[arg(long, env = "RELAYER_FALLBACK_PUBLIC_KEY")]
    pub fallback_public_key: Option<String>,
    /// Solana JSON-RPC endpoint. With it, the relayer anchors ID batches on chain, paying
    /// and signing with the `chain_key` secret (the registry's registrar); without it,
    /// batches stay `pending`.
    #[arg(long, env = "RELAYER_RPC_URL", hide_env_values = true)]
    pub rpc_url: Option<String>,
    /// Seconds between anchoring rounds (each anchors every pending batch).
    #[arg(long, env = "RELAYER_ANCHOR_INTERVAL_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub anchor_interval_secs: u64,
    /// Namespace batches are anchored under on chain (up to 4 ASCII bytes, zero-padded).
    #[arg(long, env = "RELAYER_ANCHOR_NAMESPACE", default_value = "CHI",
          value_parser = parse_namespace)]
    pub anchor_namespace: [u8; 4],
    /// Seconds between rounds of the challenge crank, which expires overdue Enforced
    /// challenges (refunding their bonds).
    #[arg(long, env = "RELAYER_CRANK_INTERVAL_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub crank_interval_secs: u64,
    /// Seconds between rounds of the root publisher, which publishes every track with new
    /// registrations so that members can prove without an operator's
    /// `POST /api/v2/registry/publish`; 0 (the default) leaves publishing to the operator.
    #[arg(long, env = "RELAYER_PUBLISH_INTERVAL_SECS", default_value_t = 0)]
    pub publish_interval_secs: u64,
    /// `FF_GATEKEEPER_V2`: the gatekeeper's wallet and funds checks (`off`, `on` or `N%` of
    /// API keys). Every flag's initial value; `PUT /admin/flags` changes it at runtime.
    #[arg(long, env = "FF_GATEKEEPER_V2", default_value = "off")]
    pub ff_gatekeeper_v2: Rollout,
    /// `FF_CHALLENGES`: every challenge route.
    #[arg(long, env = "FF_CHALLENGES", default_value = "off")]
    pub ff_challenges: Rollout,
    /// `FF_FIRE_MODE`: creating Fire-mode challenges.
    #[arg(long, env = "FF_FIRE_MODE", default_value = "off")]
    pub ff_fire_mode: Rollout,
    /// `FF_ENFORCED_MODE`: creating Enforced-mode challenges.
    #[arg(long, env = "FF_ENFORCED_MODE", default_value = "off")]
    pub ff_enforced_mode: Rollout,
    /// `FF_WEBHOOKS`: webhook endpoints and deliveries.
    #[arg(long, env = "FF_WEBHOOKS", default_value = "off")]
    pub ff_webhooks: Rollout,
    /// `FF_DOCUMENTS`: documents.
    #[arg(long, env = "FF_DOCUMENTS", default_value = "off")]
    pub ff_documents: Rollout,
    /// The domain wallets see in the sign-in message (`{domain} wants you to sign in…`).
    #[arg(
        long,
        env = "RELAYER_GATEKEEPER_DOMAIN",
        default_value = "localhost:8080"
    )]
    pub gatekeeper_domain: String,
    /// The URI in the sign-in message.
    #[arg(
        long,
        env = "RELAYER_GATEKEEPER_URI",
        default_value = "http://localhost:8080"
    )]
    pub gatekeeper_uri: String,
    /// Seconds an issued sign-in nonce may be used.
    #[arg(long, env = "RELAYER_GATEKEEPER_NONCE_TTL_SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(10..=86_400))]
    pub gatekeeper_nonce_ttl_secs: u64,
    /// CAIP-2 chain ids a wallet may sign in on (comma-separated).
    #[arg(
        long,
        env = "RELAYER_GATEKEEPER_CHAINS",
        value_delimiter = ',',
        default_value = "solana:mainnet,solana:devnet,solana:localnet,eip155:1,eip155:31337"
    )]
    pub gatekeeper_chains: Vec<String>,
    /// EVM networks the funds check reads, `eip155:<chain id>=<JSON-RPC URL>` (comma-separated;
    /// empty: none).
    #[arg(
        long,
        env = "RELAYER_EVM_RPC",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub evm_rpc: Vec<String>,
    /// Let webhook endpoints on loopback addresses (`127.0.0.0/8`, `::1`, `localhost`) be
    /// registered and called, over http too. Off in production; on in tests and the stack.
    #[arg(long, env = "RELAYER_WEBHOOK_ALLOW_LOOPBACK", default_value = "false",
          action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub webhook_allow_loopback: bool,
    /// Let webhook endpoints resolve to private, link-local or shared addresses (the
    /// operator's own network). Off by default: no SSRF into it.
    #[arg(long, env = "RELAYER_WEBHOOK_ALLOW_PRIVATE", default_value = "false",
          action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub webhook_allow_private: bool,
    /// Milliseconds one delivery attempt may take, connect to the end of the answer.
    #[arg(long, env = "RELAYER_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(100..=120_000))]
    pub webhook_timeout_ms: u64,
    /// Seconds before each attempt of a delivery (the first is usually 0); after the last the
    /// delivery is `failed`. Each wait gets ±20 % jitter.
    #[arg(
        long,
        env = "RELAYER_WEBHOOK_SCHEDULE_SECS",
        value_delimiter = ',',
        default_value = "0,5,300,1800,7200,18000,36000,36000"
    )]
    pub webhook_schedule_secs: Vec<u64>,
    /// Seconds an endpoint may fail every delivery before it is disabled.
    #[arg(
        long,
        env = "RELAYER_WEBHOOK_DISABLE_AFTER_SECS",
        default_value_t = 432_000
    )]
    pub webhook_disable_after_secs: u64,
    /// Deliveries one relayer instance attempts at once.
    #[arg(long, env = "RELAYER_WEBHOOK_CONCURRENCY", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub webhook_concurrency: u32,
    /// Days outbox events, their deliveries and attempts, and sent notifications are kept
    /// (pending ones are kept until they settle); replay reaches back this far.
    #[arg(long, env = "RELAYER_WEBHOOK_RETENTION_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub webhook_retention_days: u32,
    /// Hours an `Idempotency-Key` answers its mint's ID; after that the key is free again.
    #[arg(long, env = "RELAYER_IDEMPOTENCY_TTL_HOURS", default_value_t = 168,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub idempotency_ttl_hours: u32,
    /// Milliseconds a cached challenge read (`GET /api/v2/challenges/{address}`) is served
    /// before the chain is read again; the indexer's notifications and this relayer's own
    /// transactions drop entries sooner. 0 reads the chain every time.
    #[arg(long, env = "RELAYER_CHALLENGE_READ_TTL_MS", default_value_t = 2_000)]
    pub challenge_read_ttl_ms: u64,
    /// Milliseconds between status polls of a transaction the relayer sent (anchoring,
    /// `verify-ownership`, attestations, settling, forwarded transactions) until it is
    /// confirmed. A confirmation is seen up to this late; each poll is one
    /// `getSignatureStatuses` per transaction in flight.
    #[arg(long, env = "RELAYER_CHAIN_POLL_MS", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(10..=10_000))]
    pub chain_poll_ms: u64,
    /// Milliseconds between looks at the outbox when it was empty.
    #[arg(long, env = "RELAYER_WEBHOOK_POLL_MS", default_value_t = 250,
          value_parser = clap::value_parser!(u64).range(10..))]
    pub webhook_poll_ms: u64,
    /// Base URL of a Resend-compatible email API (`https://api.resend.com`): endpoints' email
    /// contacts are told through it when an endpoint is disabled. Its key is the
    /// `notify_email_key` secret. Unset: no email.
    #[arg(long, env = "RELAYER_NOTIFY_EMAIL_URL", hide_env_values = true)]
    pub notify_email_url: Option<String>,
    /// The sender of notification emails (`Chitty Veil <alerts@example.com>`); required with
    /// `RELAYER_NOTIFY_EMAIL_URL`.
    #[arg(long, env = "RELAYER_NOTIFY_EMAIL_FROM")]
    pub notify_email_from: Option<String>,
    /// Base URL of a Twilio-compatible SMS API (`https://api.twilio.com`). Its auth token is the
    /// `notify_sms_token` secret. Unset: no SMS.
    #[arg(long, env = "RELAYER_NOTIFY_SMS_URL", hide_env_values = true)]
    pub notify_sms_url: Option<String>,
    /// The SMS account SID (`AC…`); required with `RELAYER_NOTIFY_SMS_URL`.
    #[arg(long, env = "RELAYER_NOTIFY_SMS_ACCOUNT", hide_env_values = true)]
    pub notify_sms_account: Option<String>,
    /// The sending number (E.164); required with `RELAYER_NOTIFY_SMS_URL`.
    #[arg(long, env = "RELAYER_NOTIFY_SMS_FROM")]
    pub notify_sms_from: Option<String>,
    /// Milliseconds one notification request may take.
    #[arg(long, env = "RELAYER_NOTIFY_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(100..=120_000))]
    pub notify_timeout_ms: u64,
    /// Origins browsers may call the relayer from (`https://app.example.com`, comma-separated;
    /// `*` for any, never with credentials). Empty: no cross-origin caller.
    #[arg(long, env = "RELAYER_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Proxies (CIDRs or addresses, comma-separated) whose `X-Forwarded-For` names the client;
    /// from any other peer the header is ignored.
    #[arg(long, env = "RELAYER_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// Requests per second one client address may make to the routes without an API key
    /// (`/health`, `/metrics`, the API document), after its burst.
    #[arg(long, env = "RELAYER_PUBLIC_PER_IP_PER_SEC", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub public_per_ip_per_sec: u32,
    /// Requests one client address may make at once to those routes.
    #[arg(long, env = "RELAYER_PUBLIC_PER_IP_BURST", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub public_per_ip_burst: u32,
    /// Milliseconds between reads of the runtime flag changes (the bound within which every
    /// instance applies a `PUT /admin/flags`).
    #[arg(long, env = "RELAYER_FLAGS_REFRESH_MS", default_value_t = 2_000,
          value_parser = clap::value_parser!(u64).range(10..))]
    pub flags_refresh_ms: u64,
    /// Slots a published root's holdings snapshot stays usable for proofs, set on each track
    /// the relayer creates: ownership means "held at a slot within the last W". A root whose
    /// holders have not changed is republished (a refresh) once half of it has passed.
    #[arg(long, env = "RELAYER_ROOT_FRESHNESS_SLOTS", default_value_t = 9_000,
          value_parser = clap::value_parser!(u64).range(2..))]
    pub root_freshness_slots: u64,
    /// Failed authentications one IP may make per second before its requests are refused
    /// ahead of any key lookup.
    #[arg(long, env = "RELAYER_FAILED_AUTH_PER_IP_PER_SEC", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub failed_auth_per_ip_per_sec: u32,
    /// Failed authentications one IP may make at once.
    #[arg(long, env = "RELAYER_FAILED_AUTH_PER_IP_BURST", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub failed_auth_per_ip_burst: u32,
    /// Milliseconds a `/health` answer is reused: a flood of health checks costs one round
    /// of dependency probes per interval, not one per request.
    #[arg(long, env = "RELAYER_HEALTH_CACHE_MS", default_value_t = 1_000)]
    pub health_cache_ms: u64,
    /// Milliseconds an API-key lookup is trusted: the bound within which a revocation (or a
    /// new key) reaches every relayer instance. The instance that revokes applies it at once.
    #[arg(long, env = "RELAYER_KEY_CACHE_TTL_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub key_cache_ttl_ms: u64,
    /// Milliseconds a request may take, body and handler together, before it is answered
    /// `503 REQUEST_TIMEOUT` (a slow dependency never leaves the socket hanging).
    #[arg(long, env = "RELAYER_REQUEST_TIMEOUT_MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: u64,
    /// Requests served at once; more wait in the admission queue (`docs/operations.md`).
    #[arg(long, env = "RELAYER_MAX_IN_FLIGHT", default_value_t = 128,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_in_flight: u64,
    /// Requests that may wait for a slot; beyond them requests are answered `503 OVERLOADED`
    /// at once.
    #[arg(long, env = "RELAYER_ADMISSION_QUEUE", default_value_t = 4_096)]
    pub admission_queue: usize,
    /// Milliseconds a request may wait for a slot before it is answered `503 OVERLOADED`.
    #[arg(long, env = "RELAYER_ADMISSION_WAIT_MS", default_value_t = 5_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub admission_wait_ms: u64,
    /// The ownership circuit's proving key (`keygen --out`), checked against the verifying key
    /// compiled into the registry program. Without it the relayer generates the public
    /// development key at start (seconds; insecure by construction, docs/ceremony.md).
    #[arg(long, env = "RELAYER_PROVING_KEY")]
    pub proving_key: Option<PathBuf>,
    /// Proofs computed at once (one proof already uses every core).
    #[arg(long, env = "RELAYER_PROVER_WORKERS", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=64))]
    pub prover_workers: u64,
    /// Proof requests that may wait for a worker; beyond them `/prove` answers 429.
    #[arg(long, env = "RELAYER_PROVER_QUEUE", default_value_t = 8)]
    pub prover_queue: usize,
    /// Secret source.
    #[arg(long, env = "RELAYER_SECRETS", value_enum, default_value = "env")]
    pub secrets: SecretSource,
    /// Directory for `--secrets file`.
    #[arg(long, env = "RELAYER_SECRETS_DIR", default_value = "keys/dev/relayer")]
    pub secrets_dir: PathBuf,
    /// The 1Password Connect server for `--secrets onepassword` (its token comes from
    /// `OP_CONNECT_TOKEN`, never from a flag).
    #[arg(long, env = "OP_CONNECT_HOST", hide_env_values = true)]
    pub op_connect_host: Option<String>,
    /// The vault holding the relayer's item (UUID or name).
    #[arg(long, env = "RELAYER_OP_VAULT", default_value = "veil")]
    pub op_vault: String,
    /// The item holding one field per secret (UUID or title).
    #[arg(long, env = "RELAYER_OP_ITEM", default_value = "veil-relayer")]
    pub op_item: String,
    /// Seconds between re-reads of the 1Password secrets.
    #[arg(long, env = "RELAYER_OP_REFRESH_SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub op_refresh_secs: u64,
    /// Accepted clock skew of `X-Timestamp`, in seconds (either way).
    #[arg(long, env = "RELAYER_SIGNATURE_WINDOW_SECS", default_value_t = 60)]
    pub signature_window_secs: u64,
    /// Addresses or CIDR blocks allowed on admin routes (comma-separated; empty allows none).
    #[arg(
        long,
        env = "RELAYER_ADMIN_ALLOWLIST",
        value_delimiter = ',',
        default_value = "127.0.0.1/32,::1/128"
    )]
    pub admin_allowlist: Vec<String>,
    /// Verification cache entries.
    #[arg(long, env = "RELAYER_VERIFY_CACHE_CAPACITY", default_value_t = 100_000)]
    pub verify_cache_capacity: usize,
    /// Verification cache time-to-live, seconds.
    #[arg(long, env = "RELAYER_VERIFY_CACHE_TTL_SECS", default_value_t = 30)]
    pub verify_cache_ttl_secs: u64,
    /// A batch is cut when this many IDs are pending…
    #[arg(long, env = "RELAYER_BATCH_MAX_IDS", default_value_t = 1_024)]
    pub batch_max_ids: usize,
    /// …or when the oldest pending ID is this many seconds old.
    #[arg(long, env = "RELAYER_BATCH_MAX_AGE_SECS", default_value_t = 60)]
    pub batch_max_age_secs: u64,
    /// Most rows per group commit of minted IDs.
    #[arg(long, env = "RELAYER_MINT_COMMIT_MAX_ROWS", default_value_t = 512)]
    pub mint_commit_max_rows: usize,
    /// Largest accepted request body, bytes.
    #[arg(long, env = "RELAYER_BODY_LIMIT_BYTES", default_value_t = 1 << 20)]
    pub body_limit_bytes: usize,
    /// Log format.
    #[arg(long, env = "RELAYER_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// Parses an on-chain namespace: 1 to 4 uppercase ASCII letters, zero-padded to 4 bytes.
pub fn parse_namespace(raw: &str) -> Result<[u8; 4], String> {
    if raw.is_empty() || raw.len() > 4 || !raw.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!("`{raw}` is not 1 to 4 uppercase ASCII letters"));
    }
    let mut out = [0u8; 4];
    out[..raw.len()].copy_from_slice(raw.as_bytes());
    Ok(out)
}

impl Config {
    /// The initial rollout of every flag (exhaustive: a new [`Flag`] needs its argument here).
    pub fn flags(&self) -> BTreeMap<Flag, Rollout> {
        Flag::ALL
            .iter()
            .map(|&flag| {
                let rollout = match flag {
                    Flag::GatekeeperV2 => self.ff_gatekeeper_v2,
                    Flag::Challenges => self.ff_challenges,
                    Flag::FireMode => self.ff_fire_mode,
                    Flag::EnforcedMode => self.ff_enforced_mode,
                    Flag::Webhooks => self.ff_webhooks,
                    Flag::Documents => self.ff_documents,
                };
                (flag, rollout)
            })
            .collect()
    }

    /// Every flag on (`veil-stack` and tests).
    pub fn with_all_flags_on(mut self) -> Self {
        self.ff_gatekeeper_v2 = Rollout::On;
        self.ff_challenges = Rollout::On;
        self.ff_fire_mode = Rollout::On;
        self.ff_enforced_mode = Rollout::On;
        self.ff_webhooks = Rollout::On;
        self.ff_documents = Rollout::On;
        self
    }

    /// The drand request timeout.
    pub fn drand_timeout(&self) -> Duration {
        Duration::from_millis(self.drand_timeout_ms)
    }

    /// The circuit-breaker settings every outbound dependency uses.
    pub fn breaker(&self) -> crate::platform::breaker::BreakerConfig {
        crate::platform::breaker::BreakerConfig {
            failure_threshold: self.breaker_failures,
            open_for: Duration::from_secs(self.breaker_open_secs),
        }
    }

    /// The parsed admin allowlist.
    pub fn allowlist(
        &self,
    ) -> Result<IpAllowlist, crate::platform::auth::allowlist::AllowlistError> {
        IpAllowlist::parse(&self.admin_allowlist)
    }

    /// The configuration `serve` gets with no flags: the defaults, overridden by any `RELAYER_*`
    /// (and `DATABASE_URL`) variables set in the environment.
    pub fn defaults() -> Self {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            config: Config,
        }
        Only::parse_from(["veil-relayer"]).config
    }
}
