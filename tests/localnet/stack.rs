//! The README's "run" command, in-process: `veil-stack up` on free ports against the test
//! PostgreSQL and Redis, then every step of its guided demo as a user would run them, then a
//! clean stop. [`InProcess`] starts it the same way for the other tests that need the stack.

use std::{path::PathBuf, time::Duration};

use serde_json::Value;
use veil_stack::{
    data::{DataDir, Session},
    demo::{Client, STEPS},
    up::{up, UpArgs, UpError},
};

use crate::relayer::support::{ensure_services, pg_base, redis_url};

/// `veil-stack up` running in this process, until [`InProcess::stop`].
pub struct InProcess {
    /// Its data directory.
    pub data: DataDir,
    /// What it wrote there once up.
    pub session: Session,
    /// Its database on the test server.
    pub database: String,
    dir: PathBuf,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), UpError>>,
}

impl InProcess {
    /// Arguments for a stack named `name` (its data directory and database carry the name and
    /// this process's id): every port free, the test PostgreSQL and Redis, the EVM node, the
    /// webhook receiver and the app off.
    pub fn args(name: &str) -> UpArgs {
        UpArgs {
            relayer: "127.0.0.1:0".parse().unwrap(),
            indexer: "127.0.0.1:0".parse().unwrap(),
            rpc_port: 0,
            grpc_port: 0,
            slot_ms: 100,
            database: format!("veil_{name}_{}", std::process::id()),
            postgres: Some(pg_base()),
            redis: Some(redis_url()),
            isolated: false,
            evm_port: 0,
            no_evm: true,
            webhook_port: 0,
            no_webhooks: true,
            app: "127.0.0.1:0".parse().unwrap(),
            prover_port: 0,
            no_app: true,
            app_dir: None,
        }
    }

    /// Starts the stack with `args` and waits until its session is written (at most `within`).
    pub async fn start(name: &str, args: UpArgs, within: Duration) -> Self {
        ensure_services();
        let dir = std::env::temp_dir().join(format!("veil-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let data = DataDir::open(&dir).expect("data dir");
        let database = args.database.clone();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn({
            let data = data.clone();
            async move {
                up(&args, &data, async {
                    let _ = stop_rx.await;
                })
                .await
            }
        });
        let started = tokio::time::Instant::now();
        while data.session().is_err() {
            assert!(!task.is_finished(), "the stack stopped while starting");
            assert!(started.elapsed() < within, "not up in {within:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self {
            session: data.session().unwrap(),
            data,
            database,
            dir,
            stop,
            task,
        }
    }

    /// Stops the stack, checks that it stopped cleanly and cleared its session, and removes
    /// its data directory.
    pub async fn stop(self) {
        self.stop.send(()).unwrap();
        self.task.await.unwrap().expect("the stack stops cleanly");
        assert!(
            self.data.session().is_err(),
            "the session is cleared on stop"
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_up_serves_the_guided_demo_end_to_end_and_stops_cleanly() {
    ensure_services();
    // The EVM node is installed from npm the first time (not part of the start-up timed below).
    tokio::task::spawn_blocking(veil_evm_node::install)
        .await
        .unwrap()
        .expect("scripts/evm-node.sh installs the EVM node");
    let args = UpArgs {
        slot_ms: 50,
        no_evm: false,
        no_webhooks: false,
        // The app has its own test (`app::browser`).
        ..InProcess::args("stack_test")
    };
    let stack = InProcess::start("stack-test", args, Duration::from_secs(60)).await;
    let (data, database) = (stack.data.clone(), stack.database.clone());
    let session = data.session().unwrap();
    assert!(
        session.evm.is_some(),
        "the stack runs its EVM node (see its output above)"
    );
    assert!(
        session.webhook.is_some(),
        "the stack runs its webhook receiver (see its output above)"
    );
    let client = Client::new(&data).expect("a demo client");
    for step in STEPS {
        client
            .step(step)
            .await
            .unwrap_or_else(|e| panic!("demo {step}: {e}"));
    }

    // The demo's effects, read back: the minted ID is anchored within the anchoring interval,
    // and the indexer follows the chain (the slash of the Fire challenge is in its analytics).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let slashes: Value =
            reqwest::get(format!("{}/api/v1/analytics/slashes", session.indexer_url))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        let anchored: i64 = {
            let pool = sqlx::PgPool::connect(&format!("{}/{database}", pg_base()))
                .await
                .unwrap();
            sqlx::query_scalar("SELECT count(*) FROM id_batches WHERE status = 'anchored'")
                .fetch_one(&pool)
                .await
                .unwrap()
        };
        let slashed = slashes["mints"][0]["slashed"].as_str().map(str::to_owned);
        if anchored == 1 && slashed.as_deref() == Some("10000000") {
            assert_eq!(
                slashes["mints"][0]["mint"],
                Value::String(session.mint.clone())
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "anchored batches {anchored}, slashes {slashes}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_own_postgres_and_redis_require_their_generated_passwords() {
    // Audit finding 14: the stack's own cluster used `trust` on 127.0.0.1 and its Redis had
    // no password, so another local user could read the stack's secrets or forge nonces.
    use sqlx::Connection;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use veil_stack::services;

    let dir = std::env::temp_dir().join(format!("veil-stack-own-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = DataDir::open(&dir).expect("data dir");
    let (pg, pg_owned) = services::postgres(&data.root, None, true)
        .await
        .expect("the stack's own PostgreSQL");
    assert!(pg_owned.is_some());
    let password = std::fs::read_to_string(data.root.join("services/postgres.password"))
        .expect("a generated password");
    assert_eq!(pg, {
        let port = pg.rsplit(':').next().unwrap();
        format!("postgres://postgres:{}@127.0.0.1:{port}", password.trim())
    });
    sqlx::PgConnection::connect(&format!("{pg}/postgres"))
        .await
        .expect("the password opens it");
    let without = pg.replace(&format!(":{}@", password.trim()), "@");
    let refused = sqlx::PgConnection::connect(&format!("{without}/postgres")).await;
    assert!(refused.is_err(), "connected without the password");
    assert!(!services::redact(&pg).contains(password.trim()));

    let (redis, redis_owned) = services::redis(&data.root, None, true)
        .await
        .expect("the stack's own Redis");
    assert!(redis_owned.is_some());
    let port: u16 = redis.rsplit(':').next().unwrap().parse().unwrap();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.write_all(b"PING\r\n").await.unwrap();
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).await.unwrap();
    assert_eq!(&reply, b"-NOAUTH", "Redis answered without the password");
    // Neither password is on a command line (every process's, from /proc).
    let ps: String = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " ") + "\n")
        .collect();
    assert!(ps.contains("redis-server"), "the process list is readable");
    let redis_password =
        std::fs::read_to_string(data.root.join("services/redis.password")).unwrap();
    assert!(!ps.contains(password.trim()) && !ps.contains(redis_password.trim()));
    drop((pg_owned, redis_owned));
    let _ = std::fs::remove_dir_all(&dir);
}
