//! [`ChallengeFixture`]: the challenge program configured, three parties and an arbiter
//! funded with a 6-decimal bond mint, and one method per instruction.

use anchor_lang::prelude::Pubkey;
use challenge::{
    accounts::Escrow,
    state::{Challenge, Mode, Outcome, Party, Window},
    AttestVerificationArgs, ConfigArgs, CreateChallengeArgs,
};
use solana_keypair::Keypair;
use solana_signer::Signer;
use veil_client::challenge as cix;

use crate::{
    chain::{TestChain, TxResult},
    ChallengeProgram, RegistryFixture, TestBuilder,
};

/// Bond of the default bonded challenge: 100 tokens of 6 decimals.
pub const BOND: u64 = 100_000_000;
/// Tokens each party starts with.
pub const STARTING_TOKENS: u64 = 1_000_000_000;
/// Default accept window: one hour after creation.
pub const ACCEPT_AFTER: i64 = 3_600;
/// Default response window: one day after the accept deadline.
pub const RESPOND_AFTER: i64 = 86_400;
/// Default arbiter window: two days from the moment a dispute arises.
pub const ARBITER_WINDOW: i64 = 2 * 86_400;
/// The fixture's clock at start.
pub const START_TIME: i64 = 1_800_000_000;

/// The token balances a test asserts after each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balances {
    /// The creator's token account.
    pub creator: u64,
    /// The counterparty's token account.
    pub counterparty: u64,
    /// The treasury's token account.
    pub treasury: u64,
    /// The vault, while it exists.
    pub vault: Option<u64>,
}

/// A chain with the challenge program configured and its actors.
pub struct ChallengeFixture {
    /// The chain (and the registry's actors, unused here).
    pub t: RegistryFixture,
    /// Challenge config admin.
    pub admin: Keypair,
    /// Attests verifications.
    pub gatekeeper: Keypair,
    /// Owns the treasury token account.
    pub treasury: Keypair,
    /// Opens challenges.
    pub creator: Keypair,
    /// Accepts them.
    pub counterparty: Keypair,
    /// Decides disputes.
    pub arbiter: Keypair,
    /// The 6-decimal bond mint.
    pub mint: Pubkey,
    /// Holds the mint authority.
    pub mint_authority: Keypair,
    /// The creator's token account.
    pub creator_tokens: Pubkey,
    /// The counterparty's token account.
    pub counterparty_tokens: Pubkey,
    /// The treasury's token account.
    pub treasury_tokens: Pubkey,
    next_nonce: u64,
}

impl ChallengeFixture {
    /// A configured chain with default windows (accept 1 min..7 days, response 1 h..30 days)
    /// and a 30% treasury cap.
    pub fn new() -> Self {
        let mut t = TestBuilder::new()
            .program(cix::PROGRAM_ID, ChallengeProgram::registerer())
            .build();
        t.chain.set_unix_timestamp(START_TIME);
        let admin = t.wallet();
        let gatekeeper = t.wallet();
        let treasury = t.wallet();
        let creator = t.wallet();
        let counterparty = t.wallet();
        let arbiter = t.wallet();
        let mint_authority = t.wallet();
        let mint = t
            .chain
            .create_mint(&mint_authority, &mint_authority.pubkey(), 6);
        let mut token_account = |owner: &Keypair| {
            let account = t.chain.create_token_account(owner, &mint, &owner.pubkey());
            t.chain
                .mint_to(&mint_authority, &mint, &account, STARTING_TOKENS)
                .expect("mint_to");
            account
        };
        let creator_tokens = token_account(&creator);
        let counterparty_tokens = token_account(&counterparty);
        let treasury_tokens = t
            .chain
            .create_token_account(&treasury, &mint, &treasury.pubkey());
        let mut fixture = Self {
            t,
            admin,
            gatekeeper,
            treasury,
            creator,
            counterparty,
            arbiter,
            mint,
            mint_authority,
            creator_tokens,
            counterparty_tokens,
            treasury_tokens,
            next_nonce: 0,
        };
        let admin = fixture.admin.insecure_clone();
        let ix = cix::initialize(&admin.pubkey(), fixture.config_args(), None);
        fixture
            .chain()
            .send(&admin, &[ix], &[])
            .expect("initialize");
        fixture
    }

    /// The chain.
    pub fn chain(&mut self) -> &mut TestChain {
        &mut self.t.chain
    }

    /// The default configuration.
    pub fn config_args(&self) -> ConfigArgs {
        ConfigArgs {
            gatekeeper: self.gatekeeper.pubkey(),
            treasury: self.treasury.pubkey(),
            accept_window: Window {
                min: 60,
                max: 7 * 86_400,
            },
            response_window: Window {
                min: 3_600,
                max: 30 * 86_400,
            },
            max_treasury_bps: 3_000,
            arbiter_window: ARBITER_WINDOW,
            bond_mints: Vec::new(),
        }
    }

    /// Arguments of a typical challenge of `mode`, with a fresh nonce: named counterparty;
    /// bonded (with the arbiter, 70% winner / 20% treasury) in Fire and Enforced; both
    /// deadlines in Enforced, the response deadline in Fire (the same instant).
    pub fn args(&mut self, mode: Mode) -> CreateChallengeArgs {
        let nonce = self.next_nonce;
        self.next_nonce += 1;
        let now = self.t.chain.clock().unix_timestamp;
        let bonded = matches!(mode, Mode::Fire | Mode::Enforced);
        let solo = mode == Mode::Solo;
        CreateChallengeArgs {
            nonce,
            mode,
            counterparty: (!solo).then(|| self.counterparty.pubkey()),
            arbiter: bonded.then(|| self.arbiter.pubkey()),
            terms_hash: [0x7e; 32],
            bond_amount: if bonded { BOND } else { 0 },
            winner_share_bps: if bonded { 7_000 } else { 0 },
            treasury_share_bps: if bonded { 2_000 } else { 0 },
            accept_deadline: if mode == Mode::Enforced {
                now + ACCEPT_AFTER
            } else {
                0
            },
            response_deadline: if bonded {
                now + ACCEPT_AFTER + RESPOND_AFTER
            } else {
                0
            },
        }
    }

    /// `create_challenge` by the creator; returns the challenge address with the result.
    pub fn create(&mut self, args: CreateChallengeArgs) -> (Pubkey, TxResult) {
        let creator = self.creator.insecure_clone();
        let mint = (args.bond_amount > 0).then_some(self.mint);
        self.create_with_mint(&creator, args, mint)
    }

    /// `create_challenge` by `creator` with an explicit bond mint.
    pub fn create_with_mint(
        &mut self,
        creator: &Keypair,
        args: CreateChallengeArgs,
        mint: Option<Pubkey>,
    ) -> (Pubkey, TxResult) {
        let address = cix::challenge_pda(&creator.pubkey(), args.nonce).0;
        let ix = cix::create_challenge(&creator.pubkey(), args, mint);
        (address, self.t.chain.send(creator, &[ix], &[]))
    }

    /// The decoded challenge.
    pub fn state(&self, challenge: &Pubkey) -> Challenge {
        self.t
            .chain
            .anchor_account(challenge)
            .expect("challenge exists")
            .expect("challenge decodes")
    }

    /// The escrow accounts of `challenge` with the fixture's token accounts.
    pub fn escrow(&self, challenge: &Pubkey) -> Escrow {
        self.escrow_into(challenge, &self.treasury_tokens)
    }

    /// The escrow accounts of `challenge`, paying the treasury into `treasury_tokens`.
    pub fn escrow_into(&self, challenge: &Pubkey, treasury_tokens: &Pubkey) -> Escrow {
        cix::escrow(
            &self.state(challenge),
            cix::EscrowTokens {
                creator: Some(self.creator_tokens),
                counterparty: Some(self.counterparty_tokens),
                treasury: Some(*treasury_tokens),
            },
        )
    }

    /// Token balances of the three accounts and the vault.
    pub fn balances(&self, challenge: &Pubkey) -> Balances {
        let vault = cix::vault_pda(challenge).0;
        Balances {
            creator: self.t.chain.token_balance(&self.creator_tokens),
            counterparty: self.t.chain.token_balance(&self.counterparty_tokens),
            treasury: self.t.chain.token_balance(&self.treasury_tokens),
            vault: self
                .t
                .chain
                .account(&vault)
                .filter(|a| !a.data.is_empty())
                .map(|_| self.t.chain.token_balance(&vault)),
        }
    }

    /// `accept` by `signer`.
    pub fn accept(&mut self, challenge: &Pubkey, signer: &Keypair) -> TxResult {
        let ix = cix::accept(&signer.pubkey(), challenge);
        self.t.chain.send(signer, &[ix], &[])
    }

    /// `attest_verification` by `signer` (normally the gatekeeper).
    pub fn attest_as(
        &mut self,
        signer: &Keypair,
        challenge: &Pubkey,
        party: Party,
        passed: bool,
    ) -> TxResult {
        let args = AttestVerificationArgs {
            party,
            wallet_ok: true,
            funds_ok: passed,
            attestation_hash: [0xa7; 32],
        };
        let ix =
            cix::attest_verification(&signer.pubkey(), challenge, args, self.escrow(challenge));
        self.t.chain.send(signer, &[ix], &[])
    }

    /// `attest_verification` by the gatekeeper.
    pub fn attest(&mut self, challenge: &Pubkey, party: Party, passed: bool) -> TxResult {
        let gatekeeper = self.gatekeeper.insecure_clone();
        self.attest_as(&gatekeeper, challenge, party, passed)
    }

    /// `deposit_bond` by `signer` from `from`.
    pub fn deposit_from(
        &mut self,
        challenge: &Pubkey,
        signer: &Keypair,
        from: &Pubkey,
    ) -> TxResult {
        let state = self.state(challenge);
        let ix = cix::deposit_bond(&signer.pubkey(), challenge, &state, from);
        self.t.chain.send(signer, &[ix], &[])
    }

    /// `deposit_bond` by a party from its own token account.
    pub fn deposit(&mut self, challenge: &Pubkey, party: Party) -> TxResult {
        let (signer, from) = match party {
            Party::Creator => (self.creator.insecure_clone(), self.creator_tokens),
            Party::Counterparty => (self.counterparty.insecure_clone(), self.counterparty_tokens),
        };
        self.deposit_from(challenge, &signer, &from)
    }

    /// `lock_intent` by `signer`.
    pub fn lock(&mut self, challenge: &Pubkey, signer: &Keypair) -> TxResult {
        let ix = cix::lock_intent(&signer.pubkey(), challenge);
        self.t.chain.send(signer, &[ix], &[])
    }

    /// `confirm_outcome` by `signer`.
    pub fn confirm(&mut self, challenge: &Pubkey, signer: &Keypair, outcome: Outcome) -> TxResult {
        let ix = cix::confirm_outcome(&signer.pubkey(), challenge, outcome);
        self.t.chain.send(signer, &[ix], &[])
    }

    /// `resolve` by `signer`.
    pub fn resolve(&mut self, challenge: &Pubkey, signer: &Keypair, outcome: Outcome) -> TxResult {
        let ix = cix::resolve(&signer.pubkey(), challenge, outcome);
        self.t.chain.send(signer, &[ix], &[])
    }

    /// `settle`, cranked by `cranker`, paying the treasury into `treasury_tokens`.
    pub fn settle_into(
        &mut self,
        challenge: &Pubkey,
        cranker: &Keypair,
        treasury_tokens: &Pubkey,
    ) -> TxResult {
        let ix = cix::settle(
            &cranker.pubkey(),
            challenge,
            self.escrow_into(challenge, treasury_tokens),
        );
        self.t.chain.send(cranker, &[ix], &[])
    }

    /// `settle`, cranked by a stranger.
    pub fn settle(&mut self, challenge: &Pubkey) -> TxResult {
        let cranker = self.t.wallet();
        let treasury = self.treasury_tokens;
        self.settle_into(challenge, &cranker, &treasury)
    }

    /// `expire`, cranked by a stranger.
    pub fn expire(&mut self, challenge: &Pubkey) -> TxResult {
        let cranker = self.t.wallet();
        let ix = cix::expire(&cranker.pubkey(), challenge, self.escrow(challenge));
        self.t.chain.send(&cranker, &[ix], &[])
    }

    /// `cancel` by `signer`.
    pub fn cancel(&mut self, challenge: &Pubkey, signer: &Keypair) -> TxResult {
        let ix = cix::cancel(&signer.pubkey(), challenge, self.escrow(challenge));
        self.t.chain.send(signer, &[ix], &[])
    }

    /// An outsider (not a party) transfers `amount` bond tokens into `challenge`'s vault,
    /// which any token holder can do: the griefing the escrow must survive.
    pub fn gift_to_vault(&mut self, challenge: &Pubkey, amount: u64) -> TxResult {
        let outsider = self.t.wallet();
        let mint = self.mint;
        let authority = self.mint_authority.insecure_clone();
        let from = self
            .t
            .chain
            .create_token_account(&outsider, &mint, &outsider.pubkey());
        self.t.chain.mint_to(&authority, &mint, &from, amount)?;
        let vault = cix::vault_pda(challenge).0;
        self.t.chain.transfer(&outsider, &from, &vault, amount)
    }

    /// `set_paused` by the admin.
    pub fn set_paused(&mut self, paused: bool) -> TxResult {
        let admin = self.admin.insecure_clone();
        let ix = cix::set_paused(&admin.pubkey(), paused);
        self.t.chain.send(&admin, &[ix], &[])
    }

    /// Moves the clock by `seconds`.
    pub fn advance(&mut self, seconds: i64) {
        let now = self.t.chain.clock().unix_timestamp;
        self.t.chain.set_unix_timestamp(now + seconds);
    }

    /// A challenge of `mode` with the default arguments.
    ///
    /// # Panics
    /// If creation fails: tests of creation failures use [`Self::create`].
    pub fn created(&mut self, mode: Mode) -> Pubkey {
        let args = self.args(mode);
        let (challenge, result) = self.create(args);
        result.expect("create_challenge");
        challenge
    }

    /// A challenge of `mode` accepted by the counterparty.
    pub fn accepted(&mut self, mode: Mode) -> Pubkey {
        let challenge = self.created(mode);
        let counterparty = self.counterparty.insecure_clone();
        self.accept(&challenge, &counterparty).expect("accept");
        challenge
    }

    /// A bonded Fire challenge taken to INTENT_LOCKED (accepted, verified, both bonds in).
    pub fn locked_fire(&mut self) -> Pubkey {
        let c = self.accepted(Mode::Fire);
        let counterparty = self.counterparty.insecure_clone();
        self.attest(&c, Party::Creator, true)
            .expect("attest creator");
        self.attest(&c, Party::Counterparty, true)
            .expect("attest counterparty");
        self.deposit(&c, Party::Creator).expect("deposit creator");
        self.deposit(&c, Party::Counterparty)
            .expect("deposit counterparty");
        self.lock(&c, &counterparty).expect("lock");
        c
    }
}

impl Default for ChallengeFixture {
    fn default() -> Self {
        Self::new()
    }
}
