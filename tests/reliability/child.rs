//! Child processes of the reliability tests: this test binary, started again to run one of
//! the ignored tests below, which act only when their environment says so.

use std::{
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use veil_relayer::{
    platform::{clock::OffsetClock, config::Config},
    AppState,
};

use crate::relayer::support::{redis_url, secrets};

/// What a child relayer is started with.
pub struct RelayerChild {
    /// The database URL.
    pub database_url: String,
    /// The Redis key prefix (the parent's, so nonces are shared as across instances).
    pub redis_prefix: String,
    /// The drand relay.
    pub drand_url: String,
    /// Where it listens.
    pub listen: SocketAddr,
    /// The unix time its clock starts at (the parent's clock, so signatures stay in window).
    pub now: u64,
}

/// A running child; killed (SIGKILL) on drop.
pub struct Running(pub Child);

impl Running {
    /// SIGKILL, then reaps it.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts this test binary again, running only the ignored child test `test` with `env`.
fn spawn_child(test: &str, env: Vec<(&str, String)>) -> Running {
    let exe = std::env::current_exe().expect("the test binary");
    let child = Command::new(exe)
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("the child {test} starts: {e}"));
    Running(child)
}

impl RelayerChild {
    /// Starts the child process.
    pub fn spawn(&self) -> Running {
        spawn_child(
            "reliability::child::relayer",
            vec![
                ("VEIL_CHILD_RELAYER", self.listen.to_string()),
                ("VEIL_CHILD_DATABASE_URL", self.database_url.clone()),
                ("VEIL_CHILD_REDIS_PREFIX", self.redis_prefix.clone()),
                ("VEIL_CHILD_DRAND_URL", self.drand_url.clone()),
                ("VEIL_CHILD_NOW", self.now.to_string()),
                ("RELAYER_LOG", "error".to_owned()),
            ],
        )
    }
}

/// Waits until `GET /health` on `base` answers 200; how long that took.
pub async fn healthy(base: &str, within: Duration) -> Duration {
    let started = Instant::now();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    loop {
        if let Ok(answer) = client.get(format!("{base}/health")).send().await {
            if answer.status() == 200 {
                return started.elapsed();
            }
        }
        assert!(
            started.elapsed() < within,
            "{base} not healthy within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by the parent"))
}

/// The child relayer: serves until killed. Does nothing unless `VEIL_CHILD_RELAYER` is set.
#[test]
#[ignore = "a child process of reliability::relayer_kill; does nothing when run by hand"]
fn relayer() {
    let Ok(listen) = std::env::var("VEIL_CHILD_RELAYER") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let mut config = Config::defaults().with_all_flags_on();
        config.db.database_url = var("VEIL_CHILD_DATABASE_URL");
        config.db.db_max_connections = 8;
        config.redis_url = redis_url();
        config.redis_prefix = var("VEIL_CHILD_REDIS_PREFIX");
        config.drand_urls = vec![var("VEIL_CHILD_DRAND_URL")];
        config.drand_timeout_ms = 1_000;
        config.drand_max_age_secs = 3_600;
        config.health_cache_ms = 0;
        let now: u64 = var("VEIL_CHILD_NOW").parse().unwrap();
        let state = AppState::build(config, &secrets(), Arc::new(OffsetClock::starting_at(now)))
            .await
            .expect("the child relayer's state");
        let listener = tokio::net::TcpListener::bind(listen).await.unwrap();
        veil_relayer::serve(state, listener, std::future::pending())
            .await
            .unwrap();
    });
}

/// What a child indexer is started with.
pub struct IndexerChild {
    /// The database URL.
    pub database_url: String,
    /// The chain's JSON-RPC URL (backfills).
    pub rpc_url: String,
    /// The chain's Yellowstone gRPC URL (the live source).
    pub grpc_url: String,
}

impl IndexerChild {
    /// Starts the child process.
    pub fn spawn(&self) -> Running {
        spawn_child(
            "reliability::child::indexer",
            vec![
                ("VEIL_CHILD_INDEXER", "1".to_owned()),
                ("VEIL_CHILD_DATABASE_URL", self.database_url.clone()),
                ("VEIL_CHILD_RPC_URL", self.rpc_url.clone()),
                ("VEIL_CHILD_GRPC_URL", self.grpc_url.clone()),
            ],
        )
    }
}

/// The child indexer: from its committed cursor, live from the chain's gRPC stream with RPC
/// backfills for what the stream cannot replay (`veil-indexer`'s pipeline); on a first start
/// (no cursor) an RPC backfill of the chain so far first, as `veil-stack` does. Runs until
/// killed. Does nothing unless `VEIL_CHILD_INDEXER` is set.
#[test]
#[ignore = "a child process of reliability::indexer_kill; does nothing when run by hand"]
fn indexer() {
    use solana_commitment_config::CommitmentConfig;
    use solana_rpc_client::nonblocking::rpc_client::RpcClient;
    use tokio_util::sync::CancellationToken;
    use veil_indexer::{
        gaps::{run_live, LiveConfig},
        grpc::{GrpcConfig, GrpcStats},
        rpc::{RpcBackfill, RpcConfig, SlotRange},
        Counters, Persist, PgStore, RunConfig,
    };

    if std::env::var("VEIL_CHILD_INDEXER").is_err() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect(&var("VEIL_CHILD_DATABASE_URL"))
            .await
            .unwrap();
        let store = PgStore::new(pool, "crash");
        let rpc_url = var("VEIL_CHILD_RPC_URL");
        let rpc = RpcConfig {
            max_requests_per_second: None,
            ..RpcConfig::new(&rpc_url)
        };
        let (counters, cancel) = (Counters::default(), CancellationToken::new());
        if store.cursor().await.unwrap().is_none() {
            let client =
                RpcClient::new_with_commitment(rpc_url.clone(), CommitmentConfig::confirmed());
            let head = client.get_slot().await.unwrap();
            let mut source = RpcBackfill::spawn(rpc.clone(), SlotRange::new(0, head)).unwrap();
            veil_indexer::run(
                &mut source,
                &store,
                &counters,
                &cancel,
                RunConfig::default(),
            )
            .await
            .unwrap();
        }
        let live = LiveConfig::new(GrpcConfig::new(var("VEIL_CHILD_GRPC_URL")), rpc);
        let stats = Arc::new(GrpcStats::default());
        run_live(&store, &counters, &stats, &cancel, &live)
            .await
            .unwrap();
    });
}
