//! Typed configuration of `veil-indexer`: clap derive with `INDEXER_*` environment variables,
//! parsed once.

use std::{net::SocketAddr, time::Duration};

use clap::{Parser, ValueEnum};
use veil_indexer::{gaps::LiveConfig, grpc::GrpcConfig, rpc::RpcConfig, RunConfig};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable.
    Text,
    /// One JSON object per line.
    Json,
}

/// Everything the indexer needs.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "veil-indexer",
    version,
    about = "Chitty Veil indexer: program events from a Yellowstone gRPC stream into PostgreSQL, \
             with the analytics API"
)]
pub struct Config {
    /// The Yellowstone Geyser gRPC endpoint.
    #[arg(
        long,
        env = "INDEXER_GRPC_ENDPOINT",
        hide_env_values = true,
        default_value = "http://127.0.0.1:10000"
    )]
    pub grpc_endpoint: String,
    /// The `x-token` the gRPC endpoint wants, if any.
    #[arg(long, env = "INDEXER_GRPC_X_TOKEN", hide_env_values = true)]
    pub grpc_x_token: Option<String>,
    /// Milliseconds a slot's transactions wait for its block meta (their block time).
    #[arg(long, env = "INDEXER_BLOCK_META_WAIT_MS", default_value_t = 400)]
    pub block_meta_wait_ms: u64,
    /// Solana JSON-RPC endpoint for backfills: when the gRPC server cannot replay from the
    /// cursor, or its stream skips blocks, the missing slots are read from here. Without it,
    /// either stops the indexer with the range it could not fill.
    #[arg(long, env = "INDEXER_RPC_URL", hide_env_values = true)]
    pub rpc_url: Option<String>,
    /// Requests per second the backfill may send to the RPC endpoint.
    #[arg(long, env = "INDEXER_RPC_RPS", default_value_t = 20)]
    pub rpc_rps: u32,
    /// PostgreSQL URL.
    #[arg(
        long,
        env = "INDEXER_DATABASE_URL",
        hide_env_values = true,
        default_value = "postgres://postgres@127.0.0.1:5432/veil"
    )]
    pub database_url: String,
    /// The writers' pool size (one connection per writer, plus the cursor reads).
    #[arg(long, env = "INDEXER_DB_MAX_CONNECTIONS", default_value_t = 8)]
    pub db_max_connections: u32,
    /// The analytics API's own pool size: API requests never take the writers' connections.
    #[arg(long, env = "INDEXER_API_DB_CONNECTIONS", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub api_db_connections: u32,
    /// `statement_timeout` of the API's connections, in milliseconds.
    #[arg(long, env = "INDEXER_API_STATEMENT_TIMEOUT_MS", default_value_t = 2_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub api_statement_timeout_ms: u64,
    /// Analytics requests served at once; more are refused with 503 OVERLOADED.
    #[arg(long, env = "INDEXER_API_CONCURRENCY", default_value_t = 16,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub api_concurrency: u64,
    /// Longest an API request may take, in milliseconds (then 503 QUERY_TIMEOUT).
    #[arg(long, env = "INDEXER_API_TIMEOUT_MS", default_value_t = 5_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub api_timeout_ms: u64,
    /// Address the analytics API, `/health` and `/metrics` listen on.
    /// Origins browsers may call the analytics API from (comma-separated; `*` for any).
    /// Empty: no cross-origin caller.
    #[arg(long, env = "INDEXER_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Proxies (CIDRs or addresses) whose `X-Forwarded-For` names the client.
    #[arg(long, env = "INDEXER_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// Requests per second one client address may make, after its burst.
    #[arg(long, env = "INDEXER_PER_IP_PER_SEC", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub per_ip_per_sec: u32,
    /// Requests one client address may make at once.
    #[arg(long, env = "INDEXER_PER_IP_BURST", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub per_ip_burst: u32,
    #[arg(long, env = "INDEXER_LISTEN", default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// At most this many transactions per database transaction.
    #[arg(
        long,
        env = "INDEXER_BATCH_SIZE",
        default_value_t = 1024,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub batch_size: u32,
    /// Batches written at once, each on its own connection; the cursor still only ever ends
    /// a committed prefix of the stream.
    #[arg(
        long,
        env = "INDEXER_WRITERS",
        default_value_t = 2,
        value_parser = clap::value_parser!(u32).range(1..=16)
    )]
    pub writers: u32,
    /// The name of this pipeline's cursor row: one per stream indexed into the database.
    #[arg(long, env = "INDEXER_CURSOR_NAME", default_value = "geyser")]
    pub cursor_name: String,
    /// Log format.
    #[arg(long, env = "INDEXER_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

impl Config {
    /// The gRPC source's configuration.
    pub fn grpc(&self) -> GrpcConfig {
        GrpcConfig {
            x_token: self.grpc_x_token.clone(),
            block_meta_wait: Duration::from_millis(self.block_meta_wait_ms),
            ..GrpcConfig::new(self.grpc_endpoint.clone())
        }
    }

    /// Live gRPC with RPC backfills, if an RPC endpoint is configured.
    pub fn live(&self) -> Option<LiveConfig> {
        let url = self.rpc_url.clone()?;
        let rpc = RpcConfig {
            max_requests_per_second: Some(self.rpc_rps.max(1)),
            ..RpcConfig::new(url)
        };
        Some(LiveConfig {
            run: self.run_config(),
            ..LiveConfig::new(self.grpc(), rpc)
        })
    }

    /// The analytics API's load limits.
    pub fn api_limits(&self) -> veil_indexer::api::ApiLimits {
        veil_indexer::api::ApiLimits {
            concurrency: usize::try_from(self.api_concurrency).unwrap_or(usize::MAX),
            request_timeout: Duration::from_millis(self.api_timeout_ms),
        }
    }

    /// CORS and the limit per client address; an unusable origin or proxy says which.
    pub fn api_edge(&self) -> Result<veil_indexer::api::Edge, String> {
        use veil_http_layers::{client, cors, gcra::Quota};
        let cors =
            cors::layer(&self.cors_origins).map_err(|e| format!("INDEXER_CORS_ORIGINS: {e}"))?;
        let trusted = client::parse_trusted(&self.trusted_proxies)
            .map_err(|e| format!("INDEXER_TRUSTED_PROXIES: {e}"))?;
        let quota = Quota::try_new(self.per_ip_per_sec, self.per_ip_burst)
            .ok_or("INDEXER_PER_IP_PER_SEC and INDEXER_PER_IP_BURST must be at least 1")?;
        Ok(veil_indexer::api::Edge {
            cors,
            per_client: Some(client::PerClientLimit::new(
                quota,
                trusted,
                veil_indexer::api::rate_limited,
            )),
        })
    }

    /// The pipeline's batching.
    pub fn run_config(&self) -> RunConfig {
        RunConfig {
            max_batch_txs: self.batch_size as usize,
            writers: self.writers as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every argument read from an environment variable that can carry a credential (a URL,
    /// a key, a token) hides its value in `--help` (audit finding 14).
    #[test]
    fn help_never_prints_credential_values() {
        fn walk(command: &clap::Command, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let Some(env) = arg.get_env().and_then(|e| e.to_str()) else {
                    continue;
                };
                let sensitive = ["_URL", "API_KEY", "_TOKEN", "PASSWORD", "_ENDPOINT"]
                    .iter()
                    .any(|s| env.contains(s));
                if sensitive && !arg.is_hide_env_values_set() {
                    missing.push(format!("{} {}", command.get_name(), env));
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&<Config as clap::CommandFactory>::command(), &mut missing);
        assert!(
            missing.is_empty(),
            "env values shown in --help: {missing:?}"
        );
    }

    #[test]
    fn config_parses_flags_and_defaults() {
        let config = Config::try_parse_from([
            "veil-indexer",
            "--grpc-endpoint",
            "https://geyser.example:443",
            "--grpc-x-token",
            "secret",
            "--database-url",
            "postgres://indexer@db/veil",
            "--listen",
            "0.0.0.0:9000",
            "--batch-size",
            "256",
            "--writers",
            "3",
            "--cursor-name",
            "mainnet",
            "--log-format",
            "json",
            "--rpc-url",
            "http://127.0.0.1:8899",
            "--rpc-rps",
            "5",
        ])
        .expect("valid flags");
        assert_eq!(config.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.database_url, "postgres://indexer@db/veil");
        assert_eq!(config.cursor_name, "mainnet");
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(
            config.run_config(),
            RunConfig {
                max_batch_txs: 256,
                writers: 3
            }
        );
        let grpc = config.grpc();
        assert_eq!(grpc.endpoint, "https://geyser.example:443");
        assert_eq!(grpc.x_token.as_deref(), Some("secret"));
        assert_eq!(grpc.block_meta_wait, Duration::from_millis(400));
        assert_eq!(grpc.programs.len(), 2);
        let live = config
            .live()
            .expect("an RPC endpoint makes the pipeline live");
        assert_eq!(live.rpc.url, "http://127.0.0.1:8899");
        assert_eq!(live.rpc.max_requests_per_second, Some(5));
        assert_eq!(live.run, config.run_config());
        assert_eq!(live.grpc.endpoint, "https://geyser.example:443");

        // Without flags (and no `INDEXER_*` set) the defaults apply; a zero batch is refused.
        let defaults = Config::try_parse_from(["veil-indexer"]).expect("defaults");
        assert_eq!(
            defaults.run_config(),
            RunConfig {
                max_batch_txs: 1024,
                writers: 2
            }
        );
        assert_eq!(defaults.grpc_x_token, None);
        assert!(defaults.live().is_none());
        assert!(Config::try_parse_from(["veil-indexer", "--batch-size", "0"]).is_err());
        assert!(Config::try_parse_from(["veil-indexer", "--writers", "0"]).is_err());
    }
}
