//! Challenge reads that do not spend the RPC quota one for one.
//!
//! `GET /api/v2/challenges/{address}` answers from a cache of decoded accounts, each with the
//! slot it was read at. An entry is read from the chain (one `getAccountInfo` at confirmed
//! commitment) when it is missing or older than the TTL; concurrent misses of one address
//! share that one call. An entry is dropped sooner when:
//! - this relayer lands a transaction that touches the address (its own steps, and every
//!   wallet-signed transaction it forwards): reads then refetch, and an answer read before
//!   that slot is not served again;
//! - the indexer records or rolls back an event of that challenge: the `veil_challenge`
//!   NOTIFY (migration 0024) names the address and the slot;
//! - the listening connection is lost: every entry, since notifications may have been missed.
//!
//! **How stale an answer can be:** at most the TTL (`RELAYER_CHALLENGE_READ_TTL_MS`, 2 s by
//! default) for a change made past this relayer while no indexer runs on its database;
//! otherwise the indexer's lag behind the confirmed chain. Every answer carries `slot`, the
//! slot it was read at, and `age_ms`.
//!
//! The flows that build or submit transactions never read from here: they read the chain.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anchor_lang::prelude::Pubkey;
use challenge::state::Challenge;
use veil_client::challenge as cix;

use super::ChallengeApiError;
use crate::platform::{chain::ChainClient, metrics::Metrics};

/// The NOTIFY channel the indexer's challenge rows fire (migration 0024).
pub const CHANNEL: &str = "veil_challenge";

/// Addresses cached at most (about 1 KiB each).
const CAPACITY: u64 = 100_000;

/// A challenge as read from the chain, or its absence.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The account decoded; `None` when no challenge is at the address.
    pub challenge: Option<Challenge>,
    /// The slot it was read at.
    pub slot: u64,
    /// When it was read.
    pub read_at: Instant,
}

/// The cache. Cheap to share; every relayer instance has its own.
pub struct ReadCache {
    entries: moka::future::Cache<Pubkey, Arc<Snapshot>>,
    /// The lowest slot an answer must have been read at, per address, after an invalidation
    /// that named its slot: a read that was in flight across the invalidation is not served
    /// again. Entries live as long as a cache entry could.
    floors: moka::future::Cache<Pubkey, u64>,
    chain: Arc<ChainClient>,
    metrics: Metrics,
    /// Zero: no caching, every read goes to the chain.
    ttl: Duration,
}

impl ReadCache {
    /// A cache over `chain` whose entries live at most `ttl`.
    pub fn new(chain: Arc<ChainClient>, ttl: Duration, metrics: Metrics) -> Self {
        Self {
            entries: moka::future::Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(ttl.max(Duration::from_millis(1)))
                .build(),
            floors: moka::future::Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(ttl.max(Duration::from_millis(1)))
                .build(),
            chain,
            metrics,
            ttl,
        }
    }

    /// The challenge at `address`, cached or read once for every concurrent caller.
    pub async fn read(&self, address: &Pubkey) -> Result<Arc<Snapshot>, ChallengeApiError> {
        if self.ttl.is_zero() {
            self.counted("chain");
            return fetch(&self.chain, *address).await;
        }
        let floor = self.floors.get(address).await.unwrap_or(0);
        if let Some(hit) = self.entries.get(address).await {
            if hit.slot >= floor {
                self.counted("cache");
                return Ok(hit);
            }
            self.entries.invalidate(address).await;
        }
        let chain = self.chain.clone();
        let address = *address;
        let entry = self
            .entries
            .entry(address)
            .or_try_insert_with(async move { fetch(&chain, address).await })
            .await
            .map_err(|shared| {
                Arc::try_unwrap(shared)
                    .unwrap_or_else(|shared| ChallengeApiError::ReadFailed(shared.to_string()))
            })?;
        // Only the caller whose read filled the entry went to the chain; the callers that
        // waited for it share its answer.
        self.counted(if entry.is_fresh() { "chain" } else { "cache" });
        Ok(entry.into_value())
    }

    /// Drops `address`; with `slot`, answers read before it are not served again.
    pub async fn invalidate(&self, address: &Pubkey, slot: Option<u64>) {
        if let Some(slot) = slot {
            let floor = self.floors.get(address).await.unwrap_or(0).max(slot);
            self.floors.insert(*address, floor).await;
        }
        self.entries.invalidate(address).await;
    }

    /// Drops every entry.
    pub fn invalidate_all(&self) {
        self.entries.invalidate_all();
    }

    fn counted(&self, source: &str) {
        self.metrics
            .challenge_reads_total
            .with_label_values(&[source])
            .inc();
    }

    /// Follows the indexer's `veil_challenge` notifications until `stop` changes, dropping
    /// each named address; after a lost connection it listens again (with backoff) and drops
    /// everything, since notifications may have been missed meanwhile.
    pub async fn run_listener(
        self: Arc<Self>,
        pool: sqlx::PgPool,
        stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut stop = stop;
        let policy = veil_retry::Policy::new(
            Duration::from_millis(200),
            Duration::from_secs(10),
            u32::MAX,
        );
        let mut delays = policy.delays();
        loop {
            let listening = async {
                let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
                listener.listen(CHANNEL).await?;
                self.invalidate_all();
                while let Some(note) = listener.try_recv().await? {
                    if let Some((address, slot)) = parse_note(note.payload()) {
                        self.invalidate(&address, slot).await;
                    }
                }
                // The connection dropped.
                self.invalidate_all();
                Ok::<(), sqlx::Error>(())
            };
            tokio::select! {
                result = listening => match result {
                    Ok(()) => delays = policy.delays(),
                    Err(error) => tracing::warn!(
                        %error,
                        "challenge read cache cannot LISTEN; entries live out their TTL"
                    ),
                },
                _ = stop.changed() => return,
            }
            let delay = delays.next().unwrap_or(Duration::from_secs(10));
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

/// One `getAccountInfo`, decoded.
async fn fetch(chain: &ChainClient, address: Pubkey) -> Result<Arc<Snapshot>, ChallengeApiError> {
    let (slot, account) = chain.account_at(&address).await?;
    let challenge = account
        .filter(|a| a.owner == cix::PROGRAM_ID)
        .and_then(|a| veil_client::decode::account::<Challenge>(&a.data).ok());
    Ok(Arc::new(Snapshot {
        challenge,
        slot,
        read_at: Instant::now(),
    }))
}

/// `<address> <slot>` as the trigger writes it.
fn parse_note(payload: &str) -> Option<(Pubkey, Option<u64>)> {
    let mut parts = payload.split(' ');
    let address = parts.next()?.parse().ok()?;
    let slot = parts.next().and_then(|s| s.parse().ok());
    Some((address, slot))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_name_an_address_and_maybe_a_slot() {
        let key = Pubkey::new_unique();
        assert_eq!(parse_note(&format!("{key} 42")), Some((key, Some(42))));
        assert_eq!(parse_note(&key.to_string()), Some((key, None)));
        assert_eq!(parse_note("not-a-key 1"), None);
    }
}
