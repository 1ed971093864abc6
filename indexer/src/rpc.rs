//! The RPC backfill source: Solana JSON-RPC `getSignaturesForAddress`, `getBlock` and
//! `getTransaction` over a slot range, into [`Update`]s.
//!
//! For each program (registry and challenge), [`RpcBackfill`] pages the program's signatures
//! newest first (`before` = the last signature of the previous page, `until` = an optional
//! lower bound, `limit` ≤ 1000, confirmed commitment) down to the range's first slot, keeps
//! those inside `[from_slot, to_slot]`, merges both programs and drops duplicates by
//! signature. It then fetches each successful transaction with `getTransaction`
//! (`encoding: "json"`, `maxSupportedTransactionVersion: 0`) and delivers it in ascending
//! order. A transaction whose listing already shows an error is delivered as failed without
//! being fetched: decode skips failed transactions anyway.
//!
//! **Order and index.** Neither listing nor transaction tells a transaction's position in its
//! block, which orders the events of one slot (a challenge's status changes, the cursor). For
//! every slot that holds listed transactions the backfill therefore reads the block's
//! signatures in block order (`getBlock` with `transactionDetails: "signatures"`, no rewards,
//! confirmed) and uses each transaction's position there as its `index_in_slot`, exactly the
//! index a Geyser stream gives. A listed signature missing from its block is an error
//! ([`RpcError::NotInBlock`]), as is a block the node no longer has
//! ([`RpcError::BlockUnavailable`]).
//!
//! The requests go through [`RpcClient`]: plain `reqwest` with a per-request timeout, a
//! requests-per-second limit, and retries with exponential backoff and jitter on transport errors, HTTP
//! 429 and 5xx. JSON-RPC errors are not retried.
//!
//! Like the gRPC source, the work runs in a task that feeds a bounded channel, so
//! [`Source::next`] is cancel-safe; dropping the source stops the task.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use anchor_lang::prelude::Pubkey;
use futures::StreamExt;
use serde::{de::DeserializeOwned, Deserialize};
use serde_json::{json, Value};
use tokio::{
    sync::{mpsc, Mutex},
    task::JoinHandle,
    time::Instant,
};

use crate::source::{InnerIx, Source, SourceError, TxUpdate, Update};

/// The largest `limit` `getSignaturesForAddress` accepts.
pub const MAX_PAGE_LIMIT: usize = 1000;

/// Where and how [`RpcBackfill`] asks.
#[derive(Debug, Clone)]
pub struct RpcConfig {
    /// The JSON-RPC endpoint, such as `http://127.0.0.1:8899`.
    pub url: String,
    /// The programs whose transactions are wanted.
    pub programs: Vec<Pubkey>,
    /// Signatures per `getSignaturesForAddress` page (1 to [`MAX_PAGE_LIMIT`]).
    pub page_limit: usize,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// Retries of one request after a transport error, HTTP 429 or 5xx (0: no retry).
    pub max_retries: u32,
    /// The first retry delay; each retry doubles it, plus jitter ([`veil_retry::Policy`]).
    pub backoff_initial: Duration,
    /// The longest retry delay.
    pub backoff_max: Duration,
    /// At most this many requests per second (retries included); `None`: no limit.
    pub max_requests_per_second: Option<u32>,
    /// `getTransaction` requests in flight at once (order is kept).
    pub concurrency: usize,
    /// Updates buffered between the backfill task and the pipeline.
    pub channel_capacity: usize,
}

impl RpcConfig {
    /// Defaults for `url`: both programs, pages of 1000, 10 s timeout, 5 retries from 200 ms
    /// to 5 s, 10 requests per second, 4 in flight.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            programs: vec![
                veil_client::registry::PROGRAM_ID,
                veil_client::challenge::PROGRAM_ID,
            ],
            page_limit: MAX_PAGE_LIMIT,
            request_timeout: Duration::from_secs(10),
            max_retries: 5,
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_secs(5),
            max_requests_per_second: Some(10),
            concurrency: 4,
            channel_capacity: 1024,
        }
    }
}

/// The slots a backfill covers, both ends included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRange {
    /// The first slot.
    pub from_slot: u64,
    /// The last slot.
    pub to_slot: u64,
    /// A signature at or before `from_slot` known to be indexed: paging stops there (`until`).
    pub until: Option<String>,
}

impl SlotRange {
    /// `[from_slot, to_slot]`, no `until`.
    pub fn new(from_slot: u64, to_slot: u64) -> Self {
        Self {
            from_slot,
            to_slot,
            until: None,
        }
    }
}

/// Why the backfill failed.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// `from_slot` is after `to_slot`.
    #[error("empty slot range {from_slot}..={to_slot}")]
    EmptyRange {
        /// The first slot asked for.
        from_slot: u64,
        /// The last slot asked for.
        to_slot: u64,
    },
    /// `page_limit` is 0 or above [`MAX_PAGE_LIMIT`].
    #[error("page limit {0} outside 1..=1000")]
    PageLimit(usize),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The request failed in transport on every attempt.
    #[error("{method}: transport failed after {attempts} attempts")]
    Transport {
        /// The JSON-RPC method.
        method: &'static str,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an HTTP error status (the last one, if retried).
    #[error("{method}: HTTP {status} after {attempts} attempts")]
    Http {
        /// The JSON-RPC method.
        method: &'static str,
        /// The HTTP status code.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// The server answered with a JSON-RPC error object.
    #[error("{method}: JSON-RPC error {code}: {message}")]
    Rpc {
        /// The JSON-RPC method.
        method: &'static str,
        /// The error code.
        code: i64,
        /// The server's message.
        message: String,
    },
    /// The body is not the response shape of the method.
    #[error("{method}: malformed response")]
    Malformed {
        /// The JSON-RPC method.
        method: &'static str,
        /// What did not parse.
        #[source]
        source: serde_json::Error,
    },
    /// `getTransaction` answered `null` for a signature the listing returned.
    #[error("transaction {0} not found")]
    NotFound(String),
    /// `getBlock` answered `null` for a slot the listing named.
    #[error("block {slot} is not available")]
    BlockUnavailable {
        /// The slot.
        slot: u64,
    },
    /// A listed signature is not among its block's signatures.
    #[error("transaction {signature} is not in block {slot}")]
    NotInBlock {
        /// The slot the listing gave.
        slot: u64,
        /// The signature.
        signature: String,
    },
    /// A fetched transaction could not be converted.
    #[error("transaction {signature} cannot be converted")]
    Convert {
        /// Its signature.
        signature: String,
        /// What is wrong with it.
        #[source]
        source: ConvertError,
    },
}

/// Why a `getTransaction` result could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// It has no meta.
    #[error("the transaction lacks its meta")]
    MissingMeta,
    /// An account key is not a base58 public key.
    #[error("account key {0:?} is not a public key")]
    Key(String),
    /// Inner-instruction data is not base58.
    #[error("inner instruction data is not base58")]
    Data(#[source] bs58::decode::Error),
    /// An index (of a key or an instruction) is out of range.
    #[error("{what} index {index} out of range")]
    Index {
        /// What the index points into.
        what: &'static str,
        /// The index.
        index: u64,
    },
}

/// One entry of a `getSignaturesForAddress` result.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureInfo {
    /// The signature, base58.
    pub signature: String,
    /// Its slot.
    pub slot: u64,
    /// The transaction error, `null` on success.
    pub err: Option<Value>,
    /// The block's unix time, if known.
    pub block_time: Option<i64>,
}

/// A `getTransaction` result (`encoding: "json"`), the parts the indexer reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcTransaction {
    /// The slot it landed in.
    pub slot: u64,
    /// The block's unix time, if known.
    pub block_time: Option<i64>,
    /// Its status meta.
    pub meta: Option<RpcMeta>,
    /// The transaction itself.
    pub transaction: RpcTx,
}

/// `meta` of a `getTransaction` result.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcMeta {
    /// The transaction error, `null` on success.
    pub err: Option<Value>,
    /// The CPIs of each top-level instruction (`null` when not recorded).
    pub inner_instructions: Option<Vec<RpcInnerInstructions>>,
    /// Addresses loaded from lookup tables (absent for legacy transactions).
    pub loaded_addresses: Option<RpcLoadedAddresses>,
}

/// One `meta.innerInstructions` entry.
#[derive(Debug, Clone, Deserialize)]
pub struct RpcInnerInstructions {
    /// The index of the top-level instruction.
    pub index: u64,
    /// Its CPIs, in order.
    pub instructions: Vec<RpcCompiledInstruction>,
}

/// A compiled instruction (`programIdIndex`, base58 `data`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcCompiledInstruction {
    /// Index of the program in the account keys.
    pub program_id_index: u64,
    /// Instruction data, base58.
    pub data: String,
}

/// `meta.loadedAddresses`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RpcLoadedAddresses {
    /// Writable addresses, base58.
    #[serde(default)]
    pub writable: Vec<String>,
    /// Read-only addresses, base58.
    #[serde(default)]
    pub readonly: Vec<String>,
}

/// `transaction` of a `getTransaction` result.
#[derive(Debug, Clone, Deserialize)]
pub struct RpcTx {
    /// Its signatures, base58; the first one names it.
    pub signatures: Vec<String>,
    /// Its message.
    pub message: RpcMessage,
}

/// `transaction.message`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcMessage {
    /// The static account keys, base58.
    pub account_keys: Vec<String>,
    /// The top-level instructions (only their count is read).
    pub instructions: Vec<serde::de::IgnoredAny>,
}

/// Converts a `getTransaction` result into a [`TxUpdate`] at `index_in_slot`: each inner
/// instruction's program is resolved against the static account keys followed by the loaded
/// writable, then read-only, addresses, as the runtime orders them.
pub fn convert(tx: RpcTransaction, index_in_slot: u32) -> Result<TxUpdate, ConvertError> {
    let meta = tx.meta.ok_or(ConvertError::MissingMeta)?;
    let loaded = meta.loaded_addresses.unwrap_or_default();
    let keys = tx
        .transaction
        .message
        .account_keys
        .iter()
        .chain(&loaded.writable)
        .chain(&loaded.readonly)
        .map(|k| {
            k.parse::<Pubkey>()
                .map_err(|_| ConvertError::Key(k.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let top = tx.transaction.message.instructions.len();
    let mut inner: Vec<Vec<InnerIx>> = vec![Vec::new(); top];
    for list in meta.inner_instructions.unwrap_or_default() {
        let out = usize::try_from(list.index)
            .ok()
            .and_then(|i| inner.get_mut(i))
            .ok_or(ConvertError::Index {
                what: "instruction",
                index: list.index,
            })?;
        for ix in list.instructions {
            let program_id = usize::try_from(ix.program_id_index)
                .ok()
                .and_then(|i| keys.get(i))
                .ok_or(ConvertError::Index {
                    what: "account key",
                    index: ix.program_id_index,
                })?;
            let data = bs58::decode(&ix.data)
                .into_vec()
                .map_err(ConvertError::Data)?;
            out.push(InnerIx {
                program_id: *program_id,
                data,
            });
        }
    }
    Ok(TxUpdate {
        slot: tx.slot,
        signature: tx
            .transaction
            .signatures
            .into_iter()
            .next()
            .unwrap_or_default(),
        block_time: tx.block_time,
        index_in_slot,
        inner,
        failed: meta.err.is_some(),
    })
}

/// What the client has done.
#[derive(Debug, Default)]
pub struct RpcStats {
    /// HTTP requests sent (retries included).
    pub requests: AtomicU64,
    /// Retries after a transport error, 429 or 5xx.
    pub retries: AtomicU64,
    /// `getSignaturesForAddress` pages read.
    pub pages: AtomicU64,
    /// `getBlock` calls (one per slot holding listed transactions).
    pub blocks: AtomicU64,
    /// Transactions delivered.
    pub transactions: AtomicU64,
}

impl RpcStats {
    /// Reads one counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// A JSON-RPC response envelope.
#[derive(Deserialize)]
struct Envelope {
    result: Option<Value>,
    error: Option<ErrorObject>,
}

#[derive(Deserialize)]
struct ErrorObject {
    code: i64,
    message: String,
}

/// A Solana JSON-RPC client: timeout, rate limit, retries.
#[derive(Debug)]
pub struct RpcClient {
    http: reqwest::Client,
    config: RpcConfig,
    /// The earliest instant of the next request (rate limit).
    next_slot: Mutex<Instant>,
    stats: Arc<RpcStats>,
}

impl RpcClient {
    /// A client for `config`.
    pub fn new(config: RpcConfig) -> Result<Self, RpcError> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .build()
            .map_err(RpcError::Client)?;
        Ok(Self {
            http,
            config,
            next_slot: Mutex::new(Instant::now()),
            stats: Arc::default(),
        })
    }

    /// The client's counters.
    pub fn stats(&self) -> &Arc<RpcStats> {
        &self.stats
    }

    /// Waits for the rate limit's next free slot.
    async fn pace(&self) {
        let Some(rps) = self.config.max_requests_per_second.filter(|r| *r > 0) else {
            return;
        };
        let interval = Duration::from_secs(1) / rps;
        let at = {
            let mut next = self.next_slot.lock().await;
            let at = (*next).max(Instant::now());
            *next = at + interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// One JSON-RPC call, retried on transport errors, 429 and 5xx.
    async fn call<T: DeserializeOwned>(
        &self,
        method: &'static str,
        params: Value,
    ) -> Result<T, RpcError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut delays = veil_retry::Policy::new(
            self.config.backoff_initial,
            self.config.backoff_max,
            self.config.max_retries,
        )
        .delays();
        let mut attempts = 0u32;
        loop {
            self.pace().await;
            attempts += 1;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let retry = match self.http.post(&self.config.url).json(&body).send().await {
                Err(source) => RpcError::Transport {
                    method,
                    attempts,
                    source,
                },
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        let bytes = response
                            .bytes()
                            .await
                            .map_err(|source| RpcError::Transport {
                                method,
                                attempts,
                                source,
                            });
                        match bytes {
                            Ok(bytes) => return parse(method, &bytes),
                            Err(error) => error,
                        }
                    } else if status.as_u16() == 429 || status.is_server_error() {
                        RpcError::Http {
                            method,
                            status: status.as_u16(),
                            attempts,
                        }
                    } else {
                        return Err(RpcError::Http {
                            method,
                            status: status.as_u16(),
                            attempts,
                        });
                    }
                }
            };
            let Some(delay) = delays.next() else {
                return Err(retry);
            };
            tracing::warn!(method, attempts, delay_ms = delay.as_millis() as u64, error = %retry, "JSON-RPC request failed; retrying");
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(delay).await;
        }
    }

    /// One `getSignaturesForAddress` page, newest first, at confirmed commitment.
    pub async fn signatures_for_address(
        &self,
        address: &Pubkey,
        before: Option<&str>,
        until: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SignatureInfo>, RpcError> {
        let mut options = json!({"limit": limit, "commitment": "confirmed"});
        if let Some(before) = before {
            options["before"] = json!(before);
        }
        if let Some(until) = until {
            options["until"] = json!(until);
        }
        let page: Vec<SignatureInfo> = self
            .call(
                "getSignaturesForAddress",
                json!([address.to_string(), options]),
            )
            .await?;
        self.stats.pages.fetch_add(1, Ordering::Relaxed);
        Ok(page)
    }

    /// `getTransaction` in JSON encoding at confirmed commitment; `None` if unknown.
    pub async fn transaction(&self, signature: &str) -> Result<Option<RpcTransaction>, RpcError> {
        self.call(
            "getTransaction",
            json!([signature, {
                "encoding": "json",
                "commitment": "confirmed",
                "maxSupportedTransactionVersion": 0,
            }]),
        )
        .await
    }

    /// The signatures of the block at `slot`, in block order (votes included), at confirmed
    /// commitment.
    pub async fn block_signatures(&self, slot: u64) -> Result<Vec<String>, RpcError> {
        #[derive(Deserialize)]
        struct Block {
            signatures: Vec<String>,
        }
        let block: Option<Block> = self
            .call(
                "getBlock",
                json!([slot, {
                    "encoding": "json",
                    "transactionDetails": "signatures",
                    "rewards": false,
                    "commitment": "confirmed",
                    "maxSupportedTransactionVersion": 0,
                }]),
            )
            .await?;
        self.stats.blocks.fetch_add(1, Ordering::Relaxed);
        Ok(block.ok_or(RpcError::BlockUnavailable { slot })?.signatures)
    }

    /// The signatures of `config.programs` in `range`, both programs merged, each once, in
    /// ascending (slot, signature) order.
    pub async fn signatures(&self, range: &SlotRange) -> Result<Vec<SignatureInfo>, RpcError> {
        let mut all: BTreeMap<(u64, String), SignatureInfo> = BTreeMap::new();
        let mut seen = HashSet::new();
        for program in &self.config.programs {
            let mut before: Option<String> = None;
            loop {
                let page = self
                    .signatures_for_address(
                        program,
                        before.as_deref(),
                        range.until.as_deref(),
                        self.config.page_limit,
                    )
                    .await?;
                let full = page.len() >= self.config.page_limit;
                before = page.last().map(|s| s.signature.clone());
                // Newest first: once a page reaches below the range, older pages are outside.
                let past = page.last().is_none_or(|s| s.slot < range.from_slot);
                for info in page {
                    if (range.from_slot..=range.to_slot).contains(&info.slot)
                        && seen.insert(info.signature.clone())
                    {
                        all.insert((info.slot, info.signature.clone()), info);
                    }
                }
                if !full || past {
                    break;
                }
            }
        }
        Ok(all.into_values().collect())
    }

    /// The transaction of `info`, at `index_in_slot`; a failed one is not fetched.
    async fn update(&self, info: SignatureInfo, index_in_slot: u32) -> Result<TxUpdate, RpcError> {
        if info.err.is_some() {
            return Ok(TxUpdate {
                slot: info.slot,
                signature: info.signature,
                block_time: info.block_time,
                index_in_slot,
                inner: Vec::new(),
                failed: true,
            });
        }
        let tx = self
            .transaction(&info.signature)
            .await?
            .ok_or_else(|| RpcError::NotFound(info.signature.clone()))?;
        convert(tx, index_in_slot).map_err(|source| RpcError::Convert {
            signature: info.signature,
            source,
        })
    }
}

fn parse<T: DeserializeOwned>(method: &'static str, bytes: &[u8]) -> Result<T, RpcError> {
    let envelope: Envelope =
        serde_json::from_slice(bytes).map_err(|source| RpcError::Malformed { method, source })?;
    if let Some(error) = envelope.error {
        return Err(RpcError::Rpc {
            method,
            code: error.code,
            message: error.message,
        });
    }
    serde_json::from_value(envelope.result.unwrap_or(Value::Null))
        .map_err(|source| RpcError::Malformed { method, source })
}

/// A [`Source`] that backfills a [`SlotRange`] and then ends. Dropping it stops its task.
#[derive(Debug)]
pub struct RpcBackfill {
    rx: mpsc::Receiver<Result<Update, RpcError>>,
    stats: Arc<RpcStats>,
    task: JoinHandle<()>,
}

impl RpcBackfill {
    /// Starts backfilling `range`.
    pub fn spawn(config: RpcConfig, range: SlotRange) -> Result<Self, RpcError> {
        if range.from_slot > range.to_slot {
            return Err(RpcError::EmptyRange {
                from_slot: range.from_slot,
                to_slot: range.to_slot,
            });
        }
        if !(1..=MAX_PAGE_LIMIT).contains(&config.page_limit) {
            return Err(RpcError::PageLimit(config.page_limit));
        }
        let (tx, rx) = mpsc::channel(config.channel_capacity.max(1));
        let client = RpcClient::new(config)?;
        let stats = client.stats.clone();
        let task = tokio::spawn(async move {
            if let Err(error) = backfill(&client, &range, &tx).await {
                let _ = tx.send(Err(error)).await;
            }
        });
        Ok(Self { rx, stats, task })
    }

    /// The client's counters.
    pub fn stats(&self) -> &Arc<RpcStats> {
        &self.stats
    }
}

impl Drop for RpcBackfill {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Source for RpcBackfill {
    async fn next(&mut self) -> Result<Option<Update>, SourceError> {
        match self.rx.recv().await {
            None => Ok(None),
            Some(Ok(update)) => Ok(Some(update)),
            Some(Err(error)) => Err(SourceError::Transport(Box::new(error))),
        }
    }
}

impl RpcError {
    /// The RPC error inside a [`SourceError`], if it came from this source.
    pub fn of(error: &SourceError) -> Option<&RpcError> {
        match error {
            SourceError::Transport(inner) => inner.downcast_ref(),
        }
    }
}

/// Lists `range`, places each transaction in its block, and fetches them into `tx`, in order.
async fn backfill(
    client: &RpcClient,
    range: &SlotRange,
    tx: &mpsc::Sender<Result<Update, RpcError>>,
) -> Result<(), RpcError> {
    let signatures = client.signatures(range).await?;
    let mut by_slot: BTreeMap<u64, Vec<SignatureInfo>> = BTreeMap::new();
    for info in signatures {
        by_slot.entry(info.slot).or_default().push(info);
    }
    // One block per slot, fetched ahead of the transactions that need it.
    let mut placed = futures::stream::iter(by_slot)
        .map(|(slot, infos)| async move {
            let block = client.block_signatures(slot).await?;
            place(slot, &block, infos)
        })
        .buffered(client.config.concurrency.max(1));
    while let Some(slot) = placed.next().await {
        let mut fetched = futures::stream::iter(slot?)
            .map(|(info, index)| client.update(info, index))
            .buffered(client.config.concurrency.max(1));
        while let Some(update) = fetched.next().await {
            let update = update?;
            client.stats.transactions.fetch_add(1, Ordering::Relaxed);
            if tx.send(Ok(Update::Tx(update))).await.is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Each of `infos` (listed in `slot`) with its position in `block` (the block's signatures in
/// order), sorted by that position.
fn place(
    slot: u64,
    block: &[String],
    infos: Vec<SignatureInfo>,
) -> Result<Vec<(SignatureInfo, u32)>, RpcError> {
    let wanted: HashSet<&str> = infos.iter().map(|i| i.signature.as_str()).collect();
    let positions: HashMap<&str, u32> = block
        .iter()
        .enumerate()
        .filter(|(_, s)| wanted.contains(s.as_str()))
        .map(|(i, s)| (s.as_str(), i as u32))
        .collect();
    let mut placed = infos
        .into_iter()
        .map(|info| match positions.get(info.signature.as_str()) {
            Some(&index) => Ok((info, index)),
            None => Err(RpcError::NotInBlock {
                slot,
                signature: info.signature,
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    placed.sort_by_key(|(_, index)| *index);
    Ok(placed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx_json(err: Value) -> Value {
        let program = veil_client::registry::PROGRAM_ID.to_string();
        let other = Pubkey::new_unique().to_string();
        json!({
            "slot": 7,
            "blockTime": 1_700_000_000,
            "meta": {
                "err": err,
                "innerInstructions": [
                    {"index": 1, "instructions": [
                        {"programIdIndex": 2, "accounts": [], "data": bs58::encode([1u8, 2]).into_string(), "stackHeight": 2},
                        {"programIdIndex": 0, "accounts": [], "data": "", "stackHeight": 2}
                    ]}
                ],
                "loadedAddresses": {"writable": [], "readonly": [program]},
            },
            "transaction": {
                "signatures": ["sig"],
                "message": {"accountKeys": [other.clone(), other], "instructions": [{}, {}]},
            },
        })
    }

    #[test]
    fn convert_resolves_program_ids_through_loaded_addresses() {
        let tx: RpcTransaction = serde_json::from_value(tx_json(Value::Null)).unwrap();
        let update = convert(tx, 3).unwrap();
        assert_eq!(update.inner.len(), 2);
        assert!(update.inner[0].is_empty());
        assert_eq!(
            update.inner[1][0].program_id,
            veil_client::registry::PROGRAM_ID
        );
        assert_eq!(update.inner[1][0].data, [1, 2]);
        assert_eq!(
            (
                update.slot,
                update.index_in_slot,
                update.block_time,
                update.failed
            ),
            (7, 3, Some(1_700_000_000), false)
        );
        let failed: RpcTransaction =
            serde_json::from_value(tx_json(json!({"InstructionError": [0, "Custom"]}))).unwrap();
        assert!(convert(failed, 0).unwrap().failed);
    }

    #[test]
    fn convert_rejects_a_bad_program_index() {
        let mut value = tx_json(Value::Null);
        value["meta"]["innerInstructions"][0]["instructions"][0]["programIdIndex"] = json!(9);
        let tx: RpcTransaction = serde_json::from_value(value).unwrap();
        assert!(matches!(
            convert(tx, 0),
            Err(ConvertError::Index {
                what: "account key",
                index: 9
            })
        ));
    }

    #[test]
    fn parse_reads_json_rpc_errors() {
        let body = br#"{"jsonrpc":"2.0","error":{"code":-32009,"message":"slot skipped"},"id":1}"#;
        assert!(matches!(
            parse::<Value>("getTransaction", body),
            Err(RpcError::Rpc { code: -32009, .. })
        ));
        assert!(matches!(
            parse::<Vec<SignatureInfo>>("getSignaturesForAddress", b"{\"result\": 3}"),
            Err(RpcError::Malformed { .. })
        ));
    }

    #[test]
    fn place_uses_the_block_position_and_refuses_a_stranger() {
        let info = |signature: &str| SignatureInfo {
            signature: signature.to_owned(),
            slot: 9,
            err: None,
            block_time: None,
        };
        let block: Vec<String> = ["vote0", "b", "vote1", "a"].map(str::to_owned).to_vec();
        let placed = place(9, &block, vec![info("a"), info("b")]).unwrap();
        let got: Vec<(&str, u32)> = placed
            .iter()
            .map(|(i, index)| (i.signature.as_str(), *index))
            .collect();
        assert_eq!(got, [("b", 1), ("a", 3)]);
        assert!(matches!(
            place(9, &block, vec![info("c")]),
            Err(RpcError::NotInBlock { slot: 9, signature }) if signature == "c"
        ));
    }

    #[tokio::test]
    async fn rate_limit_spaces_requests() {
        let config = RpcConfig {
            max_requests_per_second: Some(20),
            ..RpcConfig::new("http://127.0.0.1:1")
        };
        let client = RpcClient::new(config).unwrap();
        let start = std::time::Instant::now();
        for _ in 0..5 {
            client.pace().await;
        }
        // The first is immediate, the next four 50 ms apart.
        assert!(start.elapsed() >= Duration::from_millis(195));
    }
}
