//! What the stack's benchmark binaries share: a relayer on a loopback socket with fresh
//! secrets and one API key of every scope, as in production but in this process.

use std::{sync::Arc, time::Duration};

use serde_json::Value;
use solana_keypair::Keypair;
use veil_relayer::{
    platform::auth::{Quota, Scope},
    platform::clock::SystemClock,
    platform::config::Config,
    platform::secrets::{SecretName, StaticSecrets},
    AppState,
};

use crate::client::SignedClient;

/// A relayer serving on 127.0.0.1 until the process ends.
pub struct BenchRelayer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Signs with the bench's key (every scope, a quota no benchmark reaches).
    pub client: SignedClient,
    /// That key's id (the audience of its events).
    pub key_id: String,
}

/// Builds the relayer from `config` with `chain_key` as its chain key and random other
/// secrets, creates its key and serves it. Panics on failure: a benchmark cannot go on.
pub async fn start_relayer(config: Config, chain_key: &Keypair) -> BenchRelayer {
    let random = || hex::encode(rand::random::<[u8; 32]>());
    let secrets = StaticSecrets::default()
        .with(SecretName::VrfKey, &random())
        .with(SecretName::HmacMaster, &random())
        .with(SecretName::ApiKeyPepper, &random())
        .with(SecretName::ChainKey, &hex::encode(chain_key.secret_bytes()));
    let state = AppState::build(config, &secrets, Arc::new(SystemClock))
        .await
        .expect("the relayer builds");
    let key = state
        .auth
        .keys()
        .create(
            "bench",
            &Scope::ALL,
            Quota::try_new(100_000, 100_000).expect("a valid quota"),
        )
        .await
        .expect("the bench key");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(veil_relayer::serve(state, listener, std::future::pending()));
    let base = format!("http://{addr}");
    BenchRelayer {
        client: SignedClient::new(&base, &key.api_key, &key.signing_secret),
        key_id: key.key_id,
        base,
    }
}

// The PostgreSQL and Redis a benchmark uses, flattened into its arguments (a plain comment:
// clap would show a doc comment as the benchmark's own description).
#[derive(Debug, Clone, clap::Args)]
pub struct Services {
    /// PostgreSQL server (no database; the benchmark recreates its own).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pub pg: String,
    /// Redis.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis: String,
}

/// A signed POST that must succeed; its JSON answer.
pub async fn ok(client: &SignedClient, path: &str, body: &Value) -> Value {
    let (status, value) = client
        .call("POST", path, Some(body))
        .await
        .expect("the relayer answers");
    assert!((200..300).contains(&status), "{path}: {status} {value}");
    value
}

/// The `p` quantile (0–1, nearest rank) of `sorted`, in milliseconds.
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1e3
}
