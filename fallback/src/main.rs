//! `veil-fallback`: `keygen` writes a new signing key; `serve` runs the fallback API until
//! SIGINT or SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use veil_fallback::{
    app,
    config::{
        Cli, Command, ConfigError, KeygenArgs, LogFormat, ServeArgs, ServeConfig, SECRET_KEY_ENV,
        TOKEN_ENV,
    },
    key::{FallbackKey, KeyError},
    store::StoreError,
    FallbackService, FallbackState,
};

/// Why the process stopped.
#[derive(Debug, thiserror::Error)]
enum MainError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("opening the store: {0}")]
    Store(#[from] StoreError),
    #[error("listening on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("serving: {0}")]
    Serve(#[source] std::io::Error),
}

#[tokio::main]
async fn main() -> ExitCode {
    let command = Cli::parse().command;
    let format = match &command {
        Command::Serve(args) => args.log_format,
        Command::Keygen(_) => LogFormat::Text,
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs.init(),
    }
    let result = match command {
        Command::Keygen(args) => keygen(&args),
        Command::Serve(args) => serve(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("veil-fallback: {e}");
            ExitCode::FAILURE
        }
    }
}

fn keygen(args: &KeygenArgs) -> Result<(), MainError> {
    let key = FallbackKey::generate();
    key.write_new(&args.out)?;
    println!("{}", key.public_key_hex());
    Ok(())
}

async fn serve(args: ServeArgs) -> Result<(), MainError> {
    let config = ServeConfig::from_args(
        args,
        std::env::var(SECRET_KEY_ENV).ok(),
        std::env::var(TOKEN_ENV).ok(),
    )?;
    let key = config.key.load()?;
    let public_key = key.public_key_hex();
    let service = FallbackService::open(&config.db, key)?;
    let mut state = FallbackState::new(service);
    let guarded = config.token.is_some();
    match config.token {
        Some(token) => state = state.with_token(token),
        None => tracing::warn!(
            listen = %config.listen,
            "serving WITHOUT a bearer token (--insecure-no-token): local use only"
        ),
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| MainError::Bind {
            addr: config.listen,
            source,
        })?;
    tracing::info!(listen = %config.listen, db = %config.db.display(), %public_key, guarded, "fallback minter serving");
    axum::serve(listener, app(state))
        .with_graceful_shutdown(veil_shutdown::requested())
        .await
        .map_err(MainError::Serve)?;
    tracing::info!("fallback minter stopped");
    Ok(())
}
