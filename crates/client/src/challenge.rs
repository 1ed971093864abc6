//! Addresses and instruction builders for the `challenge` program.

use anchor_lang::{
    prelude::Pubkey, solana_program::instruction::Instruction, system_program, InstructionData,
    ToAccountMetas,
};
use anchor_spl::token::ID as TOKEN_PROGRAM_ID;
pub use challenge::ID as PROGRAM_ID;
use challenge::{
    accounts, instruction,
    state::{Challenge, Outcome, CHALLENGE_SEED, CONFIG_SEED, VAULT_SEED},
    AttestVerificationArgs, ConfigArgs, CreateChallengeArgs,
};

/// The config PDA.
pub fn config_pda() -> (Pubkey, u8) {
    Pubkey::find_program_address(&[CONFIG_SEED], &PROGRAM_ID)
}

/// The challenge PDA of (`creator`, `nonce`).
pub fn challenge_pda(creator: &Pubkey, nonce: u64) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[CHALLENGE_SEED, creator.as_ref(), &nonce.to_le_bytes()],
        &PROGRAM_ID,
    )
}

/// The vault PDA of `challenge`.
pub fn vault_pda(challenge: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[VAULT_SEED, challenge.as_ref()], &PROGRAM_ID)
}

/// Anchor's event-CPI authority for the challenge program.
pub fn event_authority() -> Pubkey {
    crate::anchor_ix::event_authority(&PROGRAM_ID)
}

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    crate::anchor_ix::build(PROGRAM_ID, accounts, data)
}

/// The token accounts an escrow release may pay into.
#[derive(Debug, Clone, Copy, Default)]
pub struct EscrowTokens {
    /// The creator's token account of the bond mint.
    pub creator: Option<Pubkey>,
    /// The counterparty's token account of the bond mint.
    pub counterparty: Option<Pubkey>,
    /// The treasury's token account of the bond mint (for a slash's share, and for any
    /// surplus someone sent into the vault, which is swept there when it closes).
    pub treasury: Option<Pubkey>,
}

/// The escrow accounts for `challenge`: none for an unbonded challenge or once its vault is
/// closed; otherwise its mint and vault, the creator (rent receiver), and the token accounts
/// of the bond mint in `tokens`.
pub fn escrow(challenge: &Challenge, tokens: EscrowTokens) -> accounts::Escrow {
    if challenge.bond_amount == 0 || challenge.vault_closed {
        return accounts::Escrow {
            mint: None,
            vault: None,
            creator_tokens: None,
            counterparty_tokens: None,
            treasury_tokens: None,
            creator: None,
            token_program: None,
        };
    }
    accounts::Escrow {
        mint: Some(challenge.bond_mint),
        vault: Some(challenge.vault),
        creator_tokens: tokens.creator,
        counterparty_tokens: tokens.counterparty,
        treasury_tokens: tokens.treasury,
        creator: Some(challenge.creator),
        token_program: Some(TOKEN_PROGRAM_ID),
    }
}

/// `initialize`.
pub fn initialize(admin: &Pubkey, args: ConfigArgs, program_data: Option<Pubkey>) -> Instruction {
    build(
        accounts::Initialize {
            admin: *admin,
            config: config_pda().0,
            program_data,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::Initialize { args },
    )
}

/// `update_config`.
pub fn update_config(admin: &Pubkey, args: ConfigArgs) -> Instruction {
    build(
        accounts::AdminConfig {
            admin: *admin,
            config: config_pda().0,
        },
        instruction::UpdateConfig { args },
    )
}

/// `propose_admin`.
pub fn propose_admin(admin: &Pubkey, proposed: &Pubkey) -> Instruction {
    build(
        accounts::ProposeAdmin {
            admin: *admin,
            config: config_pda().0,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::ProposeAdmin {
            proposed: *proposed,
        },
    )
}

/// `accept_admin`.
pub fn accept_admin(new_admin: &Pubkey) -> Instruction {
    build(
        accounts::AcceptAdmin {
            new_admin: *new_admin,
            config: config_pda().0,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::AcceptAdmin {},
    )
}

/// `set_paused`.
pub fn set_paused(admin: &Pubkey, paused: bool) -> Instruction {
    build(
        accounts::AdminConfig {
            admin: *admin,
            config: config_pda().0,
        },
        instruction::SetPaused { paused },
    )
}

/// `create_challenge`; `bond_mint` is `Some` exactly when `args.bond_amount > 0`.
pub fn create_challenge(
    creator: &Pubkey,
    args: CreateChallengeArgs,
    bond_mint: Option<Pubkey>,
) -> Instruction {
    let challenge = challenge_pda(creator, args.nonce).0;
    build(
        accounts::CreateChallenge {
            creator: *creator,
            config: config_pda().0,
            challenge,
            bond_mint,
            vault: bond_mint.map(|_| vault_pda(&challenge).0),
            token_program: bond_mint.map(|_| TOKEN_PROGRAM_ID),
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::CreateChallenge { args },
    )
}

/// `accept`.
pub fn accept(counterparty: &Pubkey, challenge: &Pubkey) -> Instruction {
    build(
        accounts::Accept {
            counterparty: *counterparty,
            config: config_pda().0,
            challenge: *challenge,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::Accept {},
    )
}

/// `attest_verification`.
pub fn attest_verification(
    gatekeeper: &Pubkey,
    challenge: &Pubkey,
    args: AttestVerificationArgs,
    escrow: accounts::Escrow,
) -> Instruction {
    build(
        accounts::AttestVerification {
            gatekeeper: *gatekeeper,
            config: config_pda().0,
            challenge: *challenge,
            escrow,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::AttestVerification { args },
    )
}

/// `deposit_bond` from `from`, the depositor's token account of the bond mint.
pub fn deposit_bond(
    depositor: &Pubkey,
    challenge_address: &Pubkey,
    challenge: &Challenge,
    from: &Pubkey,
) -> Instruction {
    build(
        accounts::DepositBond {
            depositor: *depositor,
            config: config_pda().0,
            challenge: *challenge_address,
            mint: challenge.bond_mint,
            vault: challenge.vault,
            from: *from,
            token_program: TOKEN_PROGRAM_ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::DepositBond {},
    )
}

/// `lock_intent`.
pub fn lock_intent(party: &Pubkey, challenge: &Pubkey) -> Instruction {
    build(
        accounts::LockIntent {
            party: *party,
            config: config_pda().0,
            challenge: *challenge,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::LockIntent {},
    )
}

/// `confirm_outcome`.
pub fn confirm_outcome(party: &Pubkey, challenge: &Pubkey, outcome: Outcome) -> Instruction {
    build(
        accounts::ConfirmOutcome {
            party: *party,
            config: config_pda().0,
            challenge: *challenge,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::ConfirmOutcome { outcome },
    )
}

/// `resolve`.
pub fn resolve(arbiter: &Pubkey, challenge: &Pubkey, outcome: Outcome) -> Instruction {
    build(
        accounts::Resolve {
            arbiter: *arbiter,
            config: config_pda().0,
            challenge: *challenge,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::Resolve { outcome },
    )
}

/// `settle`. The escrow's treasury token account receives the treasury's share.
pub fn settle(cranker: &Pubkey, challenge: &Pubkey, escrow: accounts::Escrow) -> Instruction {
    build(
        accounts::Settle {
            cranker: *cranker,
            challenge: *challenge,
            escrow,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::Settle {},
    )
}

/// `expire`.
pub fn expire(cranker: &Pubkey, challenge: &Pubkey, escrow: accounts::Escrow) -> Instruction {
    build(
        accounts::Expire {
            cranker: *cranker,
            challenge: *challenge,
            escrow,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::Expire {},
    )
}

/// `cancel`.
pub fn cancel(creator: &Pubkey, challenge: &Pubkey, escrow: accounts::Escrow) -> Instruction {
    build(
        accounts::Cancel {
            creator: *creator,
            challenge: *challenge,
            escrow,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::Cancel {},
    )
}
