//! `veil-localnet`: a local Solana chain that serves the real JSON-RPC and PubSub WebSocket
//! APIs, with the host-compiled `registry` and `challenge` programs registered as builtins at
//! their program ids (`Anchor.toml`), next to the SPL Token and Associated Token programs the
//! runtime bundles.
//!
//! The engine is surfpool-core 1.6.1, embedded (HARNESS.md): its `SurfnetSvm` is a litesvm
//! instance, on which the programs are registered through `veil-svm-bridge` exactly as in the
//! in-process tests, and its runloop serves JSON-RPC (`sendTransaction`, `getAccountInfo`,
//! `getTransaction` with inner instructions, `getSignaturesForAddress`, `getBlock`, …) and
//! PubSub (`logsSubscribe`, `signatureSubscribe`, …). It runs in `offline_mode`: no account is
//! ever fetched from a remote cluster, so nothing here reaches the network.
//!
//! [`Localnet::start`] runs the chain on a thread of its own and returns once the RPC servers
//! answer; dropping the [`Localnet`] stops it.

use std::{
    net::TcpListener,
    thread::JoinHandle,
    time::{Duration, Instant},
};

use anchor_lang::prelude::Pubkey;
use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};
use surfpool_core::{
    runloops::start_local_surfnet_runloop,
    surfnet::{
        locker::SurfnetSvmLocker,
        svm::{SurfnetSvm, SurfnetSvmConfig},
    },
};
use surfpool_types::{
    BlockProductionMode, RpcConfig, SimnetCommand, SimnetConfig, SimnetEvent, SurfpoolConfig,
};

pub mod geyser;

veil_svm_bridge::native_program!(RegistryProgram, registry::entry);
veil_svm_bridge::native_program!(ChallengeProgram, ::challenge::entry);

/// The programs the chain carries as builtins: `(program id, name)`.
pub const PROGRAMS: [(Pubkey, &str); 2] = [
    (veil_client::registry::PROGRAM_ID, "registry"),
    (veil_client::challenge::PROGRAM_ID, "challenge"),
];

/// How long [`Localnet::start`] waits for the chain to come up.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What the chain is started with.
#[derive(Debug, Clone)]
pub struct LocalnetConfig {
    /// The address the RPC and PubSub servers bind.
    pub host: String,
    /// The JSON-RPC port; 0 picks a free one.
    pub rpc_port: u16,
    /// The PubSub WebSocket port; 0 picks a free one.
    pub ws_port: u16,
    /// Slot duration: one block per slot, produced on a clock.
    pub slot_time: Duration,
    /// Wallets funded at start.
    pub airdrop: Vec<Pubkey>,
    /// Lamports each of them gets.
    pub airdrop_lamports: u64,
    /// The Yellowstone gRPC port ([`geyser`]); 0 picks a free one, `None` serves none.
    pub grpc_port: Option<u16>,
}

impl Default for LocalnetConfig {
    /// `127.0.0.1`, free ports, 100 ms slots, nobody funded, no gRPC endpoint.
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            rpc_port: 0,
            ws_port: 0,
            slot_time: Duration::from_millis(100),
            airdrop: Vec::new(),
            airdrop_lamports: 0,
            grpc_port: None,
        }
    }
}

/// Why the chain did not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalnetError {
    /// No free port could be found (binding port 0 failed).
    #[error("no free port on {host}")]
    Port {
        /// The host.
        host: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The engine could not be created.
    #[error("the chain could not be created: {0}")]
    Create(String),
    /// The chain thread could not be spawned.
    #[error("the chain thread could not be spawned")]
    Spawn(#[source] std::io::Error),
    /// The engine stopped before it was ready, with the error it reported, if any.
    #[error("the chain stopped before it was ready: {0}")]
    Stopped(String),
    /// The engine was not ready within [`START_TIMEOUT`].
    #[error("the chain was not ready within {0:?}")]
    Timeout(Duration),
}

/// A running local chain. Dropping it stops the chain and waits for its thread.
pub struct Localnet {
    rpc_url: String,
    ws_url: String,
    grpc_url: Option<String>,
    commands: Sender<SimnetCommand>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Localnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Localnet")
            .field("rpc_url", &self.rpc_url)
            .field("ws_url", &self.ws_url)
            .finish_non_exhaustive()
    }
}

fn free_port(host: &str) -> Result<u16, LocalnetError> {
    TcpListener::bind((host, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|source| LocalnetError::Port {
            host: host.to_owned(),
            source,
        })
}

impl Localnet {
    /// Starts the chain and returns once its RPC servers are up.
    pub fn start(config: LocalnetConfig) -> Result<Self, LocalnetError> {
        let rpc_port = match config.rpc_port {
            0 => free_port(&config.host)?,
            port => port,
        };
        let ws_port = match config.ws_port {
            0 => free_port(&config.host)?,
            port => port,
        };
        let slot_time = config.slot_time.as_millis().clamp(1, u128::from(u32::MAX)) as u64;
        let (mut svm, events, geyser_events) = SurfnetSvm::new(SurfnetSvmConfig {
            slot_time,
            // Per-instruction profiles re-execute each transaction; nobody reads them here.
            instruction_profiling_enabled: false,
            ..SurfnetSvmConfig::default()
        })
        .map_err(|error| LocalnetError::Create(error.to_string()))?;
        svm.inner
            .svm
            .add_builtin(PROGRAMS[0].0, RegistryProgram::registerer());
        svm.inner
            .svm
            .add_builtin(PROGRAMS[1].0, ChallengeProgram::registerer());
        let surfpool = SurfpoolConfig {
            simnets: vec![SimnetConfig {
                offline_mode: true,
                remote_rpc_url: None,
                slot_time,
                instruction_profiling_enabled: false,
                block_production_mode: BlockProductionMode::Clock,
                airdrop_addresses: config.airdrop.clone(),
                airdrop_token_amount: config.airdrop_lamports,
                ..SimnetConfig::default()
            }],
            rpc: RpcConfig {
                bind_host: config.host.clone(),
                bind_port: rpc_port,
                ws_port,
                ..RpcConfig::default()
            },
            ..SurfpoolConfig::default()
        };
        // surfpool hands its Geyser events to plugins, of which there are none here: the feed
        // takes them instead, and the engine gets a channel that stays empty.
        let feed = geyser::Feed::start(geyser_events).map_err(LocalnetError::Spawn)?;
        let grpc = match config.grpc_port {
            None => None,
            Some(port) => {
                let listener =
                    TcpListener::bind((config.host.as_str(), port)).map_err(|source| {
                        LocalnetError::Port {
                            host: config.host.clone(),
                            source,
                        }
                    })?;
                listener
                    .set_nonblocking(true)
                    .map_err(LocalnetError::Spawn)?;
                Some(listener)
            }
        };
        let grpc_url = match &grpc {
            Some(listener) => Some(format!(
                "http://{}",
                listener.local_addr().map_err(LocalnetError::Spawn)?
            )),
            None => None,
        };
        let (commands, commands_rx) = unbounded();
        let svm = SurfnetSvmLocker::new(svm);
        let thread = {
            let commands = commands.clone();
            std::thread::Builder::new()
                .name("veil-localnet".to_owned())
                .spawn(move || {
                    run(
                        svm,
                        surfpool,
                        commands,
                        commands_rx,
                        grpc.map(|l| (l, feed)),
                    )
                })
                .map_err(LocalnetError::Spawn)?
        };
        let localnet = Self {
            rpc_url: format!("http://{}:{rpc_port}", config.host),
            ws_url: format!("ws://{}:{ws_port}", config.host),
            grpc_url,
            commands,
            thread: Some(thread),
        };
        wait_until_started(&events)?;
        // The engine logs an event per slot and per transaction; nobody else reads them.
        std::thread::Builder::new()
            .name("veil-localnet-events".to_owned())
            .spawn(move || drain(events))
            .map_err(LocalnetError::Spawn)?;
        Ok(localnet)
    }

    /// The JSON-RPC URL (`http://host:port`).
    pub fn rpc_url(&self) -> &str {
        &self.rpc_url
    }

    /// The PubSub WebSocket URL (`ws://host:port`).
    pub fn ws_url(&self) -> &str {
        &self.ws_url
    }

    /// The Yellowstone gRPC endpoint (`http://host:port`), if one was asked for.
    pub fn grpc_url(&self) -> Option<&str> {
        self.grpc_url.as_deref()
    }
}

impl Drop for Localnet {
    fn drop(&mut self) {
        let _ = self.commands.send(SimnetCommand::Terminate(None));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The chain thread: the engine's runloop on a runtime of its own.
fn run(
    svm: SurfnetSvmLocker,
    config: SurfpoolConfig,
    commands: Sender<SimnetCommand>,
    commands_rx: Receiver<SimnetCommand>,
    grpc: Option<(TcpListener, std::sync::Arc<geyser::Feed>)>,
) {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("veil-localnet-rt")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "localnet runtime");
            return;
        }
    };
    if let Some((listener, feed)) = grpc {
        runtime.spawn(async move {
            let incoming = match tokio::net::TcpListener::from_std(listener) {
                Ok(listener) => tonic::transport::server::TcpIncoming::from(listener),
                Err(error) => {
                    tracing::error!(%error, "localnet gRPC listener");
                    return;
                }
            };
            let served = tonic::transport::Server::builder()
                .add_service(
                    yellowstone_grpc_proto::prelude::geyser_server::GeyserServer::new(
                        geyser::Service::new(feed),
                    )
                    .max_decoding_message_size(64 << 20)
                    .max_encoding_message_size(64 << 20),
                )
                .serve_with_incoming(incoming)
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "localnet gRPC endpoint stopped");
            }
        });
    }
    // Never sent to while the engine runs (the sender lives until it returns).
    let (_no_plugins, no_events) = unbounded();
    let ran = runtime.block_on(start_local_surfnet_runloop(
        svm,
        config,
        commands,
        commands_rx,
        no_events,
    ));
    if let Err(error) = ran {
        tracing::error!(error = %error, "localnet stopped");
    }
}

/// Waits for the engine's `CoreStarted` (its RPC servers are up by then).
fn wait_until_started(events: &Receiver<SimnetEvent>) -> Result<(), LocalnetError> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(SimnetEvent::CoreStarted(_)) => return Ok(()),
            Ok(SimnetEvent::ErrorLog(_, message)) => {
                tracing::warn!(%message, "localnet starting");
            }
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => return Err(LocalnetError::Timeout(START_TIMEOUT)),
            Err(RecvTimeoutError::Disconnected) => {
                return Err(LocalnetError::Stopped("the engine exited".to_owned()))
            }
        }
    }
}

/// Logs the engine's errors and drops the rest, until it stops.
fn drain(events: Receiver<SimnetEvent>) {
    while let Ok(event) = events.recv() {
        if let SimnetEvent::ErrorLog(_, message) = event {
            tracing::warn!(%message, "localnet");
        }
    }
}
