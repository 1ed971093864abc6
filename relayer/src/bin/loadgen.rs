//! `veil-loadgen`: mints/s and latency over real HTTP with durable PostgreSQL commits, and an
//! axum hello-world measured the same way in the same run, as the ceiling.
//!
//! Everything runs on this machine: the relayer (real PostgreSQL and Redis, a local drand relay
//! serving recorded quicknet beacons, the clock pinned to the newest recorded round) on its own
//! Tokio runtime, and the load generator on another, over loopback TCP with keep-alive HTTP/1.1
//! connections. Every mint request is individually signed (HMAC, fresh nonce) exactly as a
//! client would sign it.
//!
//! ```sh
//! cargo run --profile perf -p veil-relayer --features dev-keys --bin veil-loadgen -- --connections 64 --seconds 10
//! ```

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{routing::post, Router};
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, Request};
use sqlx::{Connection, Executor, PgConnection};
use tokio::net::TcpStream;
use veil_relayer::{
    app,
    chittyid::drand_relay::{latest_recorded, RecordedRelay},
    platform::auth::{signature::sign_request, Quota, Scope, SigningSecret},
    platform::clock::{Clock, OffsetClock},
    platform::config::Config,
    platform::secrets::{SecretName, StaticSecrets},
    AppState,
};

/// mimalloc: the relayer allocates many small, short-lived buffers per request (JSON, hex,
/// evidence); glibc malloc showed up at ~10% of a mint's CPU in `perf` (docs/perf.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
struct Args {
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Measured seconds per target.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Warm-up seconds per target (not measured).
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Server runtime worker threads.
    #[arg(long, default_value_t = 2)]
    server_threads: usize,
    /// Client runtime worker threads.
    #[arg(long, default_value_t = 2)]
    client_threads: usize,
    /// PostgreSQL server (a database `veil_loadgen` is recreated on it).
    #[arg(
        long,
        env = "VEIL_TEST_PG",
        default_value = "postgres://postgres@127.0.0.1:5432"
    )]
    pg: String,
    /// Redis.
    #[arg(
        long,
        env = "VEIL_TEST_REDIS",
        default_value = "redis://127.0.0.1:6379"
    )]
    redis: String,
    /// Skip the hello-world ceiling.
    #[arg(long)]
    no_hello: bool,
}

struct Stats {
    ok: u64,
    errors: std::collections::BTreeMap<u16, u64>,
    latencies_us: Vec<u32>,
    elapsed: Duration,
}

impl Stats {
    fn percentile(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.latencies_us[i]) / 1000.0
    }

    fn print(&self, name: &str) {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {:?} |",
            self.ok as f64 / self.elapsed.as_secs_f64(),
            self.percentile(0.50),
            self.percentile(0.90),
            self.percentile(0.99),
            self.percentile(1.0),
            self.ok,
            self.errors,
        );
    }
}

/// How each request is made.
#[derive(Clone)]
enum Target {
    Hello,
    Mint {
        api_key: Arc<str>,
        secret: Arc<SigningSecret>,
        clock: Arc<OffsetClock>,
    },
}

fn request(target: &Target, addr: SocketAddr, worker: usize, seq: u64) -> Request<Full<Bytes>> {
    match target {
        Target::Hello => Request::post("/")
            .header("host", addr.to_string())
            .body(Full::new(Bytes::from_static(b"{}")))
            .expect("request"),
        Target::Mint {
            api_key,
            secret,
            clock,
        } => {
            let mut content = [0u8; 32];
            content[..8].copy_from_slice(&(worker as u64).to_be_bytes());
            content[8..16].copy_from_slice(&seq.to_be_bytes());
            let body = format!(
                r#"{{"namespace":"LOAD","entity_type":"T","content_hash":"{}","request_nonce":"{:016x}"}}"#,
                hex::encode(content),
                seq
            );
            let nonce = format!("w{worker:04}s{seq:016}x");
            let headers = sign_request(
                "POST",
                "/api/v2/chittyid/mint",
                body.as_bytes(),
                secret,
                clock.now_unix(),
                &nonce,
            );
            Request::post("/api/v2/chittyid/mint")
                .header("host", addr.to_string())
                .header("content-type", "application/json")
                .header("x-api-key", api_key.as_ref())
                .header("x-timestamp", headers.timestamp)
                .header("x-nonce", headers.nonce)
                .header("x-signature", headers.signature)
                .body(Full::new(Bytes::from(body)))
                .expect("request")
        }
    }
}

async fn connection(
    addr: SocketAddr,
    target: Target,
    worker: usize,
    start_measuring: Instant,
    stop: Instant,
) -> (u64, std::collections::BTreeMap<u16, u64>, Vec<u32>) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).ok();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(conn);
    let (mut ok, mut errors, mut latencies) = (0u64, std::collections::BTreeMap::new(), Vec::new());
    let mut seq = 0u64;
    loop {
        let now = Instant::now();
        if now >= stop {
            break;
        }
        seq += 1;
        let req = request(&target, addr, worker, seq);
        let sent = Instant::now();
        let response = match sender.send_request(req).await {
            Ok(r) => r,
            Err(_) => {
                *errors.entry(0).or_insert(0) += 1;
                break;
            }
        };
        let status = response.status().as_u16();
        let _ = response.into_body().collect().await;
        let latency = sent.elapsed();
        if sent >= start_measuring {
            if (200..300).contains(&status) {
                ok += 1;
                latencies.push(latency.as_micros().min(u128::from(u32::MAX)) as u32);
            } else {
                *errors.entry(status).or_insert(0) += 1;
            }
        }
    }
    (ok, errors, latencies)
}

fn drive(args: &Args, addr: SocketAddr, target: Target) -> Stats {
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads)
        .enable_all()
        .build()
        .expect("client runtime");
    let start_measuring = Instant::now() + Duration::from_secs(args.warmup);
    let stop = start_measuring + Duration::from_secs(args.seconds);
    let results = client.block_on(async {
        let tasks: Vec<_> = (0..args.connections)
            .map(|w| tokio::spawn(connection(addr, target.clone(), w, start_measuring, stop)))
            .collect();
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.expect("connection task"));
        }
        results
    });
    let mut stats = Stats {
        ok: 0,
        errors: Default::default(),
        latencies_us: Vec::new(),
        elapsed: Duration::from_secs(args.seconds),
    };
    for (ok, errors, latencies) in results {
        stats.ok += ok;
        for (k, v) in errors {
            *stats.errors.entry(k).or_insert(0) += v;
        }
        stats.latencies_us.extend(latencies);
    }
    stats.latencies_us.sort_unstable();
    stats
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .ok();
    });
    addr
}

fn main() {
    let args = Args::parse();
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.server_threads)
        .enable_all()
        .build()
        .expect("server runtime");
    println!(
        "veil-loadgen: {} connections, {} s measured after {} s warm-up, server {} threads, client {} threads",
        args.connections, args.seconds, args.warmup, args.server_threads, args.client_threads
    );
    println!(
        "| target | req/s | p50 ms | p90 ms | p99 ms | max ms | ok | errors (status: count) |"
    );
    println!("|---|---|---|---|---|---|---|---|");

    if !args.no_hello {
        let addr = server.block_on(serve(
            Router::new().route("/", post(|| async { "{\"ok\":true}" })),
        ));
        drive(&args, addr, Target::Hello).print("axum hello-world (ceiling)");
    }

    let (addr, target, url, _relay) = server.block_on(async {
        let url = format!("{}/veil_loadgen", args.pg);
        let mut admin = PgConnection::connect(&format!("{}/postgres", args.pg))
            .await
            .expect("PostgreSQL");
        admin
            .execute("DROP DATABASE IF EXISTS veil_loadgen WITH (FORCE)")
            .await
            .expect("drop");
        admin
            .execute("CREATE DATABASE veil_loadgen")
            .await
            .expect("create");
        let (_, relay) = RecordedRelay::spawn().await.expect("drand relay");
        let now = veil_drand::ChainConfig::quicknet()
            .round_time(latest_recorded().round)
            .expect("round time")
            + 1;
        let clock = Arc::new(OffsetClock::starting_at(now));
        let mut config = Config::defaults();
        config.db.database_url = url.clone();
        config.db.db_max_connections = 8;
        config.redis_url = args.redis.clone();
        config.redis_prefix = "veil-loadgen:".into();
        config.drand_urls = vec![relay.url()];
        config.drand_max_age_secs = 3_600;
        let secrets = StaticSecrets::default()
            .with(SecretName::VrfKey, &"42".repeat(32))
            .with(SecretName::HmacMaster, &"43".repeat(32))
            .with(SecretName::ApiKeyPepper, &"44".repeat(32));
        let state = AppState::build(config, &secrets, clock.clone())
            .await
            .expect("relayer");
        let key = state
            .auth
            .keys()
            .create(
                "loadgen",
                &[Scope::ChittyIdMint],
                Quota::try_new(10_000_000, 10_000_000).expect("quota"),
            )
            .await
            .expect("key");
        let target = Target::Mint {
            api_key: key.api_key.clone().into(),
            secret: Arc::new(SigningSecret::from_hex(&key.signing_secret).expect("secret")),
            clock,
        };
        (serve(app(state)).await, target, url, relay)
    });
    let stats = drive(&args, addr, target);
    stats.print("POST /api/v2/chittyid/mint (signed, durable)");

    let rows: i64 = server.block_on(async {
        let mut conn = PgConnection::connect(&url).await.expect("connect");
        sqlx::query_scalar("SELECT count(*) FROM chittyids")
            .fetch_one(&mut conn)
            .await
            .expect("count")
    });
    println!(
        "\ndurability: {rows} rows in chittyids >= {} measured 201s (warm-up mints are rows too): {}",
        stats.ok,
        if rows as u64 >= stats.ok { "ok" } else { "MISSING ROWS" }
    );
}
