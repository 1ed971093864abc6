use anchor_lang::error::ErrorCode as AnchorErrorCode;
use challenge::{
    error::ChallengeError,
    state::{Mode, Party},
};
use veil_harness::{
    assert::{assert_anchor_error, assert_challenge_error},
    ChallengeFixture, Signer,
};

#[test]
fn deposit_bond_twice_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.accepted(Mode::Fire);
    f.deposit(&c, Party::Creator).unwrap();
    assert_challenge_error(
        f.deposit(&c, Party::Creator),
        ChallengeError::BondAlreadyDeposited,
    );
}

#[test]
fn deposit_bond_by_a_stranger_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.accepted(Mode::Fire);
    let stranger = f.t.wallet();
    let mint = f.mint;
    let authority = f.mint_authority.insecure_clone();
    let tokens =
        f.t.chain
            .create_token_account(&stranger, &mint, &stranger.pubkey());
    f.t.chain
        .mint_to(&authority, &mint, &tokens, 1_000_000_000)
        .unwrap();
    assert_challenge_error(
        f.deposit_from(&c, &stranger, &tokens),
        ChallengeError::NotAParty,
    );
}

#[test]
fn deposit_bond_before_acceptance_or_when_unbonded_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Fire);
    assert_challenge_error(f.deposit(&c, Party::Creator), ChallengeError::InvalidStatus);
    // An unbonded challenge, given a real mint and vault (another challenge's).
    let unbonded = f.accepted(Mode::Gatekeeper);
    let mut state = f.state(&unbonded);
    state.bond_mint = f.mint;
    state.vault = f.state(&c).vault;
    let creator = f.creator.insecure_clone();
    let from = f.creator_tokens;
    let ix = veil_client::challenge::deposit_bond(&creator.pubkey(), &unbonded, &state, &from);
    assert_challenge_error(
        f.t.chain.send(&creator, &[ix], &[]),
        ChallengeError::NotBonded,
    );
}

#[test]
fn deposit_bond_into_another_vault_or_a_fake_vault_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.accepted(Mode::Fire);
    let other = f.accepted(Mode::Fire);
    let creator = f.creator.insecure_clone();
    let from = f.creator_tokens;

    // Another challenge's vault.
    let mut state = f.state(&c);
    state.vault = f.state(&other).vault;
    let ix = veil_client::challenge::deposit_bond(&creator.pubkey(), &c, &state, &from);
    assert_challenge_error(
        f.t.chain.send(&creator, &[ix], &[]),
        ChallengeError::EscrowMismatch,
    );

    // A "vault" that is not a token account at all (owned by the system program).
    state.vault = f.t.wallet().pubkey();
    let ix = veil_client::challenge::deposit_bond(&creator.pubkey(), &c, &state, &from);
    assert_anchor_error(
        f.t.chain.send(&creator, &[ix], &[]),
        AnchorErrorCode::AccountOwnedByWrongProgram,
    );
}

#[test]
fn deposit_bond_from_a_token_account_of_another_mint_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.accepted(Mode::Fire);
    let creator = f.creator.insecure_clone();
    let authority = f.mint_authority.insecure_clone();
    let other_mint = f.t.chain.create_mint(&authority, &authority.pubkey(), 6);
    let wrong =
        f.t.chain
            .create_token_account(&creator, &other_mint, &creator.pubkey());
    f.t.chain
        .mint_to(&authority, &other_mint, &wrong, 1_000_000_000)
        .unwrap();
    assert_challenge_error(
        f.deposit_from(&c, &creator, &wrong),
        ChallengeError::TokenAccountMismatch,
    );
}
