//! The relayer's side of the chain: a fee payer, transaction building, and
//! [`ChainClient::submit`], which applies an effect at most once.
//!
//! **Submitting.** Every submission has an idempotency key that names its effect
//! (`anchor_id_batch:42`). [`submit`](ChainClient::submit) records the signature under the key
//! (`chain_submissions`, [`store`]) *before* sending it, then polls its status at confirmed
//! commitment. If the blockhash expires first (the chain's block height passes the
//! transaction's `last_valid_block_height`, after which it can never land), the status is read
//! once more and only then is the transaction rebuilt with a fresh blockhash, and the new
//! signature swapped in by compare-and-set. A relayer that restarts, or another that submits
//! the same key, resumes from the record: it waits for the signature in flight, or returns the
//! recorded outcome. The effect is therefore applied at most once, and the caller learns its
//! slot and signature.
//!
//! **Failures.** A transaction the node refuses in preflight, or that lands and fails, becomes
//! a [`TxFailure`]: the runtime error, the innermost failing program (from the logs) and the
//! custom code, which `veil-client` turns into typed decisions ("nullifier already used" is an
//! idempotent conflict, not a server error). Transport errors (connection, timeout, HTTP 5xx)
//! are retried with exponential backoff, and count against a circuit breaker: while it is open
//! every call fails fast with [`ChainError::Unavailable`].

mod error;
pub mod failure;
pub mod store;

use std::{sync::Arc, time::Duration};

use anchor_lang::{
    prelude::Pubkey,
    solana_program::{clock::Clock, instruction::Instruction, sysvar::SysvarId},
};
use solana_commitment_config::{CommitmentConfig, CommitmentLevel};
use solana_keypair::Keypair;
use solana_rpc_client::{nonblocking::rpc_client::RpcClient, rpc_client::SerializableTransaction};
use solana_rpc_client_api::{
    client_error::{Error as ClientError, ErrorKind},
    config::{RpcSendTransactionConfig, RpcTransactionConfig},
    request::{RpcError, RpcResponseErrorData},
};
use solana_signer::Signer;
use solana_transaction::{versioned::VersionedTransaction, Transaction};
use solana_transaction_error::TransactionError;
use solana_transaction_status_client_types::{
    option_serializer::OptionSerializer, TransactionStatus, UiTransactionEncoding,
};
use sqlx::PgPool;

pub use self::failure::TxFailure;
use self::store::Record;
use crate::platform::breaker::{BreakerOpen, BreakerState, CircuitBreaker};

/// How the chain client talks to the RPC node.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// The JSON-RPC endpoint.
    pub rpc_url: String,
    /// Timeout of one request.
    pub request_timeout: Duration,
    /// Interval between status polls of a transaction in flight.
    pub poll_interval: Duration,
    /// Transactions built for one key in one call (the first and its rebuilds) before giving
    /// up with [`ChainError::NotLanded`].
    pub max_builds: u32,
    /// Retries of one request after a transport error.
    pub max_retries: u32,
    /// The first retry delay; each retry doubles it, plus jitter ([`veil_retry::Policy`]).
    pub backoff_initial: Duration,
    /// The longest retry delay.
    pub backoff_max: Duration,
}

impl ChainConfig {
    /// Defaults for `rpc_url`: 10 s requests, polls every 200 ms, 5 builds, 3 retries from
    /// 100 ms to 2 s.
    pub fn new(rpc_url: impl Into<String>) -> Self {
        Self {
            rpc_url: rpc_url.into(),
            request_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(200),
            max_builds: 5,
            max_retries: 3,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(2),
        }
    }
}

/// Why a submission did not produce its outcome.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The RPC breaker refuses calls: the node failed repeatedly and is not being called.
    #[error("the chain RPC is unavailable: its breaker is {} (retry after {retry_after:?})", .state.as_str())]
    Unavailable {
        /// `OPEN`, or `HALF_OPEN` with its probe in flight.
        state: BreakerState,
        /// When a call may go through again.
        retry_after: Duration,
    },
    /// The node could not be reached after the retries.
    #[error("chain RPC transport failed after {attempts} attempts: {source}")]
    Transport {
        /// Attempts made.
        attempts: u32,
        /// The last error.
        #[source]
        source: Box<ClientError>,
    },
    /// The node answered with something other than a transport failure or a transaction
    /// error.
    #[error("chain RPC: {0}")]
    Rpc(#[source] Box<ClientError>),
    /// The transaction was refused in preflight, or landed and failed.
    #[error("transaction failed: {0}")]
    Failed(TxFailure),
    /// A recorded landed-and-failed outcome, returned again for the same key.
    #[error("the submission {key} already landed and failed: {error}")]
    AlreadyFailed {
        /// The key.
        key: String,
        /// The recorded failure.
        error: String,
        /// Where it landed.
        signature: String,
    },
    /// `max_builds` transactions expired without landing.
    #[error("{builds} transactions for {key} expired without landing")]
    NotLanded {
        /// The key.
        key: String,
        /// Transactions built.
        builds: u32,
    },
    /// The submission record could not be read or written.
    #[error("submission record: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<BreakerOpen> for ChainError {
    fn from(open: BreakerOpen) -> Self {
        Self::Unavailable {
            state: open.state,
            retry_after: open.retry_after,
        }
    }
}

/// Where an effect landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landed {
    /// The transaction's signature (base58).
    pub signature: String,
    /// Its slot.
    pub slot: u64,
    /// True when this call sent the transaction that landed; false when the outcome was
    /// already on record, or another submitter's transaction landed it.
    pub by_this_call: bool,
}

/// The relayer's chain client.
pub struct ChainClient {
    rpc: RpcClient,
    payer: Keypair,
    breaker: Arc<CircuitBreaker>,
    pool: PgPool,
    config: ChainConfig,
}

impl std::fmt::Debug for ChainClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainClient")
            .field("rpc_url", &self.config.rpc_url)
            .field("payer", &self.payer.pubkey())
            .finish_non_exhaustive()
    }
}

/// Whether `error` is the transport failing (worth a retry, and a breaker failure).
fn is_transport(error: &ClientError) -> bool {
    matches!(
        error.kind(),
        ErrorKind::Io(_)
            | ErrorKind::Reqwest(_)
            | ErrorKind::Middleware(_)
            | ErrorKind::RpcError(RpcError::RpcRequestError(_))
            | ErrorKind::RpcError(RpcError::RpcResponseError {
                data: RpcResponseErrorData::NodeUnhealthy { .. },
                ..
            })
    )
}

/// The preflight failure inside `error`, if the node refused the transaction in simulation.
fn preflight_failure(error: &ClientError) -> Option<TxFailure> {
    if let ErrorKind::RpcError(RpcError::RpcResponseError {
        data: RpcResponseErrorData::SendTransactionPreflightFailure(result),
        ..
    }) = error.kind()
    {
        let error = result.err.clone()?;
        return Some(TxFailure::new(
            error.into(),
            result.logs.clone().unwrap_or_default(),
        ));
    }
    error
        .get_transaction_error()
        .map(|e| TxFailure::new(e, Vec::new()))
}

impl ChainClient {
    /// A client paying with `payer`, recording into `pool`, guarded by `breaker`.
    pub fn new(
        config: ChainConfig,
        payer: Keypair,
        breaker: Arc<CircuitBreaker>,
        pool: PgPool,
    ) -> Self {
        let rpc = RpcClient::new_with_timeout_and_commitment(
            config.rpc_url.clone(),
            config.request_timeout,
            CommitmentConfig::confirmed(),
        );
        Self {
            rpc,
            payer,
            breaker,
            pool,
            config,
        }
    }

    /// The fee payer's address.
    pub fn payer(&self) -> Pubkey {
        self.payer.pubkey()
    }

    /// The RPC breaker.
    pub fn breaker(&self) -> &Arc<CircuitBreaker> {
        &self.breaker
    }

    /// The account at `address` at confirmed commitment, or `None` if it does not exist.
    pub async fn account(
        &self,
        address: &Pubkey,
    ) -> Result<Option<solana_account::Account>, ChainError> {
        let response = self
            .call("getAccountInfo", || {
                self.rpc
                    .get_account_with_commitment(address, CommitmentConfig::confirmed())
            })
            .await?;
        Ok(response.value)
    }

    /// The account at `address` at confirmed commitment with the slot it was read at, or
    /// `None` if it does not exist.
    pub async fn account_at(
        &self,
        address: &Pubkey,
    ) -> Result<(u64, Option<solana_account::Account>), ChainError> {
        let response = self
            .call("getAccountInfo", || {
                self.rpc
                    .get_account_with_commitment(address, CommitmentConfig::confirmed())
            })
            .await?;
        Ok((response.context.slot, response.value))
    }

    /// The accounts at `addresses` at confirmed commitment, read in batches of 100
    /// (`getMultipleAccounts`), with the oldest slot any batch was read at: every account is
    /// as of that slot or later.
    pub async fn accounts(
        &self,
        addresses: &[Pubkey],
    ) -> Result<(u64, Vec<Option<solana_account::Account>>), ChainError> {
        let mut slot = u64::MAX;
        let mut out = Vec::with_capacity(addresses.len());
        for chunk in addresses.chunks(100) {
            let response = self
                .call("getMultipleAccounts", || {
                    self.rpc
                        .get_multiple_accounts_with_commitment(chunk, CommitmentConfig::confirmed())
                })
                .await?;
            slot = slot.min(response.context.slot);
            out.extend(response.value);
        }
        if slot == u64::MAX {
            slot = self
                .call("getSlot", || {
                    self.rpc
                        .get_slot_with_commitment(CommitmentConfig::confirmed())
                })
                .await?;
        }
        Ok((slot, out))
    }

    /// A recent blockhash at confirmed commitment, with the last block height it is valid
    /// for: what a transaction handed to a wallet to sign is built with.
    pub async fn latest_blockhash(&self) -> Result<(solana_hash::Hash, u64), ChainError> {
        self.call("getLatestBlockhash", || {
            self.rpc
                .get_latest_blockhash_with_commitment(CommitmentConfig::confirmed())
        })
        .await
    }

    /// Every account of `program` whose data starts with `prefix` (an account
    /// discriminator), at confirmed commitment.
    pub async fn program_accounts(
        &self,
        program: &Pubkey,
        prefix: &[u8],
    ) -> Result<Vec<(Pubkey, solana_account::Account)>, ChainError> {
        use solana_rpc_client_api::{
            config::{RpcAccountInfoConfig, RpcProgramAccountsConfig},
            filter::{Memcmp, RpcFilterType},
        };
        let accounts = self
            .call("getProgramAccounts", || {
                self.rpc.get_program_ui_accounts_with_config(
                    program,
                    RpcProgramAccountsConfig {
                        filters: Some(vec![RpcFilterType::Memcmp(Memcmp::new_base58_encoded(
                            0, prefix,
                        ))]),
                        account_config: RpcAccountInfoConfig {
                            encoding: Some(
                                solana_rpc_client_api::config::UiAccountEncoding::Base64,
                            ),
                            commitment: Some(CommitmentConfig::confirmed()),
                            ..RpcAccountInfoConfig::default()
                        },
                        ..RpcProgramAccountsConfig::default()
                    },
                )
            })
            .await?;
        // Base64 is binary: every account decodes.
        Ok(accounts
            .into_iter()
            .filter_map(|(address, account)| Some((address, account.to_account()?)))
            .collect())
    }

    /// The chain's clock (`unix_timestamp` of the latest confirmed slot), from the Clock
    /// sysvar: deadlines are judged by the chain's time, never the relayer's.
    pub async fn unix_time(&self) -> Result<i64, ChainError> {
        let clock = self
            .account(&<Clock as SysvarId>::id())
            .await?
            .and_then(|account| bincode::deserialize::<Clock>(&account.data).ok());
        clock.map(|c| c.unix_timestamp).ok_or_else(|| {
            ChainError::Rpc(Box::new(ClientError::from(ErrorKind::Custom(
                "the Clock sysvar is missing or malformed".into(),
            ))))
        })
    }

    /// One RPC call through the breaker, retried with backoff on transport errors.
    async fn call<T, F, Fut>(&self, what: &'static str, f: F) -> Result<T, ChainError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        let mut delays = veil_retry::Policy::new(
            self.config.backoff_initial,
            self.config.backoff_max,
            self.config.max_retries,
        )
        .delays();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let permit = self.breaker.try_acquire()?;
            match f().await {
                Ok(value) => {
                    permit.record_success();
                    return Ok(value);
                }
                Err(error) if is_transport(&error) => {
                    permit.record_failure();
                    let Some(delay) = delays.next() else {
                        return Err(ChainError::Transport {
                            attempts: attempt,
                            source: Box::new(error),
                        });
                    };
                    tracing::warn!(what, attempt, %error, "chain RPC transport error; retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(error) => {
                    // The node answered: it is up, whatever it said.
                    permit.record_success();
                    return Err(match preflight_failure(&error) {
                        Some(failure) => ChainError::Failed(failure),
                        None => ChainError::Rpc(Box::new(error)),
                    });
                }
            }
        }
    }

    /// Applies the effect `key` with `ixs` (paid and signed by the payer, plus `signers`) at
    /// most once: see the module's rule.
    pub async fn submit(
        &self,
        key: &str,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Landed, ChainError> {
        let mut builds = 0u32;
        // The signatures this call recorded: a landing among them is this call's.
        let mut sent_here: Vec<String> = Vec::new();
        let mine = |mut landed: Landed, sent_here: &[String]| {
            landed.by_this_call = sent_here.contains(&landed.signature);
            landed
        };
        loop {
            let replaces = match store::get(&self.pool, key).await? {
                None => None,
                Some(submission) => match submission.record {
                    Record::Landed { signature, slot } => {
                        let landed = Landed {
                            signature,
                            slot,
                            by_this_call: false,
                        };
                        return Ok(mine(landed, &sent_here));
                    }
                    Record::Failed {
                        signature, error, ..
                    } => {
                        return Err(ChainError::AlreadyFailed {
                            key: key.to_owned(),
                            error,
                            signature,
                        })
                    }
                    Record::Rejected { signature, .. } => Some(signature),
                    Record::Sending {
                        signature,
                        last_valid_block_height,
                    } => {
                        if let Some(landed) = self
                            .follow(key, &signature, last_valid_block_height)
                            .await?
                        {
                            return Ok(mine(landed, &sent_here));
                        }
                        Some(signature)
                    }
                },
            };
            if builds >= self.config.max_builds {
                return Err(ChainError::NotLanded {
                    key: key.to_owned(),
                    builds,
                });
            }
            builds += 1;
            let (blockhash, last_valid_block_height) = self
                .call("getLatestBlockhash", || {
                    self.rpc
                        .get_latest_blockhash_with_commitment(CommitmentConfig::confirmed())
                })
                .await?;
            let mut all: Vec<&Keypair> = vec![&self.payer];
            all.extend_from_slice(signers);
            let tx = Transaction::new_signed_with_payer(
                ixs,
                Some(&self.payer.pubkey()),
                &all,
                blockhash,
            );
            let signature = tx.signatures[0].to_string();
            // Recorded before it is sent: a crash from here on resumes this signature.
            if !store::start(
                &self.pool,
                key,
                replaces.as_deref(),
                &signature,
                last_valid_block_height,
            )
            .await?
            {
                // Another submitter moved the record first: follow theirs.
                continue;
            }
            sent_here.push(signature.clone());
            let sent = self.send(&tx).await;
            match sent {
                Ok(_) => {}
                Err(ChainError::Failed(failure)) => {
                    store::rejected(&self.pool, key, &signature, &failure.to_string()).await?;
                    // A node behind the one that gave the blockhash: build again.
                    if failure.error == TransactionError::BlockhashNotFound {
                        continue;
                    }
                    return Err(ChainError::Failed(failure));
                }
                // Sent or not, the record says it may be in flight: the next loop follows it.
                Err(error) => {
                    tracing::warn!(key, %signature, %error, "send failed; following the record");
                    if matches!(error, ChainError::Unavailable { .. }) {
                        return Err(error);
                    }
                }
            }
        }
    }

    /// `sendTransaction` with preflight at confirmed commitment and no node-side retries (the
    /// client decides when to send again).
    async fn send(
        &self,
        tx: &(impl SerializableTransaction + Sync),
    ) -> Result<solana_signature::Signature, ChainError> {
        self.call("sendTransaction", || {
            self.rpc.send_transaction_with_config(
                tx,
                RpcSendTransactionConfig {
                    skip_preflight: false,
                    preflight_commitment: Some(CommitmentLevel::Confirmed),
                    max_retries: Some(0),
                    ..RpcSendTransactionConfig::default()
                },
            )
        })
        .await
    }

    /// The block height at confirmed commitment.
    async fn block_height(&self) -> Result<u64, ChainError> {
        self.call("getBlockHeight", || {
            self.rpc
                .get_block_height_with_commitment(CommitmentConfig::confirmed())
        })
        .await
    }

    /// Sends a transaction someone else signed (a wallet's) and waits until it lands. Not
    /// recorded: its signature is its own idempotency key (the chain never lands one signature
    /// twice), and only its signer can build another. Gives up with
    /// [`ChainError::NotLanded`] once its blockhash has certainly expired.
    pub async fn forward(&self, tx: &VersionedTransaction) -> Result<Landed, ChainError> {
        let signature = tx.signatures[0];
        let key = format!("wallet_tx:{signature}");
        // A blockhash is valid for 150 blocks after its own: one no older than now expires
        // by this height at the latest.
        let expires = self.block_height().await?.saturating_add(151);
        let sent = self.send(tx).await;
        match sent {
            Ok(_) => {}
            // Sent before (the same bytes again): follow it.
            Err(ChainError::Failed(failure))
                if failure.error == TransactionError::AlreadyProcessed => {}
            Err(error @ ChainError::Unavailable { .. }) => return Err(error),
            Err(ChainError::Failed(failure)) => return Err(ChainError::Failed(failure)),
            Err(error) => tracing::warn!(%signature, %error, "send failed; following"),
        }
        match self.confirmed(&signature, expires).await? {
            Some((slot, None)) => Ok(Landed {
                signature: signature.to_string(),
                slot,
                by_this_call: true,
            }),
            Some((_, Some(error))) => {
                Err(ChainError::Failed(self.failure(&signature, error).await))
            }
            None => Err(ChainError::NotLanded { key, builds: 0 }),
        }
    }

    /// Polls `signature` until it is confirmed (its slot and error, if it failed) or can no
    /// longer land (`None`): the chain's block height has passed `last_valid_block_height`
    /// and one last look still does not find it, which closes the race with a landing between
    /// the two reads. A signature the chain knows but has not confirmed is waited for, never
    /// given up on.
    async fn confirmed(
        &self,
        signature: &solana_signature::Signature,
        last_valid_block_height: u64,
    ) -> Result<Option<(u64, Option<TransactionError>)>, ChainError> {
        loop {
            match self.status(signature).await? {
                Some(status) if status.satisfies_commitment(CommitmentConfig::confirmed()) => {
                    return Ok(Some((status.slot, status.err)));
                }
                Some(_) => {}
                None => {
                    let height = self.block_height().await?;
                    if height > last_valid_block_height && self.status(signature).await?.is_none() {
                        return Ok(None);
                    }
                }
            }
            tokio::time::sleep(self.config.poll_interval).await;
        }
    }

    /// A landed transaction's failure, with its logs when the node still has them.
    async fn failure(
        &self,
        signature: &solana_signature::Signature,
        error: TransactionError,
    ) -> TxFailure {
        TxFailure::new(error, self.logs(signature).await.unwrap_or_default())
    }

    /// Follows `signature` until it lands (`Some`, recorded) or can no longer land (`None`).
    async fn follow(
        &self,
        key: &str,
        signature: &str,
        last_valid_block_height: u64,
    ) -> Result<Option<Landed>, ChainError> {
        let parsed: solana_signature::Signature = match signature.parse() {
            Ok(parsed) => parsed,
            Err(_) => return Ok(None),
        };
        match self.confirmed(&parsed, last_valid_block_height).await? {
            Some((slot, error)) => self.settle(key, signature, &parsed, slot, error).await,
            None => {
                tracing::info!(
                    key,
                    signature,
                    "blockhash expired before landing; rebuilding"
                );
                Ok(None)
            }
        }
    }

    /// The status of `signature`, if the node knows it.
    async fn status(
        &self,
        signature: &solana_signature::Signature,
    ) -> Result<Option<TransactionStatus>, ChainError> {
        let statuses = self
            .call("getSignatureStatuses", || {
                self.rpc
                    .get_signature_statuses(std::slice::from_ref(signature))
            })
            .await?;
        Ok(statuses.value.into_iter().next().flatten())
    }

    /// Records where `signature` landed; a failure there is returned with its logs.
    async fn settle(
        &self,
        key: &str,
        signature: &str,
        parsed: &solana_signature::Signature,
        slot: u64,
        error: Option<TransactionError>,
    ) -> Result<Option<Landed>, ChainError> {
        let Some(error) = error else {
            store::landed(&self.pool, key, signature, slot, None).await?;
            return Ok(Some(Landed {
                signature: signature.to_owned(),
                slot,
                by_this_call: false,
            }));
        };
        let failure = self.failure(parsed, error).await;
        store::landed(&self.pool, key, signature, slot, Some(&failure.to_string())).await?;
        Err(ChainError::Failed(failure))
    }

    /// The logs of a landed transaction.
    async fn logs(
        &self,
        signature: &solana_signature::Signature,
    ) -> Result<Vec<String>, ChainError> {
        let tx = self
            .call("getTransaction", || {
                self.rpc.get_transaction_with_config(
                    signature,
                    RpcTransactionConfig {
                        encoding: Some(UiTransactionEncoding::Json),
                        commitment: Some(CommitmentConfig::confirmed()),
                        max_supported_transaction_version: Some(0),
                    },
                )
            })
            .await?;
        Ok(match tx.transaction.meta.map(|m| m.log_messages) {
            Some(OptionSerializer::Some(logs)) => logs,
            _ => Vec::new(),
        })
    }
}

/// The `tx_submitted_total` label of a submission's result: `landed`, `unavailable` (the RPC
/// failed or its breaker is open) or `failed`.
pub fn submission_label<T>(result: &Result<T, ChainError>) -> &'static str {
    match result {
        Ok(_) => "landed",
        Err(ChainError::Unavailable { .. } | ChainError::Transport { .. }) => "unavailable",
        Err(_) => "failed",
    }
}

/// Counts a relayer submission under `tx_submitted_total{result}` (see [`submission_label`]).
pub fn record_submission<T>(
    metrics: &crate::platform::metrics::Metrics,
    result: &Result<T, ChainError>,
) {
    metrics
        .tx_submitted_total
        .with_label_values(&[submission_label(result)])
        .inc();
}
