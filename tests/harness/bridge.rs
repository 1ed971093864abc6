//! The bridge must behave as the SBF runtime does. A bridge that turned CPIs into silent
//! no-ops (the stock `processor!` path with Anchor 1.x) fails every test here.

use anchor_lang::{
    prelude::Pubkey, solana_program::instruction::error::InstructionError, system_program,
    AnchorDeserialize, Discriminator, InstructionData, ToAccountMetas,
};
use anchor_spl::token::spl_token;
use veil_client::Instruction;
use veil_harness::{assert::assert_instruction_error, Keypair, RegistryFixture, Signer};
use veil_probe::{accounts, instruction, Record, AUTHORITY_SEED, RECORD_SEED, VAULT_SEED};

use crate::common::with_probe;

fn probe_ix(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: veil_probe::ID,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

fn pda(seeds: &[&[u8]]) -> Pubkey {
    Pubkey::find_program_address(seeds, &veil_probe::ID).0
}

/// A chain with a mint, a funded user token account and the probe's open vault.
struct TokenSetup {
    t: RegistryFixture,
    user: Keypair,
    user_tokens: Pubkey,
    vault: Pubkey,
}

fn token_setup(decimals: u8, minted: u64) -> TokenSetup {
    let mut t = with_probe().build();
    let user = t.wallet();
    let mint = t.chain.create_mint(&user, &user.pubkey(), decimals);
    let user_tokens = t.chain.create_token_account(&user, &mint, &user.pubkey());
    t.chain
        .mint_to(&user, &mint, &user_tokens, minted)
        .expect("mint_to");
    let authority = pda(&[AUTHORITY_SEED]);
    let vault = pda(&[VAULT_SEED, mint.as_ref()]);
    let open = probe_ix(
        accounts::OpenVault {
            payer: user.pubkey(),
            mint,
            authority,
            vault,
            token_program: spl_token::ID,
            system_program: system_program::ID,
        },
        instruction::OpenVault {},
    );
    t.chain.send(&user, &[open], &[]).expect("open vault");
    TokenSetup {
        t,
        user,
        user_tokens,
        vault,
    }
}

fn deposit_ix(s: &TokenSetup, amount: u64) -> Instruction {
    probe_ix(
        accounts::Deposit {
            owner: s.user.pubkey(),
            from: s.user_tokens,
            vault: s.vault,
            token_program: spl_token::ID,
        },
        instruction::Deposit { amount },
    )
}

fn withdraw_ix(s: &TokenSetup, amount: u64, swallow_error: bool) -> Instruction {
    probe_ix(
        accounts::Withdraw {
            authority: pda(&[AUTHORITY_SEED]),
            vault: s.vault,
            to: s.user_tokens,
            token_program: spl_token::ID,
        },
        instruction::Withdraw {
            amount,
            swallow_error,
        },
    )
}

#[test]
fn system_cpi_creates_a_rent_exempt_account_owned_by_the_program() {
    let mut t = with_probe().build();
    let payer = t.wallet();
    let record = pda(&[RECORD_SEED, payer.pubkey().as_ref()]);
    assert!(t.chain.account(&record).is_none());
    t.chain.warp_to_slot(77);

    let ix = probe_ix(
        accounts::CreateRecord {
            payer: payer.pubkey(),
            record,
            system_program: system_program::ID,
        },
        instruction::CreateRecord { value: 42 },
    );
    let before = t.chain.lamports(&payer.pubkey());
    t.chain.send(&payer, &[ix], &[]).expect("create_record");

    let account = t
        .chain
        .account(&record)
        .expect("the CPI created the account");
    assert_eq!(account.owner, veil_probe::ID);
    assert_eq!(account.data.len(), 8 + 16);
    assert_eq!(account.lamports, t.chain.rent_exempt_minimum(8 + 16));
    let decoded = Record::deserialize(&mut &account.data[8..]).expect("record decodes");
    assert_eq!(&account.data[..8], Record::DISCRIMINATOR);
    assert_eq!(decoded.value, 42);
    // The Clock sysvar was read through the bridge's stubs.
    assert_eq!(decoded.created_slot, 77);
    // The payer paid the rent (plus the fee) through the system program.
    assert!(before - t.chain.lamports(&payer.pubkey()) >= account.lamports);
}

#[test]
fn spl_token_cpi_moves_balances_in_and_out_of_a_pda_vault() {
    let mut s = token_setup(6, 1_000);
    assert_eq!(s.t.chain.token_balance(&s.vault), 0);

    let ix = deposit_ix(&s, 400);
    let user = s.user.insecure_clone();
    s.t.chain.send(&user, &[ix], &[]).expect("deposit");
    assert_eq!(s.t.chain.token_balance(&s.user_tokens), 600);
    assert_eq!(s.t.chain.token_balance(&s.vault), 400);

    // The PDA signs the withdrawal through invoke_signed.
    let ix = withdraw_ix(&s, 150, false);
    s.t.chain.send(&user, &[ix], &[]).expect("withdraw");
    assert_eq!(s.t.chain.token_balance(&s.user_tokens), 750);
    assert_eq!(s.t.chain.token_balance(&s.vault), 250);
}

#[test]
fn a_failing_spl_token_cpi_fails_the_transaction_with_the_token_error() {
    let mut s = token_setup(6, 100);
    let user = s.user.insecure_clone();
    let ix = deposit_ix(&s, 100);
    s.t.chain.send(&user, &[ix], &[]).unwrap();

    // spl_token::error::TokenError::InsufficientFunds = 1.
    let ix = withdraw_ix(&s, 101, false);
    let result = s.t.chain.send(&user, &[ix], &[]);
    assert_instruction_error(result, InstructionError::Custom(1));
    assert_eq!(s.t.chain.token_balance(&s.vault), 100);
}

#[test]
fn a_program_cannot_swallow_a_failed_cpi() {
    let mut s = token_setup(6, 100);
    let user = s.user.insecure_clone();
    let ix = deposit_ix(&s, 10);
    s.t.chain.send(&user, &[ix], &[]).unwrap();

    // On-chain a failed CPI aborts the caller; returning Ok afterwards changes nothing.
    let ix = withdraw_ix(&s, 11, true);
    let result = s.t.chain.send(&user, &[ix], &[]);
    assert_instruction_error(result, InstructionError::Custom(1));
    assert_eq!(s.t.chain.token_balance(&s.vault), 10);
}

#[test]
fn emit_cpi_events_appear_as_inner_instructions() {
    let mut t = with_probe().build();
    let payer = t.wallet();
    let event_authority = pda(&[b"__event_authority"]);
    let ix = probe_ix(
        accounts::Ping {
            event_authority,
            program: veil_probe::ID,
        },
        instruction::Ping { value: 9 },
    );
    let executed = t.chain.send(&payer, &[ix], &[]).expect("ping");

    let payloads: Vec<&[u8]> = executed.event_cpi_payloads(&veil_probe::ID).collect();
    assert_eq!(payloads.len(), 1);
    let body = payloads[0]
        .strip_prefix(anchor_lang::event::EVENT_IX_TAG_LE)
        .and_then(|rest| rest.strip_prefix(veil_probe::Pinged::DISCRIMINATOR))
        .expect("event-CPI tag and Pinged discriminator");
    assert_eq!(
        veil_probe::Pinged::deserialize(&mut &body[..])
            .unwrap()
            .value,
        9
    );
    let inner = &executed.inner[0][0];
    assert_eq!(inner.stack_height, 2);
    assert_eq!(inner.accounts, vec![event_authority]);
}

#[test]
fn writing_a_read_only_account_is_rejected() {
    let mut t = with_probe().build();
    let payer = t.wallet();
    // An account owned by the probe, passed read-only.
    let record = pda(&[RECORD_SEED, payer.pubkey().as_ref()]);
    let create = probe_ix(
        accounts::CreateRecord {
            payer: payer.pubkey(),
            record,
            system_program: system_program::ID,
        },
        instruction::CreateRecord { value: 1 },
    );
    t.chain.send(&payer, &[create], &[]).unwrap();
    let before = t.chain.account(&record).unwrap().data;

    let ix = probe_ix(
        accounts::WriteReadonly { target: record },
        instruction::WriteReadonly {},
    );
    let result = t.chain.send(&payer, &[ix], &[]);
    assert_instruction_error(result, InstructionError::ReadonlyDataModified);
    assert_eq!(t.chain.account(&record).unwrap().data, before);
}

#[test]
fn malformed_instruction_data_fails_with_anchors_typed_error() {
    let mut t = with_probe().build();
    let payer = t.wallet();
    // One byte is shorter than any discriminator.
    let ix = Instruction {
        program_id: veil_probe::ID,
        accounts: vec![],
        data: vec![1],
    };
    let result = t.chain.send(&payer, &[ix], &[]);
    veil_harness::assert::assert_anchor_error(
        result,
        anchor_lang::error::ErrorCode::InstructionFallbackNotFound,
    );
}
