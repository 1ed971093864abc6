//! Private proofs of token ownership, end to end (SPEC §3.1, §4, §6 "Prover and registry").
//!
//! A track is a token mint's membership set (`track_id = veil_zk::track_id_for(mint)`):
//!
//! 1. [`register`](RegistryService::register): a wallet signs [`registration_message`] for its
//!    identity commitment. The relayer checks the signature, then reads the token account on
//!    chain (owned by an SPL Token program, for this mint, owned by the wallet, with a
//!    balance) and adds the leaf `Poseidon(commitment, token_id, track_id)` at the track's
//!    next index. Registering the same identity again is a no-op; a second identity for the
//!    same wallet is refused.
//! 2. [`publish`](RegistryService::publish): re-reads every registered wallet's holding at
//!    one slot (the snapshot), rebuilds the tree from *current holders only* (a member that
//!    sold keeps its index but gets the empty leaf) and publishes its root with
//!    `publish_root`, carrying the snapshot slot (creating the track on chain first, with the
//!    configured freshness window, if it does not exist), through the chain layer's
//!    at-most-once submission. Ownership therefore means "held at a slot within the last W":
//!    the program accepts a proof only while its root's snapshot is that recent, so a sold
//!    token stops proving within W. An unchanged root is republished (a refresh of its
//!    snapshot) once half the window has passed; the operator calls publish at least that
//!    often.
//! 3. [`prove`](RegistryService::prove): from the member's secret, finds its leaf under the
//!    latest published root, builds the witness and proves on the bounded [`ProverPool`].
//!    **The relayer that proves learns the secret**: it can link that member's nullifiers to
//!    their wallet. A member who must hide that from the operator proves with the `circuits`
//!    library on their own machine and only uses `verify-ownership`.
//! 4. [`verify_ownership`](RegistryService::verify_ownership): checks the proof off chain
//!    (so a bad proof costs no fee), then submits `verify_ownership`, paid by the relayer,
//!    keyed by the nullifier: a nullifier spent before is a typed conflict carrying where it
//!    was spent, never a second transaction.

mod error;
pub mod handlers;
pub mod prover;
pub mod store;

use std::{collections::HashMap, sync::Arc};

use anchor_lang::{prelude::Pubkey, AccountDeserialize};
use anchor_spl::{associated_token, token, token_interface::TokenAccount};
use ed25519_dalek::{Signature, VerifyingKey};
use parking_lot::Mutex;
use veil_circuits::{identity, OwnershipWitness};
use veil_merkle::Tree;
use veil_poseidon::{from_be_bytes, to_be_bytes, Fr};
use veil_zk::{ProofBytes, PublicInputs};

use self::store::{NewMember, Published, Registration};
use crate::{
    platform::chain::{ChainClient, ChainError, Landed},
    platform::metrics::Metrics,
    registry::prover::{ProverError, ProverPool},
};

/// The message a wallet signs to register `commitment` on the track of `mint`.
pub fn registration_message(mint: &Pubkey, commitment: &[u8; 32]) -> String {
    identity::registration_message(&mint.to_string(), commitment)
}

/// Why a token account does not show the wallet holding the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotHeld {
    /// No account at that address.
    NoAccount,
    /// The account is not an SPL Token (or Token-2022) account.
    NotATokenAccount,
    /// It holds another mint.
    WrongMint,
    /// Another wallet owns it.
    WrongOwner,
    /// Its balance is zero.
    ZeroBalance,
}

impl NotHeld {
    /// The wire reason.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoAccount => "no_account",
            Self::NotATokenAccount => "not_a_token_account",
            Self::WrongMint => "wrong_mint",
            Self::WrongOwner => "wrong_owner",
            Self::ZeroBalance => "zero_balance",
        }
    }
}

/// Whether the token account `data` shows `wallet` holding `mint`: owned by an SPL Token
/// program, for this mint, owned by the wallet, not empty. The balance itself goes no further.
fn held(
    data: Option<&solana_account::Account>,
    wallet: &Pubkey,
    mint: &Pubkey,
) -> Result<(), NotHeld> {
    let data = data.ok_or(NotHeld::NoAccount)?;
    if data.owner != token::ID && data.owner != anchor_spl::token_2022::ID {
        return Err(NotHeld::NotATokenAccount);
    }
    let parsed = TokenAccount::try_deserialize_unchecked(&mut data.data.as_slice())
        .map_err(|_| NotHeld::NotATokenAccount)?;
    if parsed.mint != *mint {
        return Err(NotHeld::WrongMint);
    }
    if parsed.owner != *wallet {
        return Err(NotHeld::WrongOwner);
    }
    if parsed.amount == 0 {
        return Err(NotHeld::ZeroBalance);
    }
    Ok(())
}

/// Why a registry operation was refused. Each variant names the rule broken.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A value that must be a canonical BN254 scalar is not.
    #[error("`{0}` is not a canonical BN254 scalar (32 bytes, big-endian, below the modulus)")]
    NotInField(&'static str),
    /// The wallet's signature over the registration message does not verify.
    #[error("the signature is not the wallet's signature over the registration message")]
    BadSignature,
    /// The chain does not show the wallet holding the token.
    #[error("token account {account} does not show the wallet holding the mint ({})", .reason.as_str())]
    TokenNotHeld {
        /// The account read.
        account: Pubkey,
        /// Why not.
        reason: NotHeld,
    },
    /// The wallet registered another identity on this track.
    #[error("this wallet already registered another identity on this track (leaf {leaf_index})")]
    WalletAlreadyRegistered {
        /// Its leaf.
        leaf_index: u64,
    },
    /// Another wallet registered this identity on this track.
    #[error("this identity commitment is registered by another wallet on this track")]
    CommitmentTaken,
    /// Nobody registered on this track.
    #[error("no member is registered on this track")]
    UnknownTrack,
    /// The track has members but no published root yet.
    #[error("no root of this track is published yet")]
    NoPublishedRoot,
    /// The tree of this track holds no more leaves.
    #[error("the track's tree is full")]
    TreeFull,
    /// The secret's identity is not registered on this track.
    #[error("no member of this track has this identity")]
    NotAMember,
    /// The member registered after the latest published root.
    #[error("leaf {leaf_index} is not under a published root yet ({published} leaves published); publish first")]
    NotPublished {
        /// The member's leaf.
        leaf_index: u64,
        /// Leaves under the latest published root.
        published: u64,
    },
    /// The proof does not verify against its public inputs.
    #[error("the proof does not verify against its public inputs")]
    ProofInvalid,
    /// The nullifier was already spent on this track.
    #[error("this nullifier was already spent on this track")]
    NullifierAlreadyUsed {
        /// Where, when this relayer spent it.
        landed: Option<Landed>,
    },
    /// The root is not among the track's recent roots on chain.
    #[error("the root is not among the track's recent roots on chain")]
    RootNotRecent,
    /// The root's holdings snapshot is older than the track's freshness window.
    #[error("the root's holdings snapshot is older than the track's freshness window; publish and prove again")]
    RootTooOld,
    /// The proof's scope does not follow the track's nullifier rule now.
    #[error("the proof's scope does not follow the track's nullifier rule (0 once per track, or the current epoch); prove again with that scope")]
    ScopeMismatch,
    /// The latest published snapshot did not find the member holding the token.
    #[error("the latest published snapshot (slot {snapshot_slot}) did not find this member holding the token")]
    NotHeldAtSnapshot {
        /// The member's leaf.
        leaf_index: u64,
        /// The snapshot's slot.
        snapshot_slot: u64,
    },
    /// The chain layer failed.
    #[error(transparent)]
    Chain(ChainError),
    /// The prover failed or is full.
    #[error(transparent)]
    Prover(#[from] ProverError),
    /// PostgreSQL failed.
    #[error("registry store: {0}")]
    Database(#[from] sqlx::Error),
    /// The stored state contradicts itself (a bug or a tampered database; logged).
    #[error("registry integrity: {0}")]
    Integrity(String),
}

impl From<ChainError> for RegistryError {
    fn from(error: ChainError) -> Self {
        Self::Chain(error)
    }
}

/// A registration, as the wallet signed it.
#[derive(Debug, Clone)]
pub struct RegisterRequest {
    /// The wallet.
    pub wallet: Pubkey,
    /// The token mint (its track).
    pub mint: Pubkey,
    /// The token account to check; the wallet's associated token account when `None`.
    pub token_account: Option<Pubkey>,
    /// `Poseidon(secret)`, big-endian.
    pub commitment: [u8; 32],
    /// The wallet's Ed25519 signature over [`registration_message`].
    pub signature: [u8; 64],
}

/// A registered member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// The track.
    pub track_id: [u8; 32],
    /// The leaf's index.
    pub leaf_index: u64,
    /// The leaf.
    pub leaf: [u8; 32],
    /// False when the same registration was already stored.
    pub created: bool,
    /// The token account checked (it held the mint; its balance is never kept).
    pub token_account: Pubkey,
}

/// A root publication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishOutcome {
    /// The track.
    pub track_id: [u8; 32],
    /// The root and where it landed.
    pub published: Published,
    /// False when the root already covered every leaf and current holder, and its snapshot
    /// was younger than half the freshness window (nothing was sent).
    pub sent: bool,
    /// Members the snapshot found holding, of `published.leaves`.
    pub holders: u64,
}

/// What to prove.
#[derive(Debug, Clone)]
pub struct ProveRequest {
    /// The member's secret.
    pub secret: [u8; 32],
    /// The track's mint.
    pub mint: Pubkey,
    /// The nullifier scope (0 for once-per-track tracks).
    pub scope: [u8; 32],
    /// The signal hash binding the proof to an action and a recipient.
    pub signal_hash: [u8; 32],
}

/// A tree as published, cached per track.
struct PublishedTree {
    leaves: u64,
    root: [u8; 32],
    tree: Tree,
}

/// A track's published leaves ([`RegistryService::published_leaves`]).
#[derive(Debug, Clone)]
pub struct PublishedLeaves {
    /// The track.
    pub track_id: [u8; 32],
    /// The tree's depth.
    pub depth: usize,
    /// The root they hash to.
    pub root: [u8; 32],
    /// The leaves, in index order.
    pub leaves: Vec<[u8; 32]>,
    /// The publication.
    pub published: Published,
}

/// The registry flows.
pub struct RegistryService {
    pool: sqlx::PgPool,
    chain: Arc<ChainClient>,
    prover: Arc<ProverPool>,
    metrics: Metrics,
    trees: Mutex<HashMap<[u8; 32], Arc<PublishedTree>>>,
    /// One publication at a time in this process: the chain refuses a root whose leaf count
    /// is below the latest, so concurrent publications would race into refusals.
    publishing: tokio::sync::Mutex<()>,
    /// The freshness window of the tracks this relayer creates, in slots.
    freshness_slots: u64,
}

fn depth() -> usize {
    usize::from(veil_zk::vk::TREE_DEPTH)
}

fn scalar(bytes: &[u8; 32], name: &'static str) -> Result<Fr, RegistryError> {
    from_be_bytes(bytes).ok_or(RegistryError::NotInField(name))
}

impl RegistryService {
    /// The service over `chain` and `prover`.
    pub fn new(
        pool: sqlx::PgPool,
        chain: Arc<ChainClient>,
        prover: Arc<ProverPool>,
        metrics: Metrics,
        freshness_slots: u64,
    ) -> Self {
        Self {
            pool,
            chain,
            prover,
            metrics,
            trees: Mutex::new(HashMap::new()),
            publishing: tokio::sync::Mutex::new(()),
            freshness_slots,
        }
    }

    /// The prover pool (for `/health`).
    pub fn prover(&self) -> &ProverPool {
        &self.prover
    }

    /// Registers a wallet's identity on its token's track: see the module's rules.
    pub async fn register(&self, request: &RegisterRequest) -> Result<Registered, RegistryError> {
        let commitment = scalar(&request.commitment, "commitment")?;
        let key = VerifyingKey::from_bytes(&request.wallet.to_bytes())
            .map_err(|_| RegistryError::BadSignature)?;
        key.verify_strict(
            registration_message(&request.mint, &request.commitment).as_bytes(),
            &Signature::from_bytes(&request.signature),
        )
        .map_err(|_| RegistryError::BadSignature)?;

        let account = request.token_account.unwrap_or_else(|| {
            associated_token::get_associated_token_address(&request.wallet, &request.mint)
        });
        self.holding(&account, &request.wallet, &request.mint)
            .await?;

        let track_id = veil_zk::track_id_for(&request.mint.to_bytes());
        let token_id = veil_zk::token_id_for(&request.mint.to_bytes());
        let leaf = to_be_bytes(&identity::leaf(
            &commitment,
            &scalar(&token_id, "token_id")?,
            &scalar(&track_id, "track_id")?,
        ));
        let (wallet, mint, token_account) = (
            request.wallet.to_string(),
            request.mint.to_string(),
            account.to_string(),
        );
        let outcome = store::register(
            &self.pool,
            1u64 << depth(),
            &NewMember {
                track_id: &track_id,
                mint: &mint,
                commitment: &request.commitment,
                token_id: &token_id,
                leaf: &leaf,
                wallet: &wallet,
                token_account: &token_account,
            },
        )
        .await?;
        let (leaf_index, created) = match outcome {
            Registration::Added { leaf_index } => (leaf_index, true),
            Registration::Existing { leaf_index } => (leaf_index, false),
            Registration::WalletTaken { leaf_index } => {
                return Err(RegistryError::WalletAlreadyRegistered { leaf_index })
            }
            Registration::CommitmentTaken => return Err(RegistryError::CommitmentTaken),
            Registration::Full => return Err(RegistryError::TreeFull),
        };
        Ok(Registered {
            track_id,
            leaf_index,
            leaf,
            created,
            token_account: account,
        })
    }

    /// Whether `account` shows `wallet` holding `mint`.
    async fn holding(
        &self,
        account: &Pubkey,
        wallet: &Pubkey,
        mint: &Pubkey,
    ) -> Result<(), RegistryError> {
        let not_held = |reason| RegistryError::TokenNotHeld {
            account: *account,
            reason,
        };
        let data = self.chain.account(account).await?;
        held(data.as_ref(), wallet, mint).map_err(not_held)
    }

    /// One publisher round: publishes every track with registrations its published root does
    /// not cover yet; the tracks it sent a root for. A track that fails is logged and tried
    /// again next round; the others go on.
    pub async fn publish_behind(&self) -> Result<Vec<PublishOutcome>, RegistryError> {
        let mut sent = Vec::new();
        for mint in store::tracks_behind(&self.pool).await? {
            let Ok(key) = mint.parse::<Pubkey>() else {
                tracing::warn!(%mint, "a stored track's mint is not an address; skipped");
                continue;
            };
            match self.publish(&key).await {
                Ok(outcome) if outcome.sent => sent.push(outcome),
                Ok(_) => {}
                Err(error) => tracing::warn!(%mint, %error, "publishing the track failed"),
            }
        }
        Ok(sent)
    }

    /// Runs [`publish_behind`](Self::publish_behind) every `tick` until `stop` changes
    /// (`RELAYER_PUBLISH_INTERVAL_SECS`), so that a member who registers can prove within a
    /// tick without an operator's call.
    pub async fn run_publisher(
        self: Arc<Self>,
        tick: std::time::Duration,
        stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut stop = stop;
        loop {
            match self.publish_behind().await {
                Ok(sent) => {
                    for outcome in sent {
                        tracing::info!(
                            track = %hex::encode(outcome.track_id),
                            leaves = outcome.published.leaves,
                            "published a track's root"
                        );
                    }
                }
                Err(error) => tracing::warn!(%error, "publisher round failed; retrying next tick"),
            }
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// Publishes the root of the current holders among every member registered on `mint`'s
    /// track: see the module's rules.
    pub async fn publish(&self, mint: &Pubkey) -> Result<PublishOutcome, RegistryError> {
        let _one = self.publishing.lock().await;
        let track_id = veil_zk::track_id_for(&mint.to_bytes());
        let track = store::track(&self.pool, &track_id)
            .await?
            .ok_or(RegistryError::UnknownTrack)?;

        // The snapshot: every member's token account, read at (or after) one slot.
        let members = store::holders(&self.pool, &track_id, track.leaf_count).await?;
        let accounts = members
            .iter()
            .map(|m| {
                m.token_account.parse::<Pubkey>().map_err(|_| {
                    RegistryError::Integrity(format!("stored token account {}", m.token_account))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (snapshot_slot, data) = self.chain.accounts(&accounts).await?;
        let mut holding = Vec::with_capacity(members.len());
        for (member, data) in members.iter().zip(&data) {
            let wallet = member.wallet.parse::<Pubkey>().map_err(|_| {
                RegistryError::Integrity(format!("stored wallet {}", member.wallet))
            })?;
            holding.push(held(data.as_ref(), &wallet, mint).is_ok());
        }
        let holders = holding.iter().filter(|h| **h).count() as u64;
        let leaves: Vec<[u8; 32]> = members
            .iter()
            .zip(&holding)
            .map(|(m, h)| if *h { m.leaf } else { [0; 32] })
            .collect();
        let tree = self.tree_of(&leaves).await?;
        let root = to_be_bytes(&tree.root());

        // Unchanged holders and a snapshot younger than half the window: nothing to send.
        if let Some(published) = track.published.clone().filter(|p| {
            p.leaves == track.leaf_count
                && p.root == root
                && snapshot_slot.saturating_sub(p.snapshot_slot) < self.freshness_slots / 2
        }) {
            return Ok(PublishOutcome {
                track_id,
                published,
                sent: false,
                holders,
            });
        }

        let registrar = self.chain.payer();
        let track_pda = veil_client::registry::track_pda(&track_id).0;
        if self.chain.account(&track_pda).await?.is_none() {
            let create = veil_client::registry::create_track(
                &registrar,
                track_id,
                veil_zk::vk::TREE_DEPTH,
                0,
                self.freshness_slots,
            );
            self.submit(&format!("create_track:{}", hex::encode(track_id)), create)
                .await?;
        }
        let publish = veil_client::registry::publish_root(
            &registrar,
            track_id,
            root,
            track.leaf_count,
            snapshot_slot,
        );
        let landed = self
            .submit(
                &format!(
                    "publish_root:{}:{}:{}",
                    hex::encode(track_id),
                    track.leaf_count,
                    snapshot_slot
                ),
                publish,
            )
            .await?;
        let published = Published {
            leaves: track.leaf_count,
            root,
            slot: landed.slot,
            signature: landed.signature,
            snapshot_slot,
        };
        store::published(&self.pool, &track_id, &published, &holding).await?;
        self.trees.lock().insert(
            track_id,
            Arc::new(PublishedTree {
                leaves: track.leaf_count,
                root,
                tree,
            }),
        );
        Ok(PublishOutcome {
            track_id,
            published,
            sent: true,
            holders,
        })
    }

    async fn submit(
        &self,
        key: &str,
        ix: anchor_lang::solana_program::instruction::Instruction,
    ) -> Result<Landed, ChainError> {
        let result = self.chain.submit(key, &[ix], &[]).await;
        crate::platform::chain::record_submission(&self.metrics, &result);
        result
    }

    /// The tree of the first `leaves` leaves as the latest snapshot has them (a member no
    /// longer holding has the empty leaf).
    async fn build(&self, track_id: &[u8; 32], leaves: u64) -> Result<Tree, RegistryError> {
        let stored = store::leaves(&self.pool, track_id, leaves).await?;
        self.tree_of(&stored).await
    }

    /// The tree of `leaves`, built off the async runtime.
    async fn tree_of(&self, leaves: &[[u8; 32]]) -> Result<Tree, RegistryError> {
        let fields = leaves
            .iter()
            .map(|leaf| scalar(leaf, "leaf"))
            .collect::<Result<Vec<_>, _>>()?;
        // Hashing 2^20 leaves takes seconds: off the async runtime.
        tokio::task::spawn_blocking(move || Tree::from_leaves(depth(), fields))
            .await
            .map_err(|join| RegistryError::Integrity(format!("the tree build panicked: {join}")))?
            .map_err(|_| RegistryError::TreeFull)
    }

    /// The tree under the latest published root of `track_id`.
    async fn published_tree(
        &self,
        track_id: &[u8; 32],
        published: &Published,
    ) -> Result<Arc<PublishedTree>, RegistryError> {
        if let Some(cached) = self.trees.lock().get(track_id) {
            if cached.leaves == published.leaves {
                return Ok(cached.clone());
            }
        }
        let tree = self.build(track_id, published.leaves).await?;
        let root = to_be_bytes(&tree.root());
        if root != published.root {
            // The stored leaves no longer give the published root: never prove against it.
            return Err(RegistryError::Integrity(format!(
                "the stored leaves of track {} do not hash to its published root",
                hex::encode(track_id)
            )));
        }
        let entry = Arc::new(PublishedTree {
            leaves: published.leaves,
            root,
            tree,
        });
        self.trees.lock().insert(*track_id, entry.clone());
        Ok(entry)
    }

    /// The leaves under the latest published root of `mint`'s track, in index order (a member
    /// the snapshot did not find holding has the empty leaf), checked to hash to that root:
    /// what a member needs to build its own Merkle path and prove on its own machine. They say
    /// nothing of whose each leaf is.
    pub async fn published_leaves(&self, mint: &Pubkey) -> Result<PublishedLeaves, RegistryError> {
        let track_id = veil_zk::track_id_for(&mint.to_bytes());
        let track = store::track(&self.pool, &track_id)
            .await?
            .ok_or(RegistryError::UnknownTrack)?;
        let published = track.published.ok_or(RegistryError::NoPublishedRoot)?;
        let tree = self.published_tree(&track_id, &published).await?;
        let leaves = (0..published.leaves)
            .map(|i| tree.tree.leaf(i).map(to_be_bytes))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| RegistryError::Integrity("a published leaf is missing".into()))?;
        Ok(PublishedLeaves {
            track_id,
            depth: depth(),
            root: tree.root,
            leaves,
            published,
        })
    }

    /// Proves the membership of the secret's identity under the latest published root.
    pub async fn prove(
        &self,
        request: &ProveRequest,
    ) -> Result<(ProofBytes, PublicInputs), RegistryError> {
        let secret = scalar(&request.secret, "secret")?;
        scalar(&request.scope, "scope")?;
        scalar(&request.signal_hash, "signal_hash")?;
        let track_id = veil_zk::track_id_for(&request.mint.to_bytes());
        let commitment = to_be_bytes(&identity::commitment(&secret));
        let (leaf_index, token_id) = store::member(&self.pool, &track_id, &commitment)
            .await?
            .ok_or(RegistryError::NotAMember)?;
        let track = store::track(&self.pool, &track_id)
            .await?
            .ok_or(RegistryError::NotAMember)?;
        // A member the latest snapshot did not find holding has the empty leaf: no proof.
        if let Some(published) = &track.published {
            if leaf_index < published.leaves
                && !store::active(&self.pool, &track_id, &commitment).await?
            {
                return Err(RegistryError::NotHeldAtSnapshot {
                    leaf_index,
                    snapshot_slot: published.snapshot_slot,
                });
            }
        }
        let published = track
            .published
            .clone()
            .filter(|p| leaf_index < p.leaves)
            .ok_or_else(|| RegistryError::NotPublished {
                leaf_index,
                published: track.published.as_ref().map_or(0, |p| p.leaves),
            })?;
        let tree = self.published_tree(&track_id, &published).await?;
        let path = tree
            .tree
            .proof(leaf_index)
            .map_err(|_| RegistryError::NotAMember)?;
        let witness = OwnershipWitness::from_bytes(
            secret,
            scalar(&token_id, "token_id")?,
            &track_id,
            &request.scope,
            &request.signal_hash,
            path,
        )
        .map_err(ProverError::from)?;
        let (proof, inputs) = self.prover.prove(witness).await?;
        debug_assert_eq!(inputs.root, tree.root);
        Ok((proof, inputs))
    }

    /// Checks the proof, then spends its nullifier on chain, once.
    pub async fn verify_ownership(
        &self,
        proof: &ProofBytes,
        inputs: &PublicInputs,
    ) -> Result<Landed, RegistryError> {
        if let Some(field) = inputs.first_non_canonical() {
            return Err(RegistryError::NotInField(field));
        }
        veil_zk::verify(proof, inputs).map_err(|_| RegistryError::ProofInvalid)?;
        let key = format!(
            "verify_ownership:{}:{}",
            hex::encode(inputs.track_id),
            hex::encode(inputs.nullifier)
        );
        let ix = veil_client::registry::verify_ownership(
            &self.chain.payer(),
            veil_client::registry::verify_ownership_args(proof, inputs),
        );
        let result = self.chain.submit(&key, &[ix], &[]).await;
        let mut label = crate::platform::chain::submission_label(&result);
        let outcome = match result {
            Ok(landed) if landed.by_this_call => Ok(landed),
            // Spent earlier through this relayer: the record says where.
            Ok(landed) => Err(RegistryError::NullifierAlreadyUsed {
                landed: Some(landed),
            }),
            Err(ChainError::Failed(failure)) => {
                use veil_client::errors::{RegistryFailure, RegistryInstructionKind};
                Err(
                    match failure.registry(RegistryInstructionKind::VerifyOwnership) {
                        RegistryFailure::NullifierAlreadyUsed => {
                            RegistryError::NullifierAlreadyUsed { landed: None }
                        }
                        RegistryFailure::Program(
                            registry::error::RegistryError::RootNotInHistory,
                        ) => RegistryError::RootNotRecent,
                        RegistryFailure::Program(registry::error::RegistryError::RootTooOld) => {
                            RegistryError::RootTooOld
                        }
                        RegistryFailure::Program(registry::error::RegistryError::InvalidProof) => {
                            RegistryError::ProofInvalid
                        }
                        RegistryFailure::Program(registry::error::RegistryError::ScopeMismatch) => {
                            RegistryError::ScopeMismatch
                        }
                        _ => RegistryError::Chain(ChainError::Failed(failure)),
                    },
                )
            }
            Err(other) => Err(RegistryError::Chain(other)),
        };
        if matches!(outcome, Err(RegistryError::NullifierAlreadyUsed { .. })) {
            label = "conflict";
        }
        self.metrics
            .tx_submitted_total
            .with_label_values(&[label])
            .inc();
        outcome
    }
}
