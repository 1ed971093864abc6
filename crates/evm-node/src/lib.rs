//! A real EVM node on 127.0.0.1 for the tests and `veil-stack`: Hardhat Network, installed from
//! the npm registry into `evm/node_modules` (pinned by `evm/package-lock.json`) and started by
//! `scripts/evm-node.sh`, each node a fresh chain (id 31337) on its own port. ERC-20s are
//! OpenZeppelin 4.9.6's published `ERC20PresetFixedSupply` artifact, deployed with
//! `eth_sendTransaction` from Hardhat's unlocked development account #0: nothing is compiled.
//!
//! Hardhat's development accounts are public knowledge; never fund them on a real network.

use std::{
    os::unix::process::CommandExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{json, Value};

/// The chain id of every node (`eip155:31337`).
pub const CHAIN_ID: u64 = 31_337;
/// Hardhat's development account #0 (unlocked on the node; it deploys).
pub const DEPLOYER: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
/// Hardhat's development account #1's private key: a wallet with 10,000 ETH.
pub const RICH_KEY: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/// Its address.
pub const RICH_ADDRESS: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

/// Why the node could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EvmNodeError {
    /// `scripts/evm-node.sh install` failed (npm missing, or the registry unreachable).
    #[error("installing the EVM node failed ({0}): it needs Node.js ≥ 18 and npm (apt-get install nodejs npm) and the npm registry")]
    Install(String),
    /// The node process could not start.
    #[error("starting the EVM node: {0}")]
    Spawn(#[source] std::io::Error),
    /// It did not answer in time.
    #[error("the EVM node did not answer on port {0} within 60 s")]
    Timeout(u16),
    /// A JSON-RPC call failed.
    #[error("EVM node: {method}: {detail}")]
    Rpc {
        /// The method.
        method: String,
        /// What went wrong.
        detail: String,
    },
    /// The ERC-20 artifact is missing or malformed.
    #[error("the ERC-20 artifact {path}: {detail}")]
    Artifact {
        /// Where it should be.
        path: String,
        /// What is wrong.
        detail: String,
    },
}

/// The repository's root (this crate is `crates/evm-node`).
fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn script() -> PathBuf {
    repo().join("scripts/evm-node.sh")
}

/// Installs the node unless it is (`npm ci` into `evm/node_modules`), once per process.
pub fn install() -> Result<(), EvmNodeError> {
    static INSTALLED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if *installed {
        return Ok(());
    }
    let status = Command::new("bash")
        .arg(script())
        .arg("install")
        .status()
        .map_err(|e| EvmNodeError::Install(e.to_string()))?;
    if !status.success() {
        return Err(EvmNodeError::Install(status.to_string()));
    }
    *installed = true;
    Ok(())
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(8545)
}

/// A running node; killed (with its process group) on drop.
pub struct EvmNode {
    child: Option<Child>,
    /// Its port.
    pub port: u16,
    http: reqwest::Client,
}

impl EvmNode {
    /// Starts a node on a free port and waits until it answers.
    pub async fn start() -> Result<Self, EvmNodeError> {
        Self::start_on(free_port()).await
    }

    /// Starts a node on `port` (a fresh chain) and waits until it answers.
    pub async fn start_on(port: u16) -> Result<Self, EvmNodeError> {
        install()?;
        let child = Command::new("bash")
            .arg(script())
            .arg("serve")
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(EvmNodeError::Spawn)?;
        let mut node = Self {
            child: Some(child),
            port,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
        };
        let started = Instant::now();
        while node.rpc("eth_chainId", json!([])).await.is_err() {
            let exited = node
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || started.elapsed() > Duration::from_secs(60) {
                node.kill();
                return Err(EvmNodeError::Timeout(port));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(node)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One JSON-RPC call's result.
    pub async fn rpc(&self, method: &str, params: Value) -> Result<Value, EvmNodeError> {
        let fail = |detail: String| EvmNodeError::Rpc {
            method: method.to_owned(),
            detail,
        };
        let answer: Value = self
            .http
            .post(self.url())
            .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }))
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?
            .json()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if let Some(error) = answer.get("error") {
            return Err(fail(error.to_string()));
        }
        Ok(answer["result"].clone())
    }

    /// Sends `tx` from an unlocked account and waits for its successful receipt.
    pub async fn send(&self, tx: Value) -> Result<Value, EvmNodeError> {
        let hash = self.rpc("eth_sendTransaction", json!([tx])).await?;
        let receipt = self.rpc("eth_getTransactionReceipt", json!([hash])).await?;
        if receipt["status"] != "0x1" {
            return Err(EvmNodeError::Rpc {
                method: "eth_sendTransaction".into(),
                detail: format!("reverted: {receipt}"),
            });
        }
        Ok(receipt)
    }

    /// Deploys OpenZeppelin's `ERC20PresetFixedSupply(name, symbol, supply, owner)` (18
    /// decimals) from its published artifact; the contract's address.
    pub async fn deploy_erc20(
        &self,
        name: &str,
        symbol: &str,
        supply: u128,
        owner: &str,
    ) -> Result<String, EvmNodeError> {
        let path = repo().join(
            "evm/node_modules/@openzeppelin/contracts/build/contracts/ERC20PresetFixedSupply.json",
        );
        let bad = |detail: String| EvmNodeError::Artifact {
            path: path.display().to_string(),
            detail,
        };
        let artifact: Value = serde_json::from_slice(
            &std::fs::read(&path).map_err(|e| bad(format!("{e} (scripts/evm-node.sh install)")))?,
        )
        .map_err(|e| bad(e.to_string()))?;
        let mut data = artifact["bytecode"]
            .as_str()
            .and_then(|b| hex::decode(b.trim_start_matches("0x")).ok())
            .ok_or_else(|| bad("no hex `bytecode`".into()))?;
        let owner = address_bytes(owner).ok_or_else(|| EvmNodeError::Rpc {
            method: "deploy".into(),
            detail: format!("`{owner}` is not an address"),
        })?;
        data.extend(constructor_args(name, symbol, supply, &owner));
        let receipt = self
            .send(json!({
                "from": DEPLOYER,
                "data": format!("0x{}", hex::encode(data)),
                "gas": "0x500000",
            }))
            .await?;
        receipt["contractAddress"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| EvmNodeError::Rpc {
                method: "eth_getTransactionReceipt".into(),
                detail: format!("no contractAddress: {receipt}"),
            })
    }

    /// Moves `amount` base units of `token` from `from` (unlocked) to `to`.
    pub async fn transfer_erc20(
        &self,
        token: &str,
        from: &str,
        to: &str,
        amount: u128,
    ) -> Result<(), EvmNodeError> {
        let to = address_bytes(to).ok_or_else(|| EvmNodeError::Rpc {
            method: "transfer".into(),
            detail: format!("`{to}` is not an address"),
        })?;
        // transfer(address,uint256)
        let mut data = vec![0xa9, 0x05, 0x9c, 0xbb];
        let mut word = [0u8; 32];
        word[12..].copy_from_slice(&to);
        data.extend(word);
        data.extend(uint_word(amount));
        self.send(json!({ "from": from, "to": token, "data": format!("0x{}", hex::encode(data)) }))
            .await
            .map(|_| ())
    }

    /// Stops the node (kill -9 of its process group).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // `--`: procps' kill would read `-<pgid>` as an option and kill nothing.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for EvmNode {
    fn drop(&mut self) {
        self.kill();
    }
}

fn address_bytes(address: &str) -> Option<[u8; 20]> {
    hex::decode(address.strip_prefix("0x")?)
        .ok()?
        .try_into()
        .ok()
}

fn uint_word(value: u128) -> [u8; 32] {
    let mut word = [0u8; 32];
    word[16..].copy_from_slice(&value.to_be_bytes());
    word
}

/// ABI encoding of `(string, string, uint256, address)`.
fn constructor_args(name: &str, symbol: &str, supply: u128, owner: &[u8; 20]) -> Vec<u8> {
    fn length(n: usize) -> [u8; 32] {
        uint_word(n as u128)
    }
    fn string(s: &str) -> Vec<u8> {
        let mut out = length(s.len()).to_vec();
        out.extend_from_slice(s.as_bytes());
        out.resize(32 + s.len().div_ceil(32) * 32, 0);
        out
    }
    let (name, symbol) = (string(name), string(symbol));
    let mut out = Vec::new();
    out.extend(length(4 * 32));
    out.extend(length(4 * 32 + name.len()));
    out.extend(uint_word(supply));
    let mut owner_word = [0u8; 32];
    owner_word[12..].copy_from_slice(owner);
    out.extend(owner_word);
    out.extend(name);
    out.extend(symbol);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructor_arguments_are_head_then_tail() {
        let owner = [0x11; 20];
        let encoded = constructor_args("Veil", "VEIL", 5, &owner);
        // Four head words, then each string's length word and one padded data word.
        assert_eq!(encoded.len(), 4 * 32 + 2 * 64);
        assert_eq!(encoded[31], 128);
        assert_eq!(encoded[63], 192);
        assert_eq!(encoded[95], 5);
        assert_eq!(&encoded[108..128], &owner);
        assert_eq!(encoded[159], 4);
        assert_eq!(&encoded[160..164], b"Veil");
        assert_eq!(&encoded[224..228], b"VEIL");
    }
}
