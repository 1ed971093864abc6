//! Challenges through the relayer (SPEC §3.2, §6 "Challenges").
//!
//! **Who signs what.** A party's own steps (create, accept, deposit, lock, confirm; resolve
//! for the arbiter) are built here as *unsigned* transactions, fee payer the wallet, with a
//! fresh blockhash: the wallet signs and sends them itself, or hands them back through
//! [`forward`](ChallengeService::forward), which sends and confirms them. The relayer never
//! holds a party's key and never pays for a party's step. The steps the program lets others
//! take are submitted by the relayer with its chain key, at most once per effect through the
//! chain layer:
//!
//! - **attest** (`attest:<challenge>:<party>`): the relayer is the challenge program's
//!   gatekeeper. The wallet check is the party's own signature on chain (the creator signed
//!   `create_challenge`, the counterparty `accept`); the funds check reads the party's balance
//!   of the bond mint (SOL when unbonded) and passes when it covers the bond. The balance itself
//!   never leaves the relayer: the attestation record keeps a salted hash of it, and its
//!   SHA-256 is what goes on chain. With [`Evidence`] the checks are the
//!   [gatekeeper](crate::gatekeeper)'s: the party's Sign-In With Solana verification, the bond
//!   checked as a funds attestation of that wallet, and any further funds requirement the
//!   terms set (on Solana or an EVM network); the hash on chain then covers the verification
//!   and every funds attestation (`docs/gatekeeper.md`);
//! - **settle** (`settle:<challenge>`), creating the treasury's token account if needed;
//! - **expire** (`expire:<challenge>`), also run by the background [crank](ChallengeService::crank),
//!   which expires every challenge whose current deadline has passed by the chain's clock
//!   (refunds, or completion with the single confirmation given; `docs/challenge.md`).
//!
//! Every release the relayer sends also creates the treasury's associated token account if
//! needed, because a vault someone sent surplus tokens into sweeps them there as it closes.

mod error;
pub mod handlers;
pub mod listing;
pub mod reads;
pub mod store;

use std::{sync::Arc, time::Duration};

use anchor_lang::{prelude::Pubkey, solana_program::instruction::Instruction, Discriminator};
use anchor_spl::associated_token::{
    get_associated_token_address, spl_associated_token_account::instruction as ata_ix,
};
use base64::Engine;
use challenge::{
    error::ChallengeError as ProgramError,
    state::{Challenge, Outcome, Party, Status},
    AttestVerificationArgs, CreateChallengeArgs,
};
use rand::RngCore;
use sha2::{Digest, Sha256};
use solana_message::Message;
use solana_transaction::{versioned::VersionedTransaction, Transaction};
use veil_client::{challenge as cix, registry as rix};

use crate::{
    gatekeeper::{FundsAttestation, GatekeeperError, GatekeeperService, Threshold, Verification},
    platform::chain::{ChainClient, ChainError, Landed, TxFailure},
    platform::metrics::Metrics,
};

/// Domain of an attestation record's hash, when the wallet check is the on-chain signature.
pub const ATTESTATION_DOMAIN: &[u8] = b"chitty-veil/attestation/v1";
/// Domain of an attestation record's hash, when the checks are the gatekeeper's evidence.
pub const EVIDENCE_ATTESTATION_DOMAIN: &[u8] = b"chitty-veil/attestation/v2";

/// Why a challenge operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChallengeApiError {
    /// No challenge account at that address.
    #[error("no challenge at {0}")]
    NotFound(Pubkey),
    /// The challenge has no counterparty yet.
    #[error("the challenge has no counterparty yet")]
    NoCounterparty,
    /// The challenge has no arbiter.
    #[error("the challenge has no arbiter")]
    NoArbiter,
    /// The program refused the step, with the rule it names.
    #[error("the challenge program refused: {0}")]
    Refused(ProgramError),
    /// The signed transaction handed to the relayer is not a transaction, or is not signed.
    #[error("the transaction is not a signed Solana transaction: {0}")]
    BadTransaction(&'static str),
    /// The signed transaction calls a program the relayer does not forward for: it is no open
    /// relay for arbitrary traffic on its RPC quota.
    #[error(
        "the relayer forwards transactions for its own programs only; this one calls {program}"
    )]
    ProgramNotAllowed {
        /// The first program it calls that is not allowed.
        program: Pubkey,
    },
    /// A funds requirement names no wallet verification to check it against.
    #[error("a funds requirement needs a wallet verification: give `wallet_verification_id` or `funds.verification_id`")]
    VerificationRequired,
    /// The cited wallet verification is not of this party's wallet.
    #[error(
        "wallet verification {verification} is of {found}, not of the party's wallet {expected}"
    )]
    VerificationMismatch {
        /// The verification's id.
        verification: String,
        /// The party's wallet (base58).
        expected: String,
        /// The verified address (`<CAIP-2 chain>:<address>`).
        found: String,
    },
    /// The gatekeeper refused or failed.
    #[error(transparent)]
    Gatekeeper(#[from] GatekeeperError),
    /// The chain layer failed.
    #[error(transparent)]
    Chain(ChainError),
    /// PostgreSQL failed.
    #[error("challenge store: {0}")]
    Database(#[from] sqlx::Error),
    /// A session asked for a step that is another wallet's.
    #[error("this step is {step_wallet}'s; a session acts for its own wallet only")]
    NotActingWallet {
        /// The wallet whose step it is.
        step_wallet: Pubkey,
    },
    /// A concurrent read of the same challenge, whose answer this one shared, failed.
    #[error("reading the challenge failed: {0}")]
    ReadFailed(String),
}

impl From<ChainError> for ChallengeApiError {
    fn from(error: ChainError) -> Self {
        // A refusal by the challenge program is the caller's, with its rule.
        if let ChainError::Failed(failure) = &error {
            if let Some(rule) = challenge_refusal(failure) {
                return Self::Refused(rule);
            }
        }
        Self::Chain(error)
    }
}

/// The challenge program's error in `failure`, if it is the program that refused.
pub fn challenge_refusal(failure: &TxFailure) -> Option<ProgramError> {
    if failure.failing_program != Some(cix::PROGRAM_ID) {
        return None;
    }
    failure
        .custom_code()
        .and_then(veil_client::errors::challenge_error)
}

/// The programs a forwarded transaction may call at its top level: ours, and what a wallet
/// needs around them (token transfers and accounts, compute budget). Programs they call in
/// turn (the system program under the associated-token program) are theirs to choose.
pub const FORWARDABLE_PROGRAMS: [Pubkey; 6] = [
    rix::PROGRAM_ID,
    cix::PROGRAM_ID,
    anchor_spl::token::ID,
    anchor_spl::token_2022::ID,
    anchor_spl::associated_token::ID,
    COMPUTE_BUDGET_PROGRAM_ID,
];

/// `ComputeBudget111111111111111111111111111111`.
pub const COMPUTE_BUDGET_PROGRAM_ID: Pubkey =
    Pubkey::from_str_const("ComputeBudget111111111111111111111111111111");

/// A wallet-signed transaction, legacy or v0, checked for forwarding: it decodes, every
/// required signature verifies, and it calls only [`FORWARDABLE_PROGRAMS`].
pub fn forwardable(bytes: &[u8]) -> Result<VersionedTransaction, ChallengeApiError> {
    let tx: VersionedTransaction = bincode::deserialize(bytes)
        .map_err(|_| ChallengeApiError::BadTransaction("not a bincode transaction"))?;
    if tx.sanitize().is_err() {
        return Err(ChallengeApiError::BadTransaction(
            "its message is malformed (account indexes, header or signature count)",
        ));
    }
    if !signed(&tx) {
        return Err(ChallengeApiError::BadTransaction(
            "a signature is missing or does not verify",
        ));
    }
    let keys = tx.message.static_account_keys();
    for instruction in tx.message.instructions() {
        // Program ids are always static keys (sanitize checked the index).
        let program = keys[usize::from(instruction.program_id_index)];
        if !FORWARDABLE_PROGRAMS.contains(&program) {
            return Err(ChallengeApiError::ProgramNotAllowed { program });
        }
    }
    Ok(tx)
}

/// Whether every required signature of `tx` is present and verifies.
fn signed(tx: &VersionedTransaction) -> bool {
    let required = usize::from(tx.message.header().num_required_signatures);
    let Ok(message) = bincode::serialize(&tx.message) else {
        return false;
    };
    required > 0
        && tx.signatures.len() == required
        && tx
            .signatures
            .iter()
            .zip(tx.message.static_account_keys())
            .all(|(signature, key)| {
                let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&key.to_bytes()) else {
                    return false;
                };
                let Ok(bytes) = <[u8; 64]>::try_from(signature.as_ref()) else {
                    return false;
                };
                key.verify_strict(&message, &ed25519_dalek::Signature::from_bytes(&bytes))
                    .is_ok()
            })
}

/// A transaction for a wallet to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsigned {
    /// The challenge.
    pub challenge: Pubkey,
    /// The transaction, bincode then base64, with empty signatures.
    pub transaction: String,
    /// Who must sign it (the fee payer).
    pub signer: Pubkey,
    /// The last block height at which it can land.
    pub last_valid_block_height: u64,
}

/// What `create` needs.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    /// The creator (signs, pays).
    pub creator: Pubkey,
    /// Program arguments; `nonce` picks the address.
    pub args: CreateChallengeArgs,
    /// The bond mint, when bonded.
    pub bond_mint: Option<Pubkey>,
}

/// The gatekeeper's evidence an attestation is made from. Empty: the on-chain signature and
/// a direct read of the bond.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// The party's Sign-In With Solana verification (its id).
    pub wallet_verification: Option<String>,
    /// A further proof of funds the terms ask of the party.
    pub funds: Option<FundsRequirement>,
}

impl Evidence {
    fn is_empty(&self) -> bool {
        self.wallet_verification.is_none() && self.funds.is_none()
    }
}

/// At least `threshold` of `asset`, held by a verified wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundsRequirement {
    /// The wallet verification to check (any chain the gatekeeper reads); by default the
    /// party's [`wallet_verification`](Evidence::wallet_verification).
    pub verification: Option<String>,
    /// `native`, a mint (Solana) or an ERC-20 contract (EVM).
    pub asset: String,
    /// A decimal in the asset's units.
    pub threshold: String,
}

/// An attestation the relayer made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attested {
    /// Both checks passed.
    pub passed: bool,
    /// SHA-256 of the record, as stored on chain.
    pub attestation_hash: [u8; 32],
    /// The wallet verification it cites, if made from evidence.
    pub wallet_verification: Option<String>,
    /// The funds attestations it cites (the bond's first), if made from evidence.
    pub funds_attestations: Vec<String>,
    /// Where it landed.
    pub landed: Landed,
}

/// Who is being attested, and what of the bond is already in the vault.
#[derive(Clone, Copy)]
struct Subject<'a> {
    address: &'a Pubkey,
    party: Party,
    challenge: &'a Challenge,
    wallet: &'a Pubkey,
    /// Base units of the party's bond the vault holds.
    deposited: u64,
}

/// The checks of one attestation, before it is written.
struct Checks {
    wallet_ok: bool,
    funds_ok: bool,
    salt: [u8; 16],
    balance_hash: [u8; 32],
    attestation_hash: [u8; 32],
    wallet_verification: Option<String>,
    funds_attestations: Vec<String>,
}

/// The challenge flows.
pub struct ChallengeService {
    pool: sqlx::PgPool,
    chain: Arc<ChainClient>,
    gatekeeper: Arc<GatekeeperService>,
    metrics: Metrics,
    reads: Arc<reads::ReadCache>,
}

/// The tokens of `party` in `challenge`'s bond mint (its associated token account).
fn party_tokens(challenge: &Challenge, party: Option<Pubkey>) -> Option<Pubkey> {
    party.map(|wallet| get_associated_token_address(&wallet, &challenge.bond_mint))
}

/// The escrow accounts of `challenge`, with each party's and the treasury's associated token
/// account.
fn escrow(challenge: &Challenge) -> challenge::accounts::Escrow {
    cix::escrow(
        challenge,
        cix::EscrowTokens {
            creator: party_tokens(challenge, Some(challenge.creator)),
            counterparty: party_tokens(challenge, challenge.counterparty),
            treasury: party_tokens(challenge, Some(challenge.treasury)),
        },
    )
}

/// Creates the treasury's associated token account of `challenge`'s bond mint if it does not
/// exist, paid by `payer` (an escrow release may pay into it). `None` when unbonded.
fn treasury_account_ix(payer: &Pubkey, challenge: &Challenge) -> Option<Instruction> {
    (challenge.bond_amount > 0).then(|| {
        ata_ix::create_associated_token_account_idempotent(
            payer,
            &challenge.treasury,
            &challenge.bond_mint,
            &anchor_spl::token::ID,
        )
    })
}

/// Whether `verification` is a Sign-In With Solana of `wallet` (on any Solana cluster).
fn is_wallet_of(verification: &Verification, wallet: &Pubkey) -> bool {
    verification.chain_id.starts_with("solana:") && verification.address == wallet.to_string()
}

/// A session acting as `acting_as` may take only `wallet`'s step.
fn require_acting(acting_as: Option<&Pubkey>, wallet: &Pubkey) -> Result<(), ChallengeApiError> {
    match acting_as {
        Some(acting) if acting != wallet => Err(ChallengeApiError::NotActingWallet {
            step_wallet: *wallet,
        }),
        _ => Ok(()),
    }
}

/// Whether `challenge` may be expired at chain time `now`: the program's own rule.
pub fn is_overdue(challenge: &Challenge, now: i64) -> bool {
    challenge.expiry(now).is_ok()
}

impl ChallengeService {
    /// The service over `chain`; the chain key is the program's gatekeeper, and `gatekeeper`
    /// checks the evidence attestations cite.
    /// Reads for `GET /api/v2/challenges/{address}` are cached for `read_ttl`
    /// ([`reads`]).
    pub fn new(
        pool: sqlx::PgPool,
        chain: Arc<ChainClient>,
        gatekeeper: Arc<GatekeeperService>,
        metrics: Metrics,
        read_ttl: Duration,
    ) -> Self {
        let reads = Arc::new(reads::ReadCache::new(
            chain.clone(),
            read_ttl,
            metrics.clone(),
        ));
        Self {
            pool,
            chain,
            gatekeeper,
            metrics,
            reads,
        }
    }

    /// The challenge at `address` for a reader, from the [read cache](reads), with the slot it
    /// was read at.
    pub async fn read(&self, address: &Pubkey) -> Result<Arc<reads::Snapshot>, ChallengeApiError> {
        let snapshot = self.reads.read(address).await?;
        if snapshot.challenge.is_none() {
            return Err(ChallengeApiError::NotFound(*address));
        }
        Ok(snapshot)
    }

    /// The read cache, for its listener ([`reads::ReadCache::run_listener`]).
    pub fn read_cache(&self) -> &Arc<reads::ReadCache> {
        &self.reads
    }

    /// The challenge at `address`.
    pub async fn get(&self, address: &Pubkey) -> Result<Challenge, ChallengeApiError> {
        let account = self
            .chain
            .account(address)
            .await?
            .ok_or(ChallengeApiError::NotFound(*address))?;
        if account.owner != cix::PROGRAM_ID {
            return Err(ChallengeApiError::NotFound(*address));
        }
        veil_client::decode::account::<Challenge>(&account.data)
            .map_err(|_| ChallengeApiError::NotFound(*address))
    }

    async fn unsigned(
        &self,
        challenge: Pubkey,
        signer: Pubkey,
        ixs: &[Instruction],
    ) -> Result<Unsigned, ChallengeApiError> {
        let (blockhash, last_valid_block_height) = self.chain.latest_blockhash().await?;
        let message = Message::new_with_blockhash(ixs, Some(&signer), &blockhash);
        let tx = Transaction::new_unsigned(message);
        let bytes = bincode::serialize(&tx)
            .map_err(|_| ChallengeApiError::BadTransaction("unserializable"))?;
        Ok(Unsigned {
            challenge,
            transaction: base64::engine::general_purpose::STANDARD.encode(bytes),
            signer,
            last_valid_block_height,
        })
    }

    /// `create_challenge`, for the creator to sign. With `key_id`, that API key lists the
    /// challenge once it lands ([`listing`]).
    pub async fn create(
        &self,
        request: &CreateRequest,
        key_id: Option<&str>,
    ) -> Result<Unsigned, ChallengeApiError> {
        let address = cix::challenge_pda(&request.creator, request.args.nonce).0;
        let ix = cix::create_challenge(&request.creator, request.args.clone(), request.bond_mint);
        let unsigned = self.unsigned(address, request.creator, &[ix]).await?;
        if let Some(key_id) = key_id {
            listing::record_origin(&self.pool, &address, key_id).await?;
        }
        Ok(unsigned)
    }

    /// `accept`, for the counterparty to sign.
    pub async fn accept(
        &self,
        address: &Pubkey,
        counterparty: &Pubkey,
    ) -> Result<Unsigned, ChallengeApiError> {
        self.get(address).await?;
        self.unsigned(
            *address,
            *counterparty,
            &[cix::accept(counterparty, address)],
        )
        .await
    }

    fn wallet_of(challenge: &Challenge, party: Party) -> Result<Pubkey, ChallengeApiError> {
        match party {
            Party::Creator => Ok(challenge.creator),
            Party::Counterparty => challenge
                .counterparty
                .ok_or(ChallengeApiError::NoCounterparty),
        }
    }

    /// A step of `party`'s, built by `build` from the challenge and the party's wallet, for
    /// that wallet to sign. With `acting_as` (a session's wallet), only for that wallet.
    async fn party_step(
        &self,
        address: &Pubkey,
        party: Party,
        acting_as: Option<&Pubkey>,
        build: impl FnOnce(&Challenge, &Pubkey) -> Instruction,
    ) -> Result<Unsigned, ChallengeApiError> {
        let challenge = self.get(address).await?;
        let wallet = Self::wallet_of(&challenge, party)?;
        require_acting(acting_as, &wallet)?;
        let ix = build(&challenge, &wallet);
        self.unsigned(*address, wallet, &[ix]).await
    }

    /// `deposit_bond` from the party's associated token account, for the party to sign.
    pub async fn deposit(
        &self,
        address: &Pubkey,
        party: Party,
        acting_as: Option<&Pubkey>,
    ) -> Result<Unsigned, ChallengeApiError> {
        self.party_step(address, party, acting_as, |challenge, wallet| {
            let from = get_associated_token_address(wallet, &challenge.bond_mint);
            cix::deposit_bond(wallet, address, challenge, &from)
        })
        .await
    }

    /// `lock_intent`, for the party to sign.
    pub async fn lock(
        &self,
        address: &Pubkey,
        party: Party,
        acting_as: Option<&Pubkey>,
    ) -> Result<Unsigned, ChallengeApiError> {
        self.party_step(address, party, acting_as, |_, wallet| {
            cix::lock_intent(wallet, address)
        })
        .await
    }

    /// `confirm_outcome`, for the party to sign.
    pub async fn confirm(
        &self,
        address: &Pubkey,
        party: Party,
        outcome: Outcome,
        acting_as: Option<&Pubkey>,
    ) -> Result<Unsigned, ChallengeApiError> {
        self.party_step(address, party, acting_as, |_, wallet| {
            cix::confirm_outcome(wallet, address, outcome)
        })
        .await
    }

    /// `resolve`, for the arbiter to sign (with `acting_as`, only when it is the arbiter).
    pub async fn resolve(
        &self,
        address: &Pubkey,
        outcome: Outcome,
        acting_as: Option<&Pubkey>,
    ) -> Result<Unsigned, ChallengeApiError> {
        let challenge = self.get(address).await?;
        let arbiter = challenge.arbiter.ok_or(ChallengeApiError::NoArbiter)?;
        require_acting(acting_as, &arbiter)?;
        self.unsigned(
            *address,
            arbiter,
            &[cix::resolve(&arbiter, address, outcome)],
        )
        .await
    }

    async fn submit(
        &self,
        address: &Pubkey,
        key: &str,
        ixs: &[Instruction],
    ) -> Result<Landed, ChallengeApiError> {
        let result = self.chain.submit(key, ixs, &[]).await;
        crate::platform::chain::record_submission(&self.metrics, &result);
        let landed = result?;
        self.reads.invalidate(address, Some(landed.slot)).await;
        Ok(landed)
    }

    /// Checks `party` and attests the result on chain as the gatekeeper, once: from the
    /// on-chain signature and the bond's balance, or from `evidence`.
    pub async fn attest(
        &self,
        address: &Pubkey,
        party: Party,
        evidence: &Evidence,
        api_key_id: Option<&str>,
        acting_as: Option<&Pubkey>,
    ) -> Result<Attested, ChallengeApiError> {
        let label = match party {
            Party::Creator => "creator",
            Party::Counterparty => "counterparty",
        };
        let key = format!("attest:{address}:{label}");
        // A session asks for its own party only.
        if acting_as.is_some() {
            let challenge = self.get(address).await?;
            require_acting(acting_as, &Self::wallet_of(&challenge, party)?)?;
        }
        if let Some(stored) = store::attestation(&self.pool, &key).await? {
            return Ok(stored);
        }
        let challenge = self.get(address).await?;
        // Nothing is checked or stored before the program would take the attestation: a
        // result recorded while the challenge still awaits its counterparty (the creator may
        // not hold the bond yet) used to be reused, and cancel, the legitimate attestation
        // after acceptance (audit finding 10).
        if challenge.status != Status::Accepted {
            return Err(ChallengeApiError::Refused(ProgramError::InvalidStatus));
        }
        if challenge.party(party).verified {
            return Err(ChallengeApiError::Refused(ProgramError::AlreadyVerified));
        }
        let wallet = Self::wallet_of(&challenge, party)?;
        // A bond the party already deposited is funds it committed: it counts.
        let deposited = if challenge.party(party).bond_deposited {
            challenge.bond_amount
        } else {
            0
        };
        let subject = Subject {
            address,
            party,
            challenge: &challenge,
            wallet: &wallet,
            deposited,
        };
        let checks = if evidence.is_empty() {
            self.check_directly(subject).await?
        } else {
            self.check_evidence(subject, evidence, api_key_id).await?
        };
        let record = store::NewAttestation {
            key: &key,
            challenge: &address.to_string(),
            party: label,
            wallet: &wallet.to_string(),
            wallet_ok: checks.wallet_ok,
            funds_ok: checks.funds_ok,
            salt: &checks.salt,
            balance_hash: &checks.balance_hash,
            attestation_hash: &checks.attestation_hash,
            wallet_verification: checks.wallet_verification.as_deref(),
            funds_attestations: &checks.funds_attestations,
        };
        // The record is written first; a retry after a crash attests what it holds.
        let prepared = store::prepare(&self.pool, &record).await?;
        let payer = self.chain.payer();
        let attest = cix::attest_verification(
            &payer,
            address,
            AttestVerificationArgs {
                party,
                wallet_ok: prepared.wallet_ok,
                funds_ok: prepared.funds_ok,
                attestation_hash: prepared.attestation_hash,
            },
            escrow(&challenge),
        );
        // A failed check refunds through the escrow, which may sweep surplus to the treasury.
        let ixs: Vec<Instruction> = treasury_account_ix(&payer, &challenge)
            .into_iter()
            .chain([attest])
            .collect();
        let landed = match self.submit(address, &key, &ixs).await {
            Ok(landed) => landed,
            Err(error) => {
                // A result is kept only once the chain took it: after a refusal the next call
                // checks afresh. (One in flight or of unknown fate stays, so that a retry
                // attests exactly what may already be on chain.)
                if matches!(error, ChallengeApiError::Refused(_)) {
                    store::forget_unlanded(&self.pool, &key).await?;
                }
                return Err(error);
            }
        };
        store::landed(&self.pool, &key, &landed).await?;
        Ok(Attested {
            passed: prepared.wallet_ok && prepared.funds_ok,
            attestation_hash: prepared.attestation_hash,
            wallet_verification: prepared.wallet_verification,
            funds_attestations: prepared.funds_attestations,
            landed,
        })
    }

    /// The wallet check from the on-chain signature; the funds check from a direct read of
    /// the bond mint (SOL when unbonded).
    async fn check_directly(&self, subject: Subject<'_>) -> Result<Checks, ChallengeApiError> {
        let Subject {
            address,
            party,
            challenge,
            wallet,
            deposited,
        } = subject;
        // The wallet is the one that signed this challenge's create or accept on chain.
        let wallet_ok = true;
        let held = if challenge.bond_amount > 0 {
            let tokens = get_associated_token_address(wallet, &challenge.bond_mint);
            match self.chain.account(&tokens).await? {
                Some(account) => {
                    use anchor_lang::AccountDeserialize;
                    anchor_spl::token::TokenAccount::try_deserialize(&mut account.data.as_slice())
                        .ok()
                        .filter(|t| t.owner == *wallet && t.mint == challenge.bond_mint)
                        .map_or(0, |t| t.amount)
                }
                None => 0,
            }
        } else {
            self.chain.account(wallet).await?.map_or(0, |a| a.lamports)
        };
        let balance = held.saturating_add(deposited);
        let funds_ok = balance >= challenge.bond_amount.max(1);
        let mut salt = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut salt);
        let balance_hash: [u8; 32] = Sha256::new()
            .chain_update(salt)
            .chain_update(balance.to_le_bytes())
            .finalize()
            .into();
        let attestation_hash: [u8; 32] = Sha256::new()
            .chain_update(ATTESTATION_DOMAIN)
            .chain_update(address.as_ref())
            .chain_update([party as u8])
            .chain_update(wallet.as_ref())
            .chain_update(balance_hash)
            .chain_update([u8::from(wallet_ok), u8::from(funds_ok)])
            .finalize()
            .into();
        Ok(Checks {
            wallet_ok,
            funds_ok,
            salt,
            balance_hash,
            attestation_hash,
            wallet_verification: None,
            funds_attestations: Vec::new(),
        })
    }

    /// The checks from the gatekeeper's evidence: the party's wallet verification, the bond
    /// as a funds attestation of that wallet (less what it already deposited), and the terms'
    /// further requirement. A verification of another wallet is refused, never attested as a
    /// failure: a mistyped id must not cancel a challenge.
    async fn check_evidence(
        &self,
        subject: Subject<'_>,
        evidence: &Evidence,
        api_key_id: Option<&str>,
    ) -> Result<Checks, ChallengeApiError> {
        let Subject {
            address,
            party,
            challenge,
            wallet,
            deposited,
        } = subject;
        let verification = match &evidence.wallet_verification {
            Some(id) => {
                let verification = self.gatekeeper.verification(id).await?;
                if !is_wallet_of(&verification, wallet) {
                    return Err(ChallengeApiError::VerificationMismatch {
                        verification: id.clone(),
                        expected: wallet.to_string(),
                        found: format!("{}:{}", verification.chain_id, verification.address),
                    });
                }
                Some(verification)
            }
            None => None,
        };
        let mut attestations: Vec<FundsAttestation> = Vec::new();
        if let Some(verification) = &verification {
            // The bond, in base units, less what the vault already holds of the party's.
            let asset = if challenge.bond_amount > 0 {
                challenge.bond_mint.to_string()
            } else {
                "native".to_owned()
            };
            let needed = challenge.bond_amount.max(1).saturating_sub(deposited);
            attestations.push(
                self.gatekeeper
                    .check_funds_against(
                        &verification.id.to_string(),
                        &asset,
                        Threshold::BaseUnits(u128::from(needed)),
                        api_key_id,
                    )
                    .await?,
            );
        }
        if let Some(requirement) = &evidence.funds {
            let cited = requirement
                .verification
                .clone()
                .or_else(|| evidence.wallet_verification.clone())
                .ok_or(ChallengeApiError::VerificationRequired)?;
            attestations.push(
                self.gatekeeper
                    .check_funds(
                        &cited,
                        &requirement.asset,
                        &requirement.threshold,
                        api_key_id,
                    )
                    .await?,
            );
        }
        // The party's wallet is proven by its signature on chain, and by the verification
        // when one is cited (a mismatch was refused above).
        let wallet_ok = true;
        // Without a verification the bond is read directly, as without evidence.
        let direct = match &verification {
            Some(_) => None,
            None => Some(self.check_directly(subject).await?),
        };
        let funds_ok =
            direct.as_ref().is_none_or(|d| d.funds_ok) && attestations.iter().all(|a| a.passed);
        // The row's commitment: the bond's (the direct read's, or the first attestation's).
        let (salt, balance_hash) = match (&direct, attestations.first()) {
            (Some(d), _) => (d.salt, d.balance_hash),
            (None, Some(a)) => (a.salt, a.balance_hash),
            (None, None) => ([0; 16], [0; 32]),
        };
        let mut hash = Sha256::new()
            .chain_update(EVIDENCE_ATTESTATION_DOMAIN)
            .chain_update(address.as_ref())
            .chain_update([party as u8])
            .chain_update(wallet.as_ref());
        match &verification {
            Some(v) => {
                hash.update([1]);
                hash.update(v.id.as_bytes());
                hash.update(v.verified_at_unix.to_le_bytes());
            }
            None => {
                hash.update([0]);
                hash.update(balance_hash);
            }
        }
        hash.update(
            u32::try_from(attestations.len())
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        for a in &attestations {
            hash.update(a.id.as_bytes());
            hash.update(a.balance_hash);
            hash.update(a.read_at.to_le_bytes());
            hash.update([u8::from(a.passed)]);
        }
        hash.update([u8::from(wallet_ok), u8::from(funds_ok)]);
        Ok(Checks {
            wallet_ok,
            funds_ok,
            salt,
            balance_hash,
            attestation_hash: hash.finalize().into(),
            wallet_verification: verification.map(|v| v.id.to_string()),
            funds_attestations: attestations.iter().map(|a| a.id.to_string()).collect(),
        })
    }

    /// Settles a completed bonded challenge, once (the relayer cranks it).
    pub async fn settle(&self, address: &Pubkey) -> Result<Landed, ChallengeApiError> {
        let challenge = self.get(address).await?;
        let payer = self.chain.payer();
        let ixs: Vec<Instruction> = treasury_account_ix(&payer, &challenge)
            .into_iter()
            .chain([cix::settle(&payer, address, escrow(&challenge))])
            .collect();
        self.submit(address, &format!("settle:{address}"), &ixs)
            .await
    }

    /// Expires a challenge whose deadline has passed, once: refunds, or completion with the
    /// only confirmation given.
    pub async fn expire(&self, address: &Pubkey) -> Result<Landed, ChallengeApiError> {
        let challenge = self.get(address).await?;
        let payer = self.chain.payer();
        let ixs: Vec<Instruction> = treasury_account_ix(&payer, &challenge)
            .into_iter()
            .chain([cix::expire(&payer, address, escrow(&challenge))])
            .collect();
        self.submit(address, &format!("expire:{address}"), &ixs)
            .await
    }

    /// Sends a wallet-signed transaction (legacy or v0, calling only
    /// [`FORWARDABLE_PROGRAMS`]) and waits until it lands.
    pub async fn forward(&self, encoded: &str) -> Result<Landed, ChallengeApiError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| ChallengeApiError::BadTransaction("not base64"))?;
        let tx = forwardable(&bytes)?;
        let landed = self.chain.forward(&tx).await?;
        // Whatever it touched is read again (a v0 transaction's lookup-table accounts are not
        // known without resolving the tables; they are read again when their cache entry
        // ages out).
        for key in tx.message.static_account_keys() {
            self.reads.invalidate(key, Some(landed.slot)).await;
        }
        Ok(landed)
    }

    /// One crank round: expires every overdue challenge; the addresses expired.
    pub async fn crank(&self) -> Result<Vec<(Pubkey, Landed)>, ChallengeApiError> {
        let now = self.chain.unix_time().await?;
        let accounts = self
            .chain
            .program_accounts(&cix::PROGRAM_ID, Challenge::DISCRIMINATOR)
            .await?;
        let mut expired = Vec::new();
        for (address, account) in accounts {
            let Ok(challenge) = veil_client::decode::account::<Challenge>(&account.data) else {
                continue;
            };
            if !is_overdue(&challenge, now) {
                continue;
            }
            match self.expire(&address).await {
                Ok(landed) => expired.push((address, landed)),
                // Expired by someone else in between: nothing to do.
                Err(ChallengeApiError::Refused(
                    ProgramError::InvalidStatus | ProgramError::DeadlineNotReached,
                )) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(expired)
    }

    /// Runs [`crank`](Self::crank) every `tick` until `stop` changes. A failed round is
    /// logged and retried on the next tick.
    pub async fn run_crank(
        self: Arc<Self>,
        tick: Duration,
        stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut stop = stop;
        loop {
            match self.crank().await {
                Ok(expired) => {
                    for (address, landed) in expired {
                        tracing::info!(%address, signature = %landed.signature, "expired an overdue challenge");
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "challenge crank round failed; retrying next tick")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
