//! The stack's data directory: the relayer's secrets, the demo wallets, and what a running
//! stack tells its demo client (URLs, the API key, the demo token).
//!
//! ```text
//! <data>/secrets/{vrf_key,hmac_master,api_key_pepper,chain_key}   hex, generated once
//! <data>/wallets/{issuer,alice,bob,arbiter}                        Ed25519 seeds, hex
//! <data>/session.json                                              written by `up`
//! <data>/postgres, <data>/redis                                    only if the stack runs them
//! ```

use std::path::{Path, PathBuf};

use rand::RngCore;
use serde::{Deserialize, Serialize};
use solana_keypair::Keypair;

/// The demo wallets.
pub const WALLETS: [&str; 4] = ["issuer", "alice", "bob", "arbiter"];
/// The demo's EVM wallet (a secp256k1 key, hex), in `wallets/`: carol signs in with EIP-4361.
pub const EVM_WALLET: &str = "carol-evm";

/// The relayer secrets the stack generates.
pub const SECRETS: [&str; 4] = ["vrf_key", "hmac_master", "api_key_pepper", "chain_key"];

/// Why the data directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file does not hold what it should.
    #[error("{path} is malformed: {what}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// No stack has been started with this data directory.
    #[error("no running stack: {0} is missing (start one with `veil-stack up`)")]
    NoSession(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `bytes` to `path`, readable by its owner only (keys, the API key's secret).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(bytes).map_err(io(path))
}

/// What `up` tells the demo client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// The relayer's base URL.
    pub relayer_url: String,
    /// The indexer's analytics API base URL.
    pub indexer_url: String,
    /// The chain's JSON-RPC URL.
    pub rpc_url: String,
    /// The chain's PubSub URL.
    pub ws_url: String,
    /// An API key with every scope.
    pub api_key: String,
    /// Its HMAC signing secret (hex).
    pub signing_secret: String,
    /// The demo token's mint (base58); alice and bob hold it.
    pub mint: String,
    /// The local EVM node, when it runs.
    #[serde(default)]
    pub evm: Option<EvmSession>,
    /// The webhook receiver and the demo key's endpoint, when it runs.
    #[serde(default)]
    pub webhook: Option<WebhookSession>,
    /// The web app's URL, when it is served.
    #[serde(default)]
    pub app_url: Option<String>,
    /// The member's prover for the app's wallets, when it runs.
    #[serde(default)]
    pub prover_url: Option<String>,
}

/// The stack's webhook receiver and the endpoint that delivers to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookSession {
    /// The receiver's base URL.
    pub receiver_url: String,
    /// Its hook's name (`demo`).
    pub hook: String,
    /// The demo key's endpoint, subscribed to every event type.
    pub endpoint_id: String,
}

/// The local EVM node as `up` started it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvmSession {
    /// Its JSON-RPC URL.
    pub rpc_url: String,
    /// CAIP-2 (`eip155:31337`).
    pub chain_id: String,
    /// The demo ERC-20 (`VUSD`, 18 decimals); carol holds 250 of it.
    pub token: String,
}

/// The data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    /// Its path.
    pub root: PathBuf,
}

impl DataDir {
    /// Opens (creating) `root`, with every secret and wallet generated once.
    pub fn open(root: &Path) -> Result<Self, DataError> {
        let data = Self {
            root: root.to_owned(),
        };
        // Keys, wallets and the services' passwords: directories only their owner can enter.
        // (The data directory itself stays traversable: the stack's own PostgreSQL cluster,
        // run as the `postgres` user when the stack runs as root, lives in it.)
        for dir in [
            data.secrets_dir(),
            data.root.join("wallets"),
            data.root.join("services"),
        ] {
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(io(&dir))?;
            }
        }
        for name in SECRETS {
            data.ensure_random(&data.secrets_dir().join(name))?;
        }
        for name in WALLETS.iter().chain([&EVM_WALLET]) {
            data.ensure_random(&data.root.join("wallets").join(name))?;
        }
        Ok(data)
    }

    /// Where the relayer's file secrets are.
    pub fn secrets_dir(&self) -> PathBuf {
        self.root.join("secrets")
    }

    fn ensure_random(&self, path: &Path) -> Result<(), DataError> {
        if path.exists() {
            return Ok(());
        }
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        write_private(path, hex::encode(bytes).as_bytes())
    }

    fn seed(path: &Path) -> Result<[u8; 32], DataError> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| DataError::Malformed {
                path: path.to_owned(),
                what: "not 32 bytes of hex".into(),
            })
    }

    /// The relayer's chain key.
    pub fn chain_key(&self) -> Result<Keypair, DataError> {
        Ok(Keypair::new_from_array(Self::seed(
            &self.secrets_dir().join("chain_key"),
        )?))
    }

    /// A demo wallet.
    pub fn wallet(&self, name: &str) -> Result<Keypair, DataError> {
        Ok(Keypair::new_from_array(Self::seed(
            &self.root.join("wallets").join(name),
        )?))
    }

    /// The demo's EVM wallet key (secp256k1).
    pub fn evm_wallet(&self) -> Result<k256::ecdsa::SigningKey, DataError> {
        let path = self.root.join("wallets").join(EVM_WALLET);
        k256::ecdsa::SigningKey::from_slice(&Self::seed(&path)?).map_err(|_| DataError::Malformed {
            path,
            what: "not a secp256k1 private key".into(),
        })
    }

    fn session_path(&self) -> PathBuf {
        self.root.join("session.json")
    }

    /// Records the running stack.
    pub fn save_session(&self, session: &Session) -> Result<(), DataError> {
        let path = self.session_path();
        let json = serde_json::to_vec_pretty(session).map_err(|e| DataError::Malformed {
            path: path.clone(),
            what: e.to_string(),
        })?;
        write_private(&path, &json)
    }

    /// The running stack, as `up` recorded it.
    pub fn session(&self) -> Result<Session, DataError> {
        let path = self.session_path();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(DataError::NoSession(path))
            }
            Err(e) => return Err(io(&path)(e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| DataError::Malformed {
            path,
            what: e.to_string(),
        })
    }

    /// Forgets the session (the stack stopped).
    pub fn clear_session(&self) {
        let _ = std::fs::remove_file(self.session_path());
    }

    /// A file the demo client keeps between steps.
    pub fn demo_file(&self, name: &str) -> PathBuf {
        self.root.join(format!("demo-{name}.json"))
    }
}
