//! `veil-stack up`: the local chain and a local EVM node, then the relayer, then the indexer, on
//! embedded defaults.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anchor_lang::prelude::Pubkey;
use challenge::{state::Window, ConfigArgs};
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use tokio_util::sync::CancellationToken;
use veil_indexer::{
    api::ApiState,
    gaps::{run_live, LiveConfig},
    grpc::{GrpcConfig, GrpcStats},
    metrics::IndexerMetrics,
    rpc::{RpcBackfill, RpcConfig, SlotRange},
    Counters, PgStore, RunConfig,
};
use veil_localnet::{Localnet, LocalnetConfig};
use veil_relayer::{
    platform::auth::{Quota, Scope},
    platform::clock::SystemClock,
    platform::config::{Config, SecretSource},
    platform::secrets::FileSecrets,
    AppState,
};

use crate::{
    data::{DataDir, EvmSession, Session, WebhookSession},
    receiver::Receiver,
    services, tokens,
};

/// One SOL.
const SOL: u64 = 1_000_000_000;
/// Demo tokens each of alice and bob starts with (6 decimals): 100.
pub const DEMO_TOKENS: u64 = 100_000_000;

/// Where the stack listens.
#[derive(Debug, Clone, clap::Args)]
pub struct UpArgs {
    /// The relayer's address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub relayer: SocketAddr,
    /// The indexer's analytics API address.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub indexer: SocketAddr,
    /// The chain's JSON-RPC port (PubSub is the next one).
    #[arg(long, default_value_t = 8899)]
    pub rpc_port: u16,
    /// The chain's Yellowstone gRPC port (the indexer's live source).
    #[arg(long, default_value_t = 10_000)]
    pub grpc_port: u16,
    /// Milliseconds per slot.
    #[arg(long, default_value_t = 200)]
    pub slot_ms: u64,
    /// The PostgreSQL server to use (a database name in the URL is ignored); else the local
    /// server, else the stack's own cluster.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub postgres: Option<String>,
    /// The Redis to use; else the local server, else the stack's own.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis: Option<String>,
    /// The database the stack creates afresh on every start.
    #[arg(long, default_value = "veil_stack")]
    pub database: String,
    /// Always run the stack's own PostgreSQL and Redis in the data directory, even when
    /// `DATABASE_URL`, `REDIS_URL` or local servers are there.
    #[arg(long)]
    pub isolated: bool,
    /// The local EVM node's JSON-RPC port (Hardhat Network, chain `eip155:31337`; 0: a free
    /// port).
    #[arg(long, default_value_t = 8545)]
    pub evm_port: u16,
    /// Run without the local EVM node (the `evm` demo step then has nothing to check).
    #[arg(long)]
    pub no_evm: bool,
    /// The webhook receiver's port (it prints each delivery it verifies; 0: a free port).
    #[arg(long, default_value_t = 8090)]
    pub webhook_port: u16,
    /// Run without the webhook receiver (the `webhook` demo step then has nothing to show).
    #[arg(long)]
    pub no_webhooks: bool,
    /// The web app's address (built from `app/` with npm when missing or stale).
    #[arg(long, default_value = "127.0.0.1:8088")]
    pub app: SocketAddr,
    /// The member's prover for the app's wallets, on 127.0.0.1 (0: a free port).
    #[arg(long, default_value_t = 8787)]
    pub prover_port: u16,
    /// Run without the web app and its prover.
    #[arg(long)]
    pub no_app: bool,
    /// Where the app's sources are (default: `app/` of this checkout).
    #[arg(long)]
    pub app_dir: Option<std::path::PathBuf>,
}

/// Why the stack did not start.
#[derive(Debug, thiserror::Error)]
pub enum UpError {
    /// PostgreSQL or Redis.
    #[error(transparent)]
    Service(#[from] services::ServiceError),
    /// The data directory.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    /// The chain.
    #[error(transparent)]
    Localnet(#[from] veil_localnet::LocalnetError),
    /// A setup transaction failed.
    #[error("chain setup: {0}")]
    Setup(#[from] tokens::SetupError),
    /// The relayer.
    #[error("relayer: {0}")]
    Relayer(#[from] veil_relayer::state::StartupError),
    /// A listener.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The API key could not be created.
    #[error("creating the demo API key: {0}")]
    Key(String),
    /// The app's origin is not one CORS can allow.
    #[error("CORS: {0}")]
    Cors(String),
}

/// Initializes both programs with the relayer as registry admin and registrar and as the
/// challenge gatekeeper; creates the demo token and gives alice and bob 100 each.
async fn setup_chain(rpc: &RpcClient, data: &DataDir) -> Result<Pubkey, UpError> {
    let relayer = data.chain_key()?;
    let issuer = data.wallet("issuer")?;
    let treasury = relayer.pubkey();
    let registry_init =
        veil_client::registry::initialize(&relayer.pubkey(), &relayer.pubkey(), &treasury, None);
    tokens::send(rpc, "registry initialize", &relayer, &[registry_init], &[]).await?;
    let challenge_init = veil_client::challenge::initialize(
        &relayer.pubkey(),
        ConfigArgs {
            gatekeeper: relayer.pubkey(),
            treasury,
            accept_window: Window {
                min: 10,
                max: 7 * 86_400,
            },
            response_window: Window {
                min: 10,
                max: 30 * 86_400,
            },
            max_treasury_bps: 3_000,
            arbiter_window: 7 * 86_400,
            bond_mints: Vec::new(),
        },
        None,
    );
    tokens::send(
        rpc,
        "challenge initialize",
        &relayer,
        &[challenge_init],
        &[],
    )
    .await?;

    let mint = tokens::create_mint(rpc, &issuer, 6).await?;
    for name in ["alice", "bob"] {
        let owner = data.wallet(name)?.pubkey();
        tokens::fund(rpc, &issuer, &mint, &owner, DEMO_TOKENS).await?;
    }
    Ok(mint)
}

/// One token of 18 decimals.
const WEI: u128 = 1_000_000_000_000_000_000;

/// Starts the local EVM node on `port` (0: a free one), deploys the demo ERC-20 (`VUSD`, 1,000
/// minted to Hardhat's account #0) and gives carol 250 VUSD and 5 ETH.
async fn start_evm(
    port: u16,
    data: &DataDir,
) -> Result<(veil_evm_node::EvmNode, EvmSession), Box<dyn std::error::Error + Send + Sync>> {
    use veil_evm_node::{EvmNode, DEPLOYER};
    let node = match port {
        0 => EvmNode::start().await?,
        port => EvmNode::start_on(port).await?,
    };
    let carol = veil_relayer::gatekeeper::evm::Address::of(data.evm_wallet()?.verifying_key())
        .checksummed();
    let token = node
        .deploy_erc20("Veil USD", "VUSD", 1_000 * WEI, DEPLOYER)
        .await?;
    // The node answers in lowercase; shown and used in EIP-55 form, as the gatekeeper answers.
    let token = veil_relayer::gatekeeper::evm::Address::parse(&token)
        .map(|a| a.checksummed())
        .unwrap_or(token);
    node.transfer_erc20(&token, DEPLOYER, &carol, 250 * WEI)
        .await?;
    node.send(serde_json::json!({
        "from": DEPLOYER, "to": carol, "value": format!("{:#x}", 5 * WEI),
    }))
    .await?;
    let session = EvmSession {
        rpc_url: node.url(),
        chain_id: format!("eip155:{}", veil_evm_node::CHAIN_ID),
        token,
    };
    Ok((node, session))
}

/// Starts the webhook receiver on `port` (0: a free one), printing what it verifies, and
/// registers an endpoint of the demo key (`key_id`) for every event type that delivers to it.
async fn start_receiver(
    port: u16,
    state: &AppState,
    key_id: &str,
) -> Result<(Receiver, WebhookSession), Box<dyn std::error::Error + Send + Sync>> {
    let receiver = match port {
        0 => Receiver::start_printing().await?,
        port => Receiver::start_on(port, true).await?,
    };
    let hook = "demo";
    let types: Vec<String> = veil_relayer::webhooks::EVENT_TYPES
        .iter()
        .map(|t| (*t).to_owned())
        .collect();
    let created = state
        .webhooks
        .create(
            key_id,
            &receiver.hook(hook),
            &types,
            Some("veil-stack's receiver".into()),
            Default::default(),
        )
        .await
        .map_err(|e| e.to_string())?;
    receiver.configure(hook, &created.secret, 204).await?;
    let session = WebhookSession {
        receiver_url: receiver.base(),
        hook: hook.to_owned(),
        endpoint_id: created.endpoint.id.to_string(),
    };
    Ok((receiver, session))
}

/// The indexer: an RPC backfill of everything before it started (the chain's setup), then
/// live from the chain's Yellowstone gRPC endpoint from its cursor on, with the RPC backfill
/// again for whatever the stream cannot replay; until `cancel`.
async fn index(grpc_url: String, rpc_url: String, store: PgStore, cancel: CancellationToken) {
    let rpc = RpcConfig {
        max_requests_per_second: None,
        ..RpcConfig::new(&rpc_url)
    };
    let counters = Counters::default();
    let client = RpcClient::new_with_commitment(rpc_url.clone(), CommitmentConfig::confirmed());
    let head = match client.get_slot().await {
        Ok(head) => head,
        Err(error) => {
            tracing::error!(%error, "the indexer cannot read the chain's head");
            return;
        }
    };
    let backfilled = match RpcBackfill::spawn(rpc.clone(), SlotRange::new(0, head)) {
        Ok(mut source) => veil_indexer::run(
            &mut source,
            &store,
            &counters,
            &cancel,
            RunConfig::default(),
        )
        .await
        .map_err(|e| e.to_string()),
        Err(error) => Err(error.to_string()),
    };
    if let Err(error) = backfilled {
        tracing::error!(%error, "the indexer's start backfill failed");
        return;
    }
    let live = LiveConfig::new(GrpcConfig::new(grpc_url), rpc);
    let stats = Arc::new(GrpcStats::default());
    if let Err(error) = run_live(&store, &counters, &stats, &cancel, &live).await {
        tracing::error!(%error, "the indexer stopped");
    }
}

/// Runs the stack until `shutdown` resolves (the binary passes Ctrl-C or SIGTERM).
pub async fn up(
    args: &UpArgs,
    data: &DataDir,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), UpError> {
    println!("Chitty Veil local stack (data in {})", data.root.display());
    // The app first: its build (npm) is the slowest part of a first start, and its origin is
    // what the relayer's, the indexer's and the prover's CORS allow.
    let app_dir = args.app_dir.clone().unwrap_or_else(crate::app::default_dir);
    let app_listener = if args.no_app {
        None
    } else {
        match crate::app::ensure_built(&app_dir).await {
            Ok(_) => Some(
                tokio::net::TcpListener::bind(args.app)
                    .await
                    .map_err(|source| UpError::Listen {
                        addr: args.app,
                        source,
                    })?,
            ),
            Err(error) => {
                println!("  app         not served: {error}");
                println!("              (--no-app skips it quietly)");
                None
            }
        }
    };
    let app_origin = app_listener
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map(|addr| format!("http://{addr}"));
    let origins: Vec<String> = app_origin.iter().cloned().collect();
    let (pg_server, pg_owned) =
        services::postgres(&data.root, args.postgres.as_deref(), args.isolated).await?;
    let database_url = services::fresh_database(&pg_server, &args.database).await?;
    let (redis_url, redis_owned) =
        services::redis(&data.root, args.redis.as_deref(), args.isolated).await?;
    println!(
        "  PostgreSQL  {}{}",
        services::redact(&database_url),
        if pg_owned.is_some() {
            "  (the stack's own cluster)"
        } else {
            ""
        }
    );
    println!(
        "  Redis       {}{}",
        services::redact(&redis_url),
        if redis_owned.is_some() {
            "  (the stack's own server)"
        } else {
            ""
        }
    );

    let relayer_key = data.chain_key()?;
    let mut airdrop = vec![relayer_key.pubkey()];
    for name in crate::data::WALLETS {
        airdrop.push(data.wallet(name)?.pubkey());
    }
    let net = Localnet::start(LocalnetConfig {
        rpc_port: args.rpc_port,
        // With a free RPC port, a free PubSub port too.
        ws_port: match args.rpc_port {
            0 => 0,
            port => port.saturating_add(1),
        },
        slot_time: Duration::from_millis(args.slot_ms),
        airdrop,
        airdrop_lamports: 100 * SOL,
        grpc_port: Some(args.grpc_port),
        ..LocalnetConfig::default()
    })?;
    let rpc =
        RpcClient::new_with_commitment(net.rpc_url().to_owned(), CommitmentConfig::confirmed());
    let mint = setup_chain(&rpc, data).await?;
    println!(
        "  chain       {}  (PubSub {}, Yellowstone gRPC {})",
        net.rpc_url(),
        net.ws_url(),
        net.grpc_url().unwrap_or("-")
    );

    let evm = if args.no_evm {
        None
    } else {
        match start_evm(args.evm_port, data).await {
            Ok((node, session)) => {
                println!(
                    "  EVM         {}  (Hardhat Network, {}; ERC-20 VUSD {})",
                    session.rpc_url, session.chain_id, session.token
                );
                Some((node, session))
            }
            Err(error) => {
                println!("  EVM         not started: {error}");
                println!("              (the `evm` demo step needs it; --no-evm skips it quietly)");
                None
            }
        }
    };

    // drand: the recorded quicknet relay, so the stack runs offline. Its newest beacon is
    // accepted however old it is; a deployment points RELAYER_DRAND_URLS at the real relays.
    let (_, drand) = veil_relayer::chittyid::drand_relay::RecordedRelay::spawn()
        .await
        .map_err(|source| UpError::Listen {
            addr: "127.0.0.1:0".parse().expect("an address"),
            source,
        })?;
    // A local stack turns every feature flag on (a production config leaves them off).
    let mut config = Config::defaults().with_all_flags_on();
    config.listen = args.relayer;
    config.db.database_url = database_url.clone();
    config.redis_url = redis_url;
    config.drand_urls = vec![drand.url()];
    config.drand_max_age_secs = 100 * 365 * 86_400;
    config.rpc_url = Some(net.rpc_url().to_owned());
    config.secrets = SecretSource::File;
    config.secrets_dir = data.secrets_dir();
    config.anchor_interval_secs = 5;
    config.batch_max_age_secs = 5;
    config.crank_interval_secs = 2;
    // Members who register in the app can prove within seconds, without an operator's call.
    config.publish_interval_secs = 2;
    // The app's pages call the relayer from their own origin.
    config.cors_origins = origins.clone();
    // Webhook endpoints on this machine (http://127.0.0.1:…) are how a local dApp listens.
    config.webhook_allow_loopback = true;
    config.evm_rpc = evm
        .iter()
        .map(|(_, s)| format!("{}={}", s.chain_id, s.rpc_url))
        .collect();
    let secrets = FileSecrets {
        dir: data.secrets_dir(),
    };
    let state = AppState::build(config, &secrets, Arc::new(SystemClock)).await?;
    let key = state
        .auth
        .keys()
        .create(
            "veil-stack demo",
            &Scope::ALL,
            Quota::try_new(1_000, 1_000).expect("a valid quota"),
        )
        .await
        .map_err(|e| UpError::Key(e.to_string()))?;
    let webhook = if args.no_webhooks {
        None
    } else {
        match start_receiver(args.webhook_port, &state, &key.key_id).await {
            Ok((receiver, session)) => {
                println!(
                    "  webhooks    {}/hook/{}  (the Standard Webhooks receiver; it prints each delivery below)",
                    session.receiver_url, session.hook
                );
                Some((receiver, session))
            }
            Err(error) => {
                println!("  webhooks    receiver not started: {error}");
                println!("              (the `webhook` demo step needs it; --no-webhooks skips it quietly)");
                None
            }
        }
    };
    let listener = tokio::net::TcpListener::bind(args.relayer)
        .await
        .map_err(|source| UpError::Listen {
            addr: args.relayer,
            source,
        })?;
    let relayer_addr = listener.local_addr().unwrap_or(args.relayer);
    let stop = CancellationToken::new();
    let relayer = tokio::spawn(veil_relayer::serve(state, listener, {
        let stop = stop.clone();
        async move { stop.cancelled().await }
    }));

    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(&database_url)
        .await
        .map_err(services::ServiceError::from)?;
    let store = PgStore::new(pool.clone(), "veil-stack");
    let grpc_url = net.grpc_url().unwrap_or_default().to_owned();
    let indexer = tokio::spawn(index(
        grpc_url.clone(),
        net.rpc_url().to_owned(),
        store,
        stop.clone(),
    ));
    let metrics = Arc::new(IndexerMetrics::new());
    let api_listener = tokio::net::TcpListener::bind(args.indexer)
        .await
        .map_err(|source| UpError::Listen {
            addr: args.indexer,
            source,
        })?;
    let indexer_addr = api_listener.local_addr().unwrap_or(args.indexer);
    let edge = veil_indexer::api::Edge {
        cors: veil_http_layers::cors::layer(&origins).map_err(|e| UpError::Cors(e.to_string()))?,
        per_client: None,
    };
    let api = tokio::spawn({
        let stop = stop.clone();
        async move {
            axum_serve(
                api_listener,
                veil_indexer::api::app(ApiState::new(pool, metrics).with_edge(edge)),
                stop,
            )
            .await
        }
    });

    let (app_url, prover_url, app_task) = match app_listener {
        Some(listener) => {
            let (app_url, prover_url, task) = serve_app(
                listener,
                &app_dir,
                args.prover_port,
                AppLinks {
                    relayer: format!("http://{relayer_addr}"),
                    indexer: format!("http://{indexer_addr}"),
                    rpc: net.rpc_url().to_owned(),
                    mint,
                },
                data,
                stop.clone(),
            )
            .await?;
            (Some(app_url), Some(prover_url), Some(task))
        }
        None => (None, None, None),
    };

    let session = Session {
        relayer_url: format!("http://{relayer_addr}"),
        indexer_url: format!("http://{indexer_addr}"),
        rpc_url: net.rpc_url().to_owned(),
        ws_url: net.ws_url().to_owned(),
        api_key: key.api_key,
        signing_secret: key.signing_secret,
        mint: mint.to_string(),
        evm: evm.as_ref().map(|(_, s)| s.clone()),
        webhook: webhook.as_ref().map(|(_, s)| s.clone()),
        app_url: app_url.clone(),
        prover_url,
    };
    data.save_session(&session)?;
    println!(
        "  flags       every FF_* feature flag is on (a production relayer starts with them off; GET/PUT /admin/flags)"
    );
    crate::demo::print_guide(&session, data);
    if let Some(url) = &app_url {
        println!();
        println!("Open the app: {url}");
        println!(
            "  (a development wallet in the page, funded by the local faucet; or a browser wallet)"
        );
    }

    tokio::select! {
        _ = shutdown => {}
        _ = stop.cancelled() => {}
    }
    println!("stopping");
    stop.cancel();
    let _ = relayer.await;
    let _ = indexer.await;
    let _ = api.await;
    if let Some(task) = app_task {
        let _ = task.await;
    }
    data.clear_session();
    drop(net);
    drop(evm);
    drop(webhook);
    drop(redis_owned);
    drop(pg_owned);
    Ok(())
}

/// Where the app's pages find the stack.
struct AppLinks {
    relayer: String,
    indexer: String,
    rpc: String,
    mint: Pubkey,
}

/// Serves the app on `listener` and the member's prover for its wallets on 127.0.0.1
/// (`prover_port`; its development proving key is generated first, a few seconds), until
/// `stop`. Their URLs and the task serving both.
async fn serve_app(
    listener: tokio::net::TcpListener,
    app_dir: &std::path::Path,
    prover_port: u16,
    links: AppLinks,
    data: &DataDir,
    stop: CancellationToken,
) -> Result<(String, String, tokio::task::JoinHandle<()>), UpError> {
    let app_addr = listener.local_addr().map_err(|source| UpError::Listen {
        addr: "127.0.0.1:0".parse().expect("an address"),
        source,
    })?;
    let app_url = format!("http://{app_addr}");
    let prover_listener = tokio::net::TcpListener::bind(("127.0.0.1", prover_port))
        .await
        .map_err(|source| UpError::Listen {
            addr: SocketAddr::from(([127, 0, 0, 1], prover_port)),
            source,
        })?;
    let prover_url = format!(
        "http://{}",
        prover_listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], prover_port)))
    );
    let config = serde_json::json!({
        "relayerUrl": links.relayer,
        "indexerUrl": links.indexer,
        "proverUrl": prover_url,
        "rpcUrl": "/rpc",
        "chainId": "solana:localnet",
        "cluster": "the local chain",
        "mint": links.mint.to_string(),
        "decimals": 6,
        "faucet": true,
    });
    let server = Arc::new(crate::app::AppServer {
        config,
        rpc_url: links.rpc,
        issuer: data.wallet("issuer")?,
        mint: links.mint,
        http: reqwest::Client::new(),
    });
    let app = crate::app::router(server, &app_dir.join("dist"));
    let origins = vec![app_url.clone()];
    let task = tokio::spawn(async move {
        let serving_app = axum_serve(listener, app, stop.clone());
        let prover = async {
            let depth = usize::from(veil_zk::vk::TREE_DEPTH);
            let made = tokio::task::spawn_blocking(move || {
                let key = veil_circuits::keys::generate(depth, veil_circuits::keys::DEV_SEED)
                    .map_err(|e| e.to_string())?;
                veil_circuits::prover::Prover::new(key, depth).map_err(|e| e.to_string())
            })
            .await;
            match made {
                Ok(Ok(prover)) => {
                    let state = Arc::new(veil_member::server::ProverState::for_pages(
                        Arc::new(prover),
                        origins,
                    ));
                    axum_serve(
                        prover_listener,
                        veil_member::server::router(state),
                        stop.clone(),
                    )
                    .await;
                }
                Ok(Err(error)) => tracing::error!(%error, "the app's prover did not start"),
                Err(error) => tracing::error!(%error, "the app's prover did not start"),
            }
        };
        tokio::join!(serving_app, prover);
    });
    println!("  app         {app_url}  (the web app; prover for its wallets {prover_url})");
    Ok((app_url, prover_url, task))
}

async fn axum_serve(listener: tokio::net::TcpListener, app: axum::Router, stop: CancellationToken) {
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await;
    if let Err(error) = served {
        tracing::warn!(%error, "indexer API stopped");
    }
}

impl UpArgs {
    /// The defaults (`veil-stack` with no subcommand).
    pub fn parse_defaults() -> Self {
        use clap::Parser;
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            args: UpArgs,
        }
        Only::parse_from(["veil-stack"]).args
    }
}
