//! The command line, parsed once into a typed [`ServeConfig`]:
//!
//! ```text
//! veil-fallback keygen --out <path>            # writes a new key file, prints the public key
//! veil-fallback serve  --listen 127.0.0.1:8090 --db <path.redb> --key-file <path> [--token <t>]
//! ```
//!
//! Every `serve` flag also reads `FALLBACK_*` from the environment. The secret key comes from
//! `--key-file` (`FALLBACK_KEY_FILE`) or from `FALLBACK_SECRET_KEY` (hex), never from a flag,
//! so it does not show in the process list.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};
use zeroize::Zeroizing;

use crate::{
    auth::BearerToken,
    key::{FallbackKey, KeyError},
};

/// The environment variable that may hold the secret key (hex).
pub const SECRET_KEY_ENV: &str = "FALLBACK_SECRET_KEY";

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
    #[arg(long, env = "FALLBACK_LISTEN", default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// The redb file (created if absent).
    #[arg(long, env = "FALLBACK_DB", default_value = "veil-fallback.redb")]
    pub db: PathBuf,
    /// A file holding the signing key as 64 hex characters. Alternatively set
    /// FALLBACK_SECRET_KEY.
    #[arg(long, env = "FALLBACK_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// Require `Authorization: Bearer <token>` on every route but GET /api/v2/fallback/status.
    #[arg(long, env = "FALLBACK_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
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
    #[error("--token (FALLBACK_TOKEN) must be non-empty printable ASCII without spaces")]
    TokenUnusable,
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
    /// The bearer token, if required.
    pub token: Option<BearerToken>,
}

impl ServeConfig {
    /// Builds the configuration from the arguments and the value of `FALLBACK_SECRET_KEY`
    /// (passed in, so that parsing is testable without touching the environment). An empty
    /// `FALLBACK_SECRET_KEY` counts as unset.
    pub fn from_args(args: ServeArgs, secret_env: Option<String>) -> Result<Self, ConfigError> {
        let secret_env = secret_env
            .map(Zeroizing::new)
            .filter(|s| !s.trim().is_empty());
        let key = match (args.key_file, secret_env) {
            (Some(path), None) => KeySource::File(path),
            (None, Some(hex)) => KeySource::Env(hex),
            (Some(_), Some(_)) => return Err(ConfigError::KeyAmbiguous),
            (None, None) => return Err(ConfigError::KeyMissing),
        };
        let token = args
            .token
            .map(|t| BearerToken::new(t).ok_or(ConfigError::TokenUnusable))
            .transpose()?;
        Ok(Self {
            listen: args.listen,
            db: args.db,
            key,
            token,
        })
    }
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

    #[test]
    fn serve_parses_flags_into_a_typed_config() {
        let args = serve(&[
            "veil-fallback",
            "serve",
            "--listen",
            "127.0.0.1:9999",
            "--db",
            "/tmp/f.redb",
            "--key-file",
            "/tmp/f.key",
            "--token",
            "t0k",
        ]);
        let config = ServeConfig::from_args(args, None).expect("valid");
        assert_eq!(config.listen, "127.0.0.1:9999".parse().expect("addr"));
        assert_eq!(config.db, PathBuf::from("/tmp/f.redb"));
        assert!(matches!(config.key, KeySource::File(ref p) if p == &PathBuf::from("/tmp/f.key")));
        assert!(config.token.expect("token").admits(Some(b"Bearer t0k")));
    }

    #[test]
    fn serve_defaults_and_key_source_rules() {
        let args = serve(&["veil-fallback", "serve"]);
        assert_eq!(args.listen, "127.0.0.1:8090".parse().expect("addr"));
        assert_eq!(args.db, PathBuf::from("veil-fallback.redb"));
        assert_eq!(
            ServeConfig::from_args(args.clone(), None).unwrap_err(),
            ConfigError::KeyMissing
        );
        assert_eq!(
            ServeConfig::from_args(args.clone(), Some("  ".into())).unwrap_err(),
            ConfigError::KeyMissing
        );
        let env = ServeConfig::from_args(args, Some("ab".repeat(32))).expect("env key");
        assert!(matches!(env.key, KeySource::Env(_)));
        assert!(!format!("{env:?}").contains(&"ab".repeat(32)));
        let both = serve(&["veil-fallback", "serve", "--key-file", "k"]);
        assert_eq!(
            ServeConfig::from_args(both, Some("ab".repeat(32))).unwrap_err(),
            ConfigError::KeyAmbiguous
        );
        let empty_token = serve(&["veil-fallback", "serve", "--key-file", "k", "--token", ""]);
        assert_eq!(
            ServeConfig::from_args(empty_token, None).unwrap_err(),
            ConfigError::TokenUnusable
        );
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
