//! `veil-relayer`: `serve`, `migrate`, `keys create`, `verify`.

use std::{process::ExitCode, sync::Arc, time::Duration};

use clap::Parser;
use sqlx::postgres::PgPoolOptions;
use tracing_subscriber::EnvFilter;
use veil_relayer::{
    cli,
    cli::{Cli, Command, KeysCommand},
    platform::auth::{api_keys::KeyCacheConfig, ApiKeyStore, Quota, Scope},
    platform::clock::SystemClock,
    platform::config::{Config, DbArgs, LogFormat, SecretSource},
    platform::db as store,
    platform::secrets::{
        onepassword::{OnePasswordConfig, OnePasswordSecrets},
        EnvSecrets, FileSecrets, Secret, SecretProvider,
    },
    AppState,
};

/// mimalloc: the relayer allocates many small, short-lived buffers per request (JSON, hex,
/// evidence); glibc malloc showed up at ~10% of a mint's CPU in `perf` (docs/perf.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_env("RELAYER_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn secrets(source: SecretSource, dir: &std::path::Path) -> Box<dyn SecretProvider> {
    match source {
        SecretSource::Env | SecretSource::OnePassword => Box::new(EnvSecrets),
        SecretSource::File => Box::new(FileSecrets {
            dir: dir.to_owned(),
        }),
    }
}

/// The 1Password provider of `serve --secrets onepassword`: connects, loads every secret and
/// keeps them fresh in the background.
async fn onepassword(
    config: &Config,
) -> Result<Arc<OnePasswordSecrets>, Box<dyn std::error::Error>> {
    let url = config
        .op_connect_host
        .clone()
        .ok_or("--secrets onepassword needs OP_CONNECT_HOST")?;
    let token = std::env::var("OP_CONNECT_TOKEN")
        .map_err(|_| "--secrets onepassword needs OP_CONNECT_TOKEN")?;
    let refs = OnePasswordConfig::refs_for(&config.op_vault, &config.op_item, |name| {
        std::env::var(format!("RELAYER_OP_REF_{}", name.as_str().to_uppercase())).ok()
    })?;
    let provider = OnePasswordSecrets::connect(OnePasswordConfig {
        url,
        token: Secret::new(token.into_bytes()),
        refs,
        timeout: config.drand_timeout(),
        breaker: config.breaker(),
    })
    .await?;
    let (_keep, stop) = tokio::sync::watch::channel(false);
    tokio::spawn({
        let provider = provider.clone();
        let every = Duration::from_secs(config.op_refresh_secs);
        async move {
            let _keep = _keep;
            provider.run(every, stop).await
        }
    });
    Ok(provider)
}

async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let secrets: Box<dyn SecretProvider> = match config.secrets {
        SecretSource::OnePassword => Box::new(onepassword(&config).await?),
        source => secrets(source, &config.secrets_dir),
    };
    let listen = config.listen;
    let state = AppState::build(config, secrets.as_ref(), Arc::new(SystemClock)).await?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(%listen, vrf_key_id = %state.minter.key().key_id, "relayer listening");
    veil_relayer::serve(state, listener, async {
        veil_shutdown::requested().await;
        tracing::info!("shutting down: draining in-flight requests");
    })
    .await?;
    Ok(())
}

async fn legacy_import(
    args: cli::LegacyImportArgs,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    use veil_relayer::chittyid::legacy::{self, ImportError};
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let config = *args.config;
    let secrets: Box<dyn SecretProvider> = match config.secrets {
        SecretSource::OnePassword => Box::new(onepassword(&config).await?),
        source => secrets(source, &config.secrets_dir),
    };
    let state = AppState::build(config, secrets.as_ref(), Arc::new(SystemClock)).await?;
    let report = legacy::import(
        &state.pool,
        &state.minter,
        &state.drand,
        &text,
        |done, total| eprint!("\r{done}/{total} lines"),
    )
    .await;
    eprintln!();
    match report {
        Ok(report) => {
            for (old, new) in &report.imported {
                println!("{old} -> {new}");
            }
            println!(
                "imported {}, already imported {}",
                report.imported.len(),
                report.already
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(ImportError::BadLines(bad)) => {
            for line in &bad {
                println!("line {}: {}", line.line, line.reason);
            }
            println!("{} bad line(s); nothing was imported", bad.len());
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

async fn pool(db: &DbArgs) -> Result<sqlx::PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&db.database_url)
        .await
}

async fn key_store(args: &cli::KeyStoreArgs) -> Result<ApiKeyStore, Box<dyn std::error::Error>> {
    let secrets = secrets(args.secrets, &args.secrets_dir);
    let pool = pool(&args.db).await?;
    store::MIGRATOR.run(&pool).await?;
    Ok(ApiKeyStore::new(
        pool,
        secrets.as_ref(),
        KeyCacheConfig::default(),
    )?)
}

async fn run(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match cli.command {
        Command::Serve(config) => {
            init_tracing(config.log_format);
            serve(*config).await?;
        }
        Command::Migrate(db) => {
            store::MIGRATOR.run(&pool(&db).await?).await?;
            println!("migrations applied");
        }
        Command::Keys(KeysCommand::Create(args)) => {
            let store = key_store(&args.store).await?;
            let scopes = args
                .scopes
                .iter()
                .map(|s| s.parse::<Scope>())
                .collect::<Result<Vec<_>, _>>()?;
            let quota =
                Quota::try_new(args.rate, args.burst).ok_or("rate and burst must be at least 1")?;
            let created = store.create(&args.label, &scopes, quota).await?;
            println!("key_id:         {}", created.key_id);
            println!("api_key:        {}", created.api_key);
            println!("signing_secret: {}", created.signing_secret);
            println!("(shown once; the relayer stores only a peppered hash of the key)");
        }
        Command::Keys(KeysCommand::List(args)) => {
            let store = key_store(&args.store).await?;
            print!("{}", cli::keys_table(&store.list(args.all).await?));
        }
        Command::Keys(KeysCommand::Revoke(args)) => {
            let store = key_store(&args.store).await?;
            let outcome = cli::revoke_key(&store, &args.key_id).await?;
            println!("{outcome}");
            if outcome == cli::Revocation::Unknown(args.key_id.clone()) {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Legacy(cli::LegacyCommand::Import(args)) => {
            init_tracing(args.config.log_format);
            return legacy_import(args).await;
        }
        Command::Verify(args) => {
            match cli::verify(&args).await {
                Ok(report) => {
                    for check in &report.checks {
                        println!("ok  {check}");
                    }
                    if !report.vrf_key_pinned {
                        println!("note: the VRF key was taken from the evidence; pin it with --vrf-public-key");
                    }
                    if !report.batch_checked {
                        println!("note: not batched yet; no inclusion proof to check");
                    }
                    if !report.chain_checked {
                        println!("note: the chain was not asked; add --rpc-url once the batch is anchored");
                    }
                    println!("VALID {}", report.id);
                }
                Err(cli::CliError::Invalid(e)) => {
                    println!("INVALID: {e}");
                    return Ok(ExitCode::from(1));
                }
                Err(e @ cli::CliError::ChainMismatch { .. }) => {
                    println!("INVALID: {e}");
                    return Ok(ExitCode::from(1));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = e.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::from(2)
        }
    }
}
