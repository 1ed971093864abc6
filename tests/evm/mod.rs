//! A real EVM node for the tests: Hardhat Network from the npm registry, installed and started
//! by `scripts/evm-node.sh`, one per test on its own port, with an ERC-20 deployed from
//! `@openzeppelin/contracts`' published build artifacts (no compiler).

mod funds;

use std::{
    os::unix::process::CommandExt,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{json, Value};

/// Hardhat's public development account #0 (unlocked on the node; it deploys).
pub const DEPLOYER: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
/// Hardhat's public development account #1's key: a wallet with 10,000 ETH.
pub const RICH_KEY: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

fn script() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/evm-node.sh").to_owned()
}

/// Installs the node once per test process (`npm ci` into `evm/node_modules`).
fn install() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let status = Command::new("bash")
            .arg(script())
            .arg("install")
            .status()
            .expect("bash runs scripts/evm-node.sh");
        assert!(
            status.success(),
            "scripts/evm-node.sh install failed: {status}"
        );
    });
}

/// A running node; killed on drop.
pub struct EvmNode {
    child: Option<Child>,
    /// Its port.
    pub port: u16,
    http: reqwest::Client,
}

impl EvmNode {
    /// Starts a node on a free port and waits until it answers.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(port).await
    }

    /// Starts a node on `port` (a fresh chain) and waits until it answers.
    pub async fn start_on(port: u16) -> Self {
        install();
        let child = Command::new("bash")
            .arg(script())
            .arg("serve")
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start the EVM node");
        let node = Self {
            child: Some(child),
            port,
            http: reqwest::Client::new(),
        };
        let started = Instant::now();
        while node.rpc("eth_chainId", json!([])).await.is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the EVM node did not start"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        node
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One JSON-RPC call; `None` if the node did not answer.
    pub async fn rpc(&self, method: &str, params: Value) -> Option<Value> {
        let answer: Value = self
            .http
            .post(self.url())
            .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        assert!(answer.get("error").is_none(), "{method}: {answer}");
        Some(answer["result"].clone())
    }

    /// Deploys OpenZeppelin's `ERC20PresetFixedSupply(name, symbol, supply, owner)` from its
    /// published artifact; the contract's address.
    pub async fn deploy_erc20(
        &self,
        name: &str,
        symbol: &str,
        supply: u128,
        owner: &str,
    ) -> String {
        let artifact: Value = serde_json::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../evm/node_modules/@openzeppelin/contracts/build/contracts/ERC20PresetFixedSupply.json"
            ))
            .expect("the artifact is installed by scripts/evm-node.sh"),
        )
        .unwrap();
        let mut data = hex::decode(
            artifact["bytecode"]
                .as_str()
                .unwrap()
                .trim_start_matches("0x"),
        )
        .unwrap();
        data.extend(abi_constructor(name, symbol, supply, owner));
        let hash = self
            .rpc(
                "eth_sendTransaction",
                json!([{ "from": DEPLOYER, "data": format!("0x{}", hex::encode(data)), "gas": "0x500000" }]),
            )
            .await
            .unwrap();
        let receipt = self
            .rpc("eth_getTransactionReceipt", json!([hash]))
            .await
            .unwrap();
        assert_eq!(receipt["status"], "0x1", "{receipt}");
        receipt["contractAddress"].as_str().unwrap().to_owned()
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

/// ABI encoding of `(string, string, uint256, address)`.
fn abi_constructor(name: &str, symbol: &str, supply: u128, owner: &str) -> Vec<u8> {
    fn word_u(n: usize) -> [u8; 32] {
        let mut w = [0u8; 32];
        w[24..].copy_from_slice(&(n as u64).to_be_bytes());
        w
    }
    fn string(s: &str) -> Vec<u8> {
        let mut out = word_u(s.len()).to_vec();
        out.extend_from_slice(s.as_bytes());
        out.resize(32 + s.len().div_ceil(32) * 32, 0);
        out
    }
    let (name, symbol) = (string(name), string(symbol));
    let mut out = Vec::new();
    out.extend(word_u(4 * 32));
    out.extend(word_u(4 * 32 + name.len()));
    let mut supply_word = [0u8; 32];
    supply_word[16..].copy_from_slice(&supply.to_be_bytes());
    out.extend(supply_word);
    let mut owner_word = [0u8; 32];
    owner_word[12..].copy_from_slice(&hex::decode(owner.trim_start_matches("0x")).unwrap());
    out.extend(owner_word);
    out.extend(name);
    out.extend(symbol);
    out
}
