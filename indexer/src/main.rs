//! `veil-indexer`: the Yellowstone gRPC stream into PostgreSQL, with the analytics API.
//!
//! Applies the migrations, resumes the [`GrpcSource`] from the persisted cursor, runs the
//! pipeline through [`Metered`] (`indexer_events_total`), keeps `indexer_reconnects_total`,
//! `indexer_lag_slots` and `indexer_decode_errors_total` current once a second, serves
//! [`api::app`], and stops on Ctrl-C or SIGTERM: the batch in hand is committed, then the API
//! drains.

mod config;

use std::{process::ExitCode, sync::Arc, time::Duration};

use clap::Parser;
use sqlx::postgres::PgPoolOptions;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;
use veil_indexer::{
    api::{self, ApiState},
    gaps::{run_live, GapError},
    grpc::{GrpcSource, GrpcStats},
    metrics::{IndexerMetrics, Metered},
    pipeline, Counters, Persist, PersistError, PgStore, RunError,
};

use crate::config::{Config, LogFormat};

/// Why the indexer stopped with a failure.
#[derive(Debug, thiserror::Error)]
enum MainError {
    /// The database could not be reached.
    #[error("database connection")]
    Connect(#[source] sqlx::Error),
    /// The migrations failed.
    #[error("migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The cursor could not be read.
    #[error("reading the cursor")]
    Cursor(#[from] PersistError),
    /// The API could not listen or serve.
    #[error("API server")]
    Serve(#[from] std::io::Error),
    /// The pipeline stopped with an error.
    #[error("pipeline")]
    Pipeline(#[from] RunError),
    /// The live pipeline with backfills stopped with an error.
    #[error("live pipeline")]
    Live(#[from] GapError),
    /// A setting cannot be used.
    #[error("configuration: {0}")]
    Config(String),
}

fn init_tracing(format: LogFormat) {
    let filter =
        EnvFilter::try_from_env("INDEXER_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    init_tracing(config.log_format);
    match serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let mut message = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(inner) = source {
                message.push_str(": ");
                message.push_str(&inner.to_string());
                source = inner.source();
            }
            tracing::error!(error = %message, "indexer stopped");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), MainError> {
    let pool = PgPoolOptions::new()
        .max_connections(config.db_max_connections.max(config.writers + 2))
        .acquire_timeout(Duration::from_secs(5))
        .connect(&config.database_url)
        .await
        .map_err(MainError::Connect)?;
    let store = PgStore::new(pool.clone(), config.cursor_name.clone());
    store.migrate().await?;
    let resume = store.cursor().await?;
    tracing::info!(
        endpoint = %config.grpc_endpoint,
        cursor = config.cursor_name,
        resume = ?resume,
        "indexer starting"
    );

    let cancel = CancellationToken::new();
    let metrics = Arc::new(IndexerMetrics::new());
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    tracing::info!(listen = %config.listen, "analytics API listening");
    // The API on a pool of its own, with a statement timeout: analytics can be slow or
    // flooded, ingestion must not notice.
    let api_pool = api::api_pool(
        &config.database_url,
        config.api_db_connections,
        Duration::from_millis(config.api_statement_timeout_ms),
    )
    .await
    .map_err(MainError::Connect)?;
    drop(pool);
    let edge = config.api_edge().map_err(MainError::Config)?;
    let app = api::app(
        ApiState::new(api_pool, metrics.clone())
            .with_limits(config.api_limits())
            .with_edge(edge),
    );
    let stop = cancel.clone().cancelled_owned();
    let api = tokio::spawn(async move {
        // With the peer address: the limit per client address keys on it.
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(stop)
        .await
    });
    let signal = tokio::spawn({
        let cancel = cancel.clone();
        async move {
            veil_shutdown::requested().await;
            tracing::info!("shutting down: committing the batch in hand");
            cancel.cancel();
        }
    });

    let stats = Arc::new(GrpcStats::default());
    let counters = Arc::new(Counters::default());
    let observer = tokio::spawn(observe(
        stats.clone(),
        store.clone(),
        counters.clone(),
        metrics.clone(),
        cancel.clone(),
    ));
    let store = Metered::new(store, metrics);
    let result = match config.live() {
        Some(live) => {
            tracing::info!(rpc = %live.rpc.url, "backfills over RPC enabled");
            run_live(&store, &counters, &stats, &cancel, &live)
                .await
                .map(
                    |report| tracing::info!(backfilled = ?report.backfilled, "live pipeline ended"),
                )
                .map_err(MainError::from)
        }
        None => {
            tracing::warn!(
                "no INDEXER_RPC_URL: a gap the gRPC server cannot replay stops the indexer"
            );
            let mut source = GrpcSource::spawn_with_stats(config.grpc(), resume, stats.clone());
            pipeline::run(&mut source, &store, &counters, &cancel, config.run_config())
                .await
                .map_err(MainError::from)
        }
    };
    // The pipeline is done (cancelled, or failed): stop the rest.
    cancel.cancel();
    signal.abort();
    let _ = observer.await;
    let served = api.await;
    tracing::info!(
        transactions = Counters::get(&counters.transactions),
        events = Counters::get(&counters.events),
        "indexer stopped"
    );
    result?;
    match served {
        Ok(served) => served?,
        Err(join) => return Err(MainError::Serve(std::io::Error::other(join))),
    }
    Ok(())
}

/// Once a second until `cancel`: carries the source's reconnects and the decode errors into
/// their counters, and sets the lag (the newest slot the stream has seen minus the committed
/// cursor's slot).
async fn observe(
    stats: Arc<GrpcStats>,
    store: PgStore,
    counters: Arc<Counters>,
    metrics: Arc<IndexerMetrics>,
    cancel: CancellationToken,
) {
    let (mut reconnects, mut gaps) = (0u64, 0u64);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = GrpcStats::get(&stats.reconnects);
        metrics
            .reconnects_total
            .inc_by(now.saturating_sub(reconnects));
        reconnects = now;
        let now = GrpcStats::get(&stats.gaps);
        metrics.gaps_total.inc_by(now.saturating_sub(gaps));
        gaps = now;
        metrics.sync(&counters);
        metrics.sync_db_retries(Counters::get(&store.retries()));
        let head = GrpcStats::get(&stats.head_slot);
        if head > 0 {
            match store.cursor().await {
                Ok(cursor) => metrics.set_lag(head, cursor.as_ref()),
                Err(error) => tracing::warn!(%error, "reading the cursor for the lag failed"),
            }
        }
    }
}
