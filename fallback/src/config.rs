//! The command line, parsed once into a typed [`ServeConfig`]:
//!
//! ```text
//! veil-fallback keygen --out <path>            # writes a new key file, prints the public key
//! veil-fallback serve  --listen 127.0.0.1:8070 --db <path.redb> --key-file <path> \
//!                       [--token-file <path>] [--insecure-no-token]
//! ```
//!
//! Every `serve` flag also reads `FALLBACK_*` from the environment. The secret key comes from
//! `--key-file` (`FALLBACK_KEY_FILE`) or from `FALLBACK_SECRET_KEY` (hex), never from a flag,
//! so it does not show in the process list; the bearer token likewise from `--token-file`
//! (`FALLBACK_TOKEN_FILE`) or `FALLBACK_TOKEN`.
//!
//! **The token is required.** Anyone who reaches an unguarded fallback can request IDs in any
//! namespace and trust level, and reconciliation turns them into ChittyIDs (audit finding 13).
//! `--insecure-no-token` serves without one for local use, and only on a loopback address.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};
use zeroize::Zeroizing;

use crate::{
    auth::BearerToken,
    key::{FallbackKey, KeyError},
};

/// The environment variable that may hold the secret key (hex).
pub const SECRET_KEY_ENV: &str = "FALLBACK_SECRET_KEY";

/// The environment variable that may hold the bearer token.
pub const TOKEN_ENV: &str = "FALLBACK_TOKEN";

/// The shortest bearer token accepted: 32 characters (a 128-bit random token in hex is 32).
pub const MIN_TOKEN_LEN: usize = 32;

/// `veil-fallback`: the provisional ChittyID minter.
#[derive(Debug, Parser)]
#[command(name = "veil-fallback", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a signing key into a new file and print its public key (hex).
    Keygen(KeygenArgs),
    /// Serve the fallback API.
    Serve(ServeArgs),
}

/// `keygen` arguments.
#[derive(Debug, Clone, Args)]
pub struct KeygenArgs {
    /// The file to create (mode 0600); an existing file is never overwritten.
    #[arg(long)]
    pub out: PathBuf,
}

/// `serve` arguments, as given.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FALLBACK_LISTEN", default_value = "127.0.0.1:8070")]
    pub listen: SocketAddr,
    /// The redb file (created if absent).
    #[arg(long, env = "FALLBACK_DB", default_value = "veil-fallback.redb")]
    pub db: PathBuf,
    /// A file holding the signing key as 64 hex characters. Alternatively set
    /// FALLBACK_SECRET_KEY.
    #[arg(long, env = "FALLBACK_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// A file holding the bearer token every route but GET /api/v2/fallback/status requires
    /// (at least 32 characters). Alternatively set FALLBACK_TOKEN.
    #[arg(long, env = "FALLBACK_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Serve without a token. For local use only: refused unless --listen is a loopback
    /// address.
    #[arg(long, env = "FALLBACK_INSECURE_NO_TOKEN")]
    pub insecure_no_token: bool,
    /// Log output: `text` for people, `json` (one object per line) for log pipelines.
    #[arg(long, env = "FALLBACK_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable.
    Text,
    /// One JSON object per line.
    Json,
}

/// Where the signing key comes from.
pub enum KeySource {
    /// `--key-file`.
    File(PathBuf),
    /// `FALLBACK_SECRET_KEY`.
    Env(Zeroizing<String>),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            Self::Env(_) => f.write_str("Env(<redacted>)"),
        }
    }
}

impl KeySource {
    /// Loads the key.
    pub fn load(&self) -> Result<FallbackKey, KeyError> {
        match self {
            Self::File(path) => FallbackKey::from_file(path),
            Self::Env(hex) => FallbackKey::from_hex(hex),
        }
    }
}

/// Why the configuration was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Neither source of the key.
    #[error("no signing key: give --key-file (FALLBACK_KEY_FILE) or set {SECRET_KEY_ENV}")]
    KeyMissing,
    /// Both sources of the key.
    #[error(
        "two signing keys: give only one of --key-file (FALLBACK_KEY_FILE) and {SECRET_KEY_ENV}"
    )]
    KeyAmbiguous,
    /// An empty token, or one with whitespace or control characters.
    #[error("the bearer token must be printable ASCII without spaces")]
    TokenUnusable,
    /// No token, and no `--insecure-no-token`.
    #[error(
        "no bearer token: set {TOKEN_ENV} or --token-file (FALLBACK_TOKEN_FILE), or pass \
         --insecure-no-token on a loopback address for local use"
    )]
    TokenMissing,
    /// Both sources of the token.
    #[error("two bearer tokens: give only one of --token-file and {TOKEN_ENV}")]
    TokenAmbiguous,
    /// A token shorter than [`MIN_TOKEN_LEN`].
    #[error("the bearer token must be at least {MIN_TOKEN_LEN} characters")]
    TokenTooShort,
    /// The token file cannot be read.
    #[error("the token file {path} cannot be read: {reason}")]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// `--insecure-no-token` with a non-loopback `--listen`.
    #[error(
        "--insecure-no-token is refused on {0}: only a loopback address may serve without a token"
    )]
    InsecureNonLoopback(SocketAddr),
}

/// The typed `serve` configuration.
#[derive(Debug)]
pub struct ServeConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The redb file.
    pub db: PathBuf,
    /// The signing key's source.
    pub key: KeySource,
    /// The bearer token; `None` only with `--insecure-no-token` on a loopback address.
    pub token: Option<BearerToken>,
}

impl ServeConfig {
    /// Builds the configuration from the arguments and the values of `FALLBACK_SECRET_KEY`
    /// and `FALLBACK_TOKEN` (passed in, so that parsing is testable without touching the
    /// environment). Empty values count as unset.
    pub fn from_args(
        args: ServeArgs,
        secret_env: Option<String>,
        token_env: Option<String>,
    ) -> Result<Self, ConfigError> {
        let secret_env = secret_env
            .map(Zeroizing::new)
            .filter(|s| !s.trim().is_empty());
        let key = match (args.key_file, secret_env) {
            (Some(path), None) => KeySource::File(path),
            (None, Some(hex)) => KeySource::Env(hex),
            (Some(_), Some(_)) => return Err(ConfigError::KeyAmbiguous),
            (None, None) => return Err(ConfigError::KeyMissing),
        };
        let token_env = token_env
            .map(Zeroizing::new)
            .filter(|s| !s.trim().is_empty());
        let token_text = match (args.token_file, token_env) {
            (Some(path), None) => Some(read_token_file(&path)?),
            (None, Some(text)) => Some(text),
            (Some(_), Some(_)) => return Err(ConfigError::TokenAmbiguous),
            (None, None) => None,
        };
        let token = match token_text {
            Some(text) => {
                let text = text.trim();
                if text.len() < MIN_TOKEN_LEN {
                    return Err(ConfigError::TokenTooShort);
                }
                Some(BearerToken::new(text).ok_or(ConfigError::TokenUnusable)?)
            }
            None if !args.insecure_no_token => return Err(ConfigError::TokenMissing),
            None if !args.listen.ip().is_loopback() => {
                return Err(ConfigError::InsecureNonLoopback(args.listen))
            }
            None => None,
        };
        Ok(Self {
            listen: args.listen,
            db: args.db,
            key,
            token,
        })
    }
}

/// The token in `path`, trimmed by the caller.
fn read_token_file(path: &std::path::Path) -> Result<Zeroizing<String>, ConfigError> {
    std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|e| ConfigError::TokenFile {
            path: path.to_owned(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(argv: &[&str]) -> ServeArgs {
        let cli = Cli::try_parse_from(argv).expect("parses");
        match cli.command {
            Command::Serve(args) => args,
            Command::Keygen(_) => panic!("expected serve"),
        }
    }

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn serve_parses_flags_into_a_typed_config() {
        let dir = std::env::temp_dir().join(format!("veil-fallback-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let token_file = dir.join("token");
        std::fs::write(&token_file, format!("{TOKEN}\n")).expect("token file");
        let args = serve(&[
            "veil-fallback",
            "serve",
            "--listen",
            "127.0.0.1:9999",
            "--db",
            "/tmp/f.redb",
            "--key-file",
            "/tmp/f.key",
            "--token-file",
            token_file.to_str().expect("utf-8"),
        ]);
        let config = ServeConfig::from_args(args, None, None).expect("valid");
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(config.listen, "127.0.0.1:9999".parse().expect("addr"));
        assert_eq!(config.db, PathBuf::from("/tmp/f.redb"));
        assert!(matches!(config.key, KeySource::File(ref p) if p == &PathBuf::from("/tmp/f.key")));
        let token = config.token.expect("token");
        assert!(token.admits(Some(format!("Bearer {TOKEN}").as_bytes())));
    }

    #[test]
    fn serve_defaults_and_key_source_rules() {
        let args = serve(&["veil-fallback", "serve"]);
        assert_eq!(args.listen, "127.0.0.1:8070".parse().expect("addr"));
        assert_eq!(args.db, PathBuf::from("veil-fallback.redb"));
        let token = || Some(TOKEN.to_owned());
        assert_eq!(
            ServeConfig::from_args(args.clone(), None, token()).unwrap_err(),
            ConfigError::KeyMissing
        );
        assert_eq!(
            ServeConfig::from_args(args.clone(), Some("  ".into()), token()).unwrap_err(),
            ConfigError::KeyMissing
        );
        let env = ServeConfig::from_args(args, Some("ab".repeat(32)), token()).expect("env key");
        assert!(matches!(env.key, KeySource::Env(_)));
        assert!(!format!("{env:?}").contains(&"ab".repeat(32)));
        assert!(!format!("{env:?}").contains(TOKEN));
        let both = serve(&["veil-fallback", "serve", "--key-file", "k"]);
        assert_eq!(
            ServeConfig::from_args(both, Some("ab".repeat(32)), token()).unwrap_err(),
            ConfigError::KeyAmbiguous
        );
    }

    #[test]
    fn serve_requires_a_long_token_unless_insecure_on_loopback() {
        // Audit finding 13: the fallback was open by default.
        let keyed = || serve(&["veil-fallback", "serve", "--key-file", "k"]);
        assert_eq!(
            ServeConfig::from_args(keyed(), None, None).unwrap_err(),
            ConfigError::TokenMissing
        );
        assert_eq!(
            ServeConfig::from_args(keyed(), None, Some("   ".into())).unwrap_err(),
            ConfigError::TokenMissing
        );
        assert_eq!(
            ServeConfig::from_args(keyed(), None, Some("short".into())).unwrap_err(),
            ConfigError::TokenTooShort
        );
        assert_eq!(
            ServeConfig::from_args(keyed(), None, Some(format!("{TOKEN} {TOKEN}"))).unwrap_err(),
            ConfigError::TokenUnusable
        );
        let both = serve(&[
            "veil-fallback",
            "serve",
            "--key-file",
            "k",
            "--token-file",
            "t",
        ]);
        assert_eq!(
            ServeConfig::from_args(both, None, Some(TOKEN.into())).unwrap_err(),
            ConfigError::TokenAmbiguous
        );
        let missing_file = serve(&[
            "veil-fallback",
            "serve",
            "--key-file",
            "k",
            "--token-file",
            "/nonexistent/t",
        ]);
        assert!(matches!(
            ServeConfig::from_args(missing_file, None, None).unwrap_err(),
            ConfigError::TokenFile { .. }
        ));
        // Insecure: loopback only.
        let open_wide = serve(&[
            "veil-fallback",
            "serve",
            "--key-file",
            "k",
            "--listen",
            "0.0.0.0:8091",
            "--insecure-no-token",
        ]);
        assert_eq!(
            ServeConfig::from_args(open_wide, None, None).unwrap_err(),
            ConfigError::InsecureNonLoopback("0.0.0.0:8091".parse().expect("addr"))
        );
        let local = serve(&[
            "veil-fallback",
            "serve",
            "--key-file",
            "k",
            "--insecure-no-token",
        ]);
        let config = ServeConfig::from_args(local, None, None).expect("loopback without token");
        assert!(config.token.is_none());
        // The token is never a flag.
        assert!(Cli::try_parse_from(["veil-fallback", "serve", "--token", TOKEN]).is_err());
    }

    #[test]
    fn keygen_requires_out() {
        assert!(Cli::try_parse_from(["veil-fallback", "keygen"]).is_err());
        let cli = Cli::try_parse_from(["veil-fallback", "keygen", "--out", "k"]).expect("parses");
        assert!(
            matches!(cli.command, Command::Keygen(ref a) if a.out.as_path() == std::path::Path::new("k"))
        );
    }
}
