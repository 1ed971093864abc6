//! JSON-RPC to EVM networks (`eth_blockNumber`, `eth_getBalance`, `eth_call`), one client per
//! configured network (`RELAYER_EVM_RPC`: `eip155:<chain id>=<url>,…`), each with a timeout,
//! retries with jitter ([`veil_retry`]) and its own circuit breaker.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use serde_json::{json, Value};

use crate::platform::breaker::{BreakerConfig, BreakerState, CircuitBreaker};

/// Why an EVM call failed.
#[derive(Debug, thiserror::Error)]
pub enum EvmRpcError {
    /// The node did not answer (after retries), answered 5xx, or its breaker is open.
    #[error("the RPC of {chain_id} is unavailable ({reason}); its breaker is {}", .breaker.as_str())]
    Unavailable {
        /// CAIP-2.
        chain_id: String,
        /// What failed.
        reason: String,
        /// The breaker after the failure.
        breaker: BreakerState,
        /// When to retry.
        retry_after: Duration,
    },
    /// The node answered with a JSON-RPC error (a revert, an unknown method).
    #[error("the node refused {method}: {message}")]
    Refused {
        /// The method.
        method: &'static str,
        /// The node's message.
        message: String,
    },
}

/// Why `RELAYER_EVM_RPC` is not usable.
#[derive(Debug, thiserror::Error)]
#[error("RELAYER_EVM_RPC entry `{0}` is not `eip155:<chain id>=http(s)://…`")]
pub struct EvmConfigError(pub String);

/// One network's client.
pub struct EvmClient {
    chain_id: String,
    url: String,
    http: reqwest::Client,
    breaker: CircuitBreaker,
    retry: veil_retry::Policy,
}

/// Every configured network, by EIP-155 chain id.
#[derive(Clone, Default)]
pub struct EvmNetworks(Arc<BTreeMap<u64, EvmClient>>);

impl EvmNetworks {
    /// Parses `eip155:<n>=<url>` entries.
    pub fn from_entries(
        entries: &[String],
        timeout: Duration,
        breaker: BreakerConfig,
    ) -> Result<Self, EvmConfigError> {
        let mut out = BTreeMap::new();
        for entry in entries.iter().filter(|e| !e.trim().is_empty()) {
            let bad = || EvmConfigError(entry.clone());
            let (chain, url) = entry.trim().split_once('=').ok_or_else(bad)?;
            let id: u64 = chain
                .strip_prefix("eip155:")
                .and_then(|n| n.parse().ok())
                .filter(|n| *n > 0)
                .ok_or_else(bad)?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(bad());
            }
            let http = reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .map_err(|_| bad())?;
            out.insert(
                id,
                EvmClient {
                    chain_id: format!("eip155:{id}"),
                    url: url.to_owned(),
                    http,
                    breaker: CircuitBreaker::new(format!("evm:{id}"), breaker),
                    retry: veil_retry::Policy::new(
                        Duration::from_millis(100),
                        Duration::from_secs(1),
                        2,
                    ),
                },
            );
        }
        Ok(Self(Arc::new(out)))
    }

    /// The client of `chain_id`, if configured.
    pub fn get(&self, chain_id: u64) -> Option<&EvmClient> {
        self.0.get(&chain_id)
    }
}

/// A 256-bit quantity as 32 bytes, big-endian, from a JSON-RPC hex quantity or word.
pub fn word(hex_text: &str) -> Option<[u8; 32]> {
    let digits = hex_text.strip_prefix("0x")?;
    if digits.is_empty() || digits.len() > 64 {
        return None;
    }
    let padded = format!("{digits:0>64}");
    hex::decode(padded).ok()?.try_into().ok()
}

impl EvmClient {
    /// The breaker's state.
    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    async fn call(&self, method: &'static str, params: Value) -> Result<Value, EvmRpcError> {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let mut delays = self.retry.delays();
        loop {
            let unavailable =
                |reason: String, breaker: &CircuitBreaker, retry_after| EvmRpcError::Unavailable {
                    chain_id: self.chain_id.clone(),
                    reason,
                    breaker: breaker.state(),
                    retry_after,
                };
            let permit = self.breaker.try_acquire().map_err(|open| {
                unavailable(
                    "circuit breaker open".into(),
                    &self.breaker,
                    open.retry_after,
                )
            })?;
            let failure = match self.http.post(&self.url).json(&body).send().await {
                Ok(response) if response.status().is_success() => {
                    match response.json::<Value>().await {
                        Ok(answer) => {
                            permit.record_success();
                            if let Some(error) = answer.get("error") {
                                return Err(EvmRpcError::Refused {
                                    method,
                                    message: error["message"].as_str().unwrap_or("").to_owned(),
                                });
                            }
                            return Ok(answer["result"].clone());
                        }
                        Err(_) => "the answer is not JSON".to_owned(),
                    }
                }
                Ok(response) => format!("HTTP {}", response.status()),
                Err(e) if e.is_timeout() => "timed out".to_owned(),
                Err(_) => "connection failed".to_owned(),
            };
            permit.record_failure();
            match delays.next() {
                Some(delay) if self.breaker.state() == BreakerState::Closed => {
                    tracing::warn!(chain_id = %self.chain_id, method, reason = %failure, "EVM RPC failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                _ => return Err(unavailable(failure, &self.breaker, Duration::from_secs(1))),
            }
        }
    }

    /// The latest block number.
    pub async fn block_number(&self) -> Result<u64, EvmRpcError> {
        let result = self.call("eth_blockNumber", json!([])).await?;
        result
            .as_str()
            .and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok())
            .ok_or(EvmRpcError::Refused {
                method: "eth_blockNumber",
                message: "not a hex quantity".into(),
            })
    }

    /// `address`'s balance in wei at `block`.
    pub async fn balance(&self, address: &str, block: u64) -> Result<[u8; 32], EvmRpcError> {
        let result = self
            .call("eth_getBalance", json!([address, format!("0x{block:x}")]))
            .await?;
        result.as_str().and_then(word).ok_or(EvmRpcError::Refused {
            method: "eth_getBalance",
            message: "not a hex quantity".into(),
        })
    }

    /// The code at `address` at `block` (empty for an account without code).
    pub async fn code(&self, address: &str, block: u64) -> Result<Vec<u8>, EvmRpcError> {
        let result = self
            .call("eth_getCode", json!([address, format!("0x{block:x}")]))
            .await?;
        Ok(result
            .as_str()
            .and_then(|h| hex::decode(h.trim_start_matches("0x")).ok())
            .unwrap_or_default())
    }

    /// `eth_call` of `data` on `to` at `block`: the returned bytes.
    pub async fn call_contract(
        &self,
        to: &str,
        data: &[u8],
        block: u64,
    ) -> Result<Vec<u8>, EvmRpcError> {
        let result = self
            .call(
                "eth_call",
                json!([{ "to": to, "data": format!("0x{}", hex::encode(data)) }, format!("0x{block:x}")]),
            )
            .await?;
        Ok(result
            .as_str()
            .and_then(|h| hex::decode(h.trim_start_matches("0x")).ok())
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_words_parse() {
        let config = BreakerConfig {
            failure_threshold: 3,
            open_for: Duration::from_secs(1),
        };
        let nets = EvmNetworks::from_entries(
            &["eip155:31337=http://127.0.0.1:8545".into()],
            Duration::from_secs(1),
            config,
        )
        .unwrap();
        assert!(nets.get(31337).is_some() && nets.get(1).is_none());
        for bad in [
            "31337=http://x",
            "eip155:0=http://x",
            "eip155:1=ftp://x",
            "eip155:1",
        ] {
            assert!(
                EvmNetworks::from_entries(&[bad.into()], Duration::from_secs(1), config).is_err(),
                "{bad}"
            );
        }
        let w = word("0x10").unwrap();
        assert_eq!(w[31], 16);
        assert!(w[..31].iter().all(|b| *b == 0));
        assert!(
            word("0x").is_none()
                && word("10").is_none()
                && word(&format!("0x{}", "f".repeat(65))).is_none()
        );
    }
}
