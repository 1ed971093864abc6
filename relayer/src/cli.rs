//! The command line: `serve`, `migrate`, `keys` and the offline `verify`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

use crate::{
    chittyid::evidence::{verify_offline, Evidence, EvidenceError, OfflineReport, Pins},
    platform::auth::{api_keys::KeySummary, ApiKeyStore, KeyStoreError},
};

/// The relayer's command line.
#[derive(Debug, Parser)]
#[command(
    name = "veil-relayer",
    version,
    about = "Chitty Veil relayer: ChittyIDs, proofs and transactions over a signed API"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API (migrations are applied first).
    Serve(Box<crate::platform::config::Config>),
    /// Apply the SQL migrations and exit.
    Migrate(crate::platform::config::DbArgs),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Re-verify a ChittyID offline from its evidence (drand signature, VRF proof, batch proof).
    Verify(VerifyArgs),
    /// IDs of the earlier ChittyOS services.
    #[command(subcommand)]
    Legacy(LegacyCommand),
}

/// `veil-relayer legacy`.
#[derive(Debug, Subcommand)]
pub enum LegacyCommand {
    /// Mints a current ID for each old ID of FILE (`<old ID>,<entity type>` per line) and
    /// records the pair; `GET /api/v2/chittyid/{old}` then answers with the new ID. A file with
    /// any bad line imports nothing; a second run imports only what is new.
    Import(LegacyImportArgs),
}

/// `veil-relayer legacy import`.
#[derive(Debug, Args)]
pub struct LegacyImportArgs {
    /// The file.
    #[arg(long)]
    pub file: std::path::PathBuf,
    /// The relayer's configuration (database, drand, secrets), as for `serve`.
    #[command(flatten)]
    pub config: Box<crate::platform::config::Config>,
}

/// API-key administration.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key; prints the key and its HMAC signing secret once.
    Create(CreateKeyArgs),
    /// List keys (live ones; `--all` adds revoked keys). Never prints a secret.
    List(ListKeysArgs),
    /// Revoke a key: this command's database write is seen by every relayer instance within
    /// its key cache's TTL (`RELAYER_KEY_CACHE_TTL_MS`, 10 s by default).
    Revoke(RevokeKeyArgs),
}

/// `veil-relayer verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The ChittyID to fetch from the relayer's verify endpoint (omit with `--file`).
    pub id: Option<String>,
    /// Read the evidence from this JSON file instead (a verify response or a bare evidence).
    #[arg(long, conflicts_with = "id")]
    pub file: Option<PathBuf>,
    /// Relayer base URL.
    #[arg(
        long,
        env = "VEIL_RELAYER_URL",
        hide_env_values = true,
        default_value = "http://127.0.0.1:8080"
    )]
    pub url: String,
    /// API key with the `chittyid:verify` scope.
    #[arg(long, env = "VEIL_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Pin the relayer's VRF public key (hex). Without it, the key in the evidence is used and
    /// the report says so.
    #[arg(long, env = "VEIL_VRF_PUBLIC_KEY")]
    pub vrf_public_key: Option<String>,
    /// Also check the batch against the chain: the registry's `IdBatch` account must hold the
    /// evidence's root, size and slot. Needs an anchored ID.
    #[arg(long, env = "VEIL_RPC_URL", hide_env_values = true)]
    pub rpc_url: Option<String>,
    /// The namespace the relayer anchors under (`RELAYER_ANCHOR_NAMESPACE`).
    #[arg(long, default_value = "CHI", value_parser = crate::platform::config::parse_namespace)]
    pub anchor_namespace: [u8; 4],
}

/// `veil-relayer keys create`.
#[derive(Debug, Clone, Args)]
pub struct CreateKeyArgs {
    /// A label for operators.
    #[arg(long)]
    pub label: String,
    /// Scopes: `chittyid:mint`, `chittyid:verify`, `admin`.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "chittyid:mint,chittyid:verify"
    )]
    pub scopes: Vec<String>,
    /// Sustained requests per second.
    #[arg(long, default_value_t = 100)]
    pub rate: u32,
    /// Burst.
    #[arg(long, default_value_t = 200)]
    pub burst: u32,
    /// The key store.
    #[command(flatten)]
    pub store: KeyStoreArgs,
}

/// Where the key store is: the database and the secrets that open it.
#[derive(Debug, Clone, Args)]
pub struct KeyStoreArgs {
    /// Database.
    #[command(flatten)]
    pub db: crate::platform::config::DbArgs,
    /// Secret source (the pepper and HMAC master).
    #[arg(long, env = "RELAYER_SECRETS", value_enum, default_value = "env")]
    pub secrets: crate::platform::config::SecretSource,
    /// Directory for `--secrets file`.
    #[arg(long, env = "RELAYER_SECRETS_DIR", default_value = "keys/dev/relayer")]
    pub secrets_dir: PathBuf,
}

/// `veil-relayer keys list`.
#[derive(Debug, Clone, Args)]
pub struct ListKeysArgs {
    /// Include revoked keys.
    #[arg(long)]
    pub all: bool,
    /// The key store.
    #[command(flatten)]
    pub store: KeyStoreArgs,
}

/// `veil-relayer keys revoke`.
#[derive(Debug, Clone, Args)]
pub struct RevokeKeyArgs {
    /// The key id (16 hex characters, as `keys list` shows it).
    pub key_id: String,
    /// The key store.
    #[command(flatten)]
    pub store: KeyStoreArgs,
}

/// `keys list` as a table, one key per line, never a secret.
pub fn keys_table(keys: &[KeySummary]) -> String {
    let mut out = format!(
        "{:<16}  {:<20}  {:<20}  {:>6}  {:>6}  {:<20}  label\n",
        "key_id", "created", "revoked", "rate", "burst", "scopes"
    );
    for key in keys {
        out.push_str(&format!(
            "{:<16}  {:<20}  {:<20}  {:>6}  {:>6}  {:<20}  {}\n",
            key.key_id,
            key.created_at,
            key.revoked_at.as_deref().unwrap_or("-"),
            key.rate_per_sec,
            key.burst,
            key.scopes.join(","),
            key.label
        ));
    }
    out.push_str(&format!("({} keys)\n", keys.len()));
    out
}

/// What `keys revoke` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// Revoked now.
    Revoked(String),
    /// It was revoked before; nothing changed.
    AlreadyRevoked(String),
    /// No key has this id (exit code 1).
    Unknown(String),
}

impl std::fmt::Display for Revocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Revoked(id) => write!(
                f,
                "revoked {id}; every relayer refuses it within its key cache TTL (RELAYER_KEY_CACHE_TTL_MS)"
            ),
            Self::AlreadyRevoked(id) => write!(f, "{id} was already revoked"),
            Self::Unknown(id) => write!(f, "no API key has the id {id}"),
        }
    }
}

/// `keys revoke`: revokes a live key, says so of a revoked one, names an unknown id.
pub async fn revoke_key(store: &ApiKeyStore, key_id: &str) -> Result<Revocation, KeyStoreError> {
    Ok(match store.get(key_id).await? {
        None => Revocation::Unknown(key_id.to_owned()),
        Some(key) if key.revoked_at.is_some() => Revocation::AlreadyRevoked(key_id.to_owned()),
        Some(_) => {
            store.revoke(key_id).await?;
            Revocation::Revoked(key_id.to_owned())
        }
    })
}

/// Why `verify` could not run (as opposed to: the evidence does not verify).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Neither an ID nor a file.
    #[error("give a ChittyID or --file <evidence.json>")]
    NothingToVerify,
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Not evidence JSON.
    #[error("not evidence JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The relayer could not be asked.
    #[error("cannot fetch evidence: {0}")]
    Fetch(#[from] reqwest::Error),
    /// The relayer refused.
    #[error("the relayer answered {status}: {body}")]
    Refused {
        /// Status.
        status: u16,
        /// Its error body.
        body: String,
    },
    /// `--vrf-public-key` is not 32 bytes of hex.
    #[error("--vrf-public-key must be 32 bytes of hex")]
    BadPin,
    /// The evidence does not verify.
    #[error("evidence does not verify: {0}")]
    Invalid(#[from] EvidenceError),
    /// `--rpc-url` was given for an ID whose batch is not anchored.
    #[error("the ID's batch is not anchored: nothing to check on chain")]
    NotAnchored,
    /// The chain could not be asked.
    #[error("cannot read the chain: {0}")]
    Chain(String),
    /// The chain disagrees with the evidence.
    #[error(
        "the chain disagrees with the evidence on {field}: chain {chain}, evidence {evidence}"
    )]
    ChainMismatch {
        /// What differs (`account`, `root`, `size`, `slot`).
        field: &'static str,
        /// The chain's value.
        chain: String,
        /// The evidence's value.
        evidence: String,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum EvidenceDoc {
    Response { evidence: Evidence },
    Bare(Evidence),
}

/// Parses a verify response or bare evidence.
pub fn parse_evidence(bytes: &[u8]) -> Result<Evidence, CliError> {
    Ok(match serde_json::from_slice::<EvidenceDoc>(bytes)? {
        EvidenceDoc::Response { evidence } | EvidenceDoc::Bare(evidence) => evidence,
    })
}

/// Fetches (or reads) the evidence and verifies it offline.
pub async fn verify(args: &VerifyArgs) -> Result<OfflineReport, CliError> {
    let evidence = match (&args.id, &args.file) {
        (_, Some(path)) => {
            parse_evidence(&std::fs::read(path).map_err(|source| CliError::Read {
                path: path.clone(),
                source,
            })?)?
        }
        (Some(id), None) => {
            let mut request = reqwest::Client::new().get(format!(
                "{}/api/v2/chittyid/verify/{id}",
                args.url.trim_end_matches('/')
            ));
            if let Some(key) = &args.api_key {
                request = request.header("X-Api-Key", key);
            }
            let response = request.send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            if !status.is_success() {
                return Err(CliError::Refused {
                    status: status.as_u16(),
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
            }
            parse_evidence(&body)?
        }
        (None, None) => return Err(CliError::NothingToVerify),
    };
    let vrf_public_key = match &args.vrf_public_key {
        Some(pin) => Some(
            hex::decode(pin)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or(CliError::BadPin)?,
        ),
        None => None,
    };
    let pins = Pins {
        chain: veil_drand::ChainConfig::quicknet(),
        vrf_public_key,
    };
    let mut report = verify_offline(&evidence, &pins)?;
    if let Some(url) = &args.rpc_url {
        check_chain(url, args.anchor_namespace, &evidence).await?;
        report
            .checks
            .push("batch root, size and slot match the chain's IdBatch");
        report.chain_checked = true;
    }
    Ok(report)
}

/// Reads the registry's `IdBatch` of the evidence's batch and compares it with the evidence.
pub async fn check_chain(
    rpc_url: &str,
    namespace: [u8; 4],
    evidence: &Evidence,
) -> Result<(), CliError> {
    use anchor_lang::AccountDeserialize;
    let batch = evidence.batch.as_ref().ok_or(CliError::NotAnchored)?;
    let anchor = batch.anchor.as_ref().ok_or(CliError::NotAnchored)?;
    let address = veil_client::registry::id_batch_pda(&namespace, batch.first_seq).0;
    let rpc = solana_rpc_client::nonblocking::rpc_client::RpcClient::new(rpc_url.to_owned());
    let account = rpc
        .get_account_with_commitment(
            &address,
            solana_commitment_config::CommitmentConfig::confirmed(),
        )
        .await
        .map_err(|e| CliError::Chain(e.to_string()))?
        .value
        .ok_or_else(|| CliError::ChainMismatch {
            field: "account",
            chain: format!("no IdBatch at {address}"),
            evidence: format!("batch {} anchored", batch.batch_id),
        })?;
    if account.owner != veil_client::registry::PROGRAM_ID {
        return Err(CliError::ChainMismatch {
            field: "account",
            chain: format!("{address} owned by {}", account.owner),
            evidence: "owned by the registry".to_owned(),
        });
    }
    let on_chain = registry::state::IdBatch::try_deserialize(&mut account.data.as_slice())
        .map_err(|e| CliError::Chain(format!("{address} is not an IdBatch: {e}")))?;
    let mismatch = |field, chain: String, evidence: String| {
        Err(CliError::ChainMismatch {
            field,
            chain,
            evidence,
        })
    };
    if hex::encode(on_chain.batch_root) != batch.root {
        return mismatch("root", hex::encode(on_chain.batch_root), batch.root.clone());
    }
    if u64::from(on_chain.count) != batch.size {
        return mismatch("size", on_chain.count.to_string(), batch.size.to_string());
    }
    if on_chain.slot != anchor.slot {
        return mismatch("slot", on_chain.slot.to_string(), anchor.slot.to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Cli;
    use super::Command;
    use crate::platform::config::{parse_namespace, Config, LogFormat, SecretSource};

    /// Every argument read from an environment variable that can carry a credential (a URL,
    /// a key, a token) hides its value in `--help` (audit finding 14).
    #[test]
    fn help_never_prints_credential_values() {
        fn walk(command: &clap::Command, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let Some(env) = arg.get_env().and_then(|e| e.to_str()) else {
                    continue;
                };
                let sensitive = ["_URL", "API_KEY", "_TOKEN", "PASSWORD", "_ENDPOINT"]
                    .iter()
                    .any(|s| env.contains(s));
                if sensitive && !arg.is_hide_env_values_set() {
                    missing.push(format!("{} {}", command.get_name(), env));
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&<Cli as clap::CommandFactory>::command(), &mut missing);
        assert!(
            missing.is_empty(),
            "env values shown in --help: {missing:?}"
        );
    }

    #[test]
    fn serve_parses_flags_into_a_typed_config() {
        let cli = Cli::try_parse_from([
            "veil-relayer",
            "serve",
            "--listen",
            "0.0.0.0:9000",
            "--drand-urls",
            "http://a.example,http://b.example",
            "--admin-allowlist",
            "10.0.0.0/8",
            "--fallback-url",
            "http://127.0.0.1:8070",
            "--secrets",
            "file",
            "--log-format",
            "json",
            "--rpc-url",
            "http://127.0.0.1:8899",
            "--anchor-namespace",
            "VEIL",
            "--chain-poll-ms",
            "50",
        ])
        .expect("parses");
        let Command::Serve(config) = cli.command else {
            panic!("expected serve");
        };
        assert_eq!(config.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.rpc_url.as_deref(), Some("http://127.0.0.1:8899"));
        assert_eq!(config.anchor_namespace, *b"VEIL");
        assert_eq!(config.chain_poll_ms, 50);
        assert_eq!(Config::defaults().chain_poll_ms, 200);
        assert_eq!(Config::defaults().anchor_namespace, *b"CHI\0");
        assert_eq!(Config::defaults().rpc_url, None);
        assert!(parse_namespace("chi").is_err() && parse_namespace("TOOLONG").is_err());
        assert_eq!(
            config.drand_urls,
            vec!["http://a.example".to_owned(), "http://b.example".to_owned()]
        );
        assert_eq!(
            config.fallback_url.as_deref(),
            Some("http://127.0.0.1:8070")
        );
        assert_eq!(config.secrets, SecretSource::File);
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.signature_window_secs, 60);
        assert!(config.allowlist().is_ok());
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        let err = Cli::try_parse_from(["veil-relayer", "serve", "--listen", "nowhere"])
            .expect_err("not an address");
        assert!(err.to_string().contains("--listen"), "{err}");
        let err = Cli::try_parse_from(["veil-relayer", "serve", "--secrets", "vault"])
            .expect_err("unknown source");
        assert!(err.to_string().contains("vault"), "{err}");
        let err = Cli::try_parse_from(["veil-relayer", "serve", "--chain-poll-ms", "5"])
            .expect_err("below 10 ms");
        assert!(err.to_string().contains("--chain-poll-ms"), "{err}");
    }
}
