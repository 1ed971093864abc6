use anchor_lang::error::ErrorCode as AnchorErrorCode;
use challenge::{
    error::ChallengeError,
    events::{ChallengeCreated, CounterpartySet, StatusChanged},
    state::{Mode, Status},
};
use veil_client::{challenge as cix, decode::ChallengeEvent};
use veil_harness::{
    assert::{assert_account_already_in_use, assert_anchor_error, assert_challenge_error},
    challenge::{ARBITER_WINDOW, BOND, START_TIME},
    ChallengeFixture, Signer,
};

#[test]
fn create_challenge_success_writes_state_and_emits_events() {
    let mut f = ChallengeFixture::new();
    let args = f.args(Mode::Fire);
    let (c, result) = f.create(args.clone());
    let executed = result.expect("create");
    let state = f.state(&c);
    assert_eq!(state.creator, f.creator.pubkey());
    assert_eq!(state.counterparty, Some(f.counterparty.pubkey()));
    assert_eq!(state.arbiter, Some(f.arbiter.pubkey()));
    assert_eq!(state.status, Status::AwaitingCounterparty);
    assert_eq!((state.bond_mint, state.bond_amount), (f.mint, BOND));
    assert_eq!(
        (state.winner_share_bps, state.treasury_share_bps),
        (7_000, 2_000)
    );
    assert_eq!(state.treasury, f.treasury.pubkey());
    assert_eq!(state.vault, cix::vault_pda(&c).0);
    let decoded: Vec<ChallengeEvent> = executed
        .event_cpi_payloads(&cix::PROGRAM_ID)
        .map(|d| ChallengeEvent::decode_event_cpi(d).unwrap())
        .collect();
    assert_eq!(
        decoded,
        vec![
            ChallengeEvent::ChallengeCreated(ChallengeCreated {
                challenge: c,
                creator: f.creator.pubkey(),
                mode: Mode::Fire,
                terms_hash: [0x7e; 32],
                bond_mint: f.mint,
                bond_amount: BOND,
            }),
            ChallengeEvent::StatusChanged(StatusChanged {
                challenge: c,
                from: None,
                to: Status::AwaitingCounterparty,
                at: START_TIME,
            }),
            // The named counterparty, so that an indexer can list the challenge as its.
            ChallengeEvent::CounterpartySet(CounterpartySet {
                challenge: c,
                counterparty: f.counterparty.pubkey(),
                accepted: false,
            }),
        ]
    );
}

#[test]
fn create_challenge_with_parameters_that_do_not_fit_the_mode_fails() {
    let mut f = ChallengeFixture::new();
    let mut solo_with_counterparty = f.args(Mode::Solo);
    solo_with_counterparty.counterparty = Some(f.counterparty.pubkey());
    assert_challenge_error(
        f.create(solo_with_counterparty).1,
        ChallengeError::InvalidModeParameters,
    );

    let mut fire_without_bond = f.args(Mode::Fire);
    fire_without_bond.bond_amount = 0;
    fire_without_bond.winner_share_bps = 0;
    fire_without_bond.treasury_share_bps = 0;
    let creator = f.creator.insecure_clone();
    assert_challenge_error(
        f.create_with_mint(&creator, fire_without_bond, None).1,
        ChallengeError::InvalidModeParameters,
    );

    // A bonded Gatekeeper challenge (mint and vault passed) is not a Gatekeeper challenge.
    let mut bonded_gatekeeper = f.args(Mode::Gatekeeper);
    bonded_gatekeeper.bond_amount = BOND;
    let mint = Some(f.mint);
    assert_challenge_error(
        f.create_with_mint(&creator, bonded_gatekeeper, mint).1,
        ChallengeError::InvalidModeParameters,
    );

    let mut enforced_without_deadlines = f.args(Mode::Gatekeeper);
    enforced_without_deadlines.accept_deadline = START_TIME + 100;
    assert_challenge_error(
        f.create(enforced_without_deadlines).1,
        ChallengeError::InvalidModeParameters,
    );
}

#[test]
fn create_challenge_bonded_without_arbiter_fails() {
    let mut f = ChallengeFixture::new();
    let mut args = f.args(Mode::Fire);
    args.arbiter = None;
    assert_challenge_error(f.create(args).1, ChallengeError::ArbiterRequired);
}

#[test]
fn create_challenge_with_shares_out_of_bounds_fails() {
    let mut f = ChallengeFixture::new();
    let mut over_whole = f.args(Mode::Fire);
    over_whole.winner_share_bps = 8_001;
    assert_challenge_error(f.create(over_whole).1, ChallengeError::InvalidShares);
    let mut over_cap = f.args(Mode::Fire);
    over_cap.winner_share_bps = 0;
    over_cap.treasury_share_bps = 3_001;
    assert_challenge_error(f.create(over_cap).1, ChallengeError::InvalidShares);
}

#[test]
fn create_challenge_with_overlapping_roles_or_empty_terms_fails() {
    let mut f = ChallengeFixture::new();
    let mut arbiter_is_counterparty = f.args(Mode::Fire);
    arbiter_is_counterparty.arbiter = Some(f.counterparty.pubkey());
    assert_challenge_error(
        f.create(arbiter_is_counterparty).1,
        ChallengeError::PartiesNotDistinct,
    );
    let mut self_challenge = f.args(Mode::Gatekeeper);
    self_challenge.counterparty = Some(f.creator.pubkey());
    assert_challenge_error(
        f.create(self_challenge).1,
        ChallengeError::PartiesNotDistinct,
    );
    let mut no_terms = f.args(Mode::Gatekeeper);
    no_terms.terms_hash = [0; 32];
    assert_challenge_error(f.create(no_terms).1, ChallengeError::EmptyTerms);
}

#[test]
fn create_challenge_with_deadlines_outside_the_bounds_fails() {
    let mut f = ChallengeFixture::new();
    let mut too_soon = f.args(Mode::Enforced);
    too_soon.accept_deadline = START_TIME + 30;
    assert_challenge_error(f.create(too_soon).1, ChallengeError::DeadlineOutOfBounds);
    let mut too_long = f.args(Mode::Enforced);
    too_long.response_deadline = too_long.accept_deadline + 31 * 86_400;
    assert_challenge_error(f.create(too_long).1, ChallengeError::DeadlineOutOfBounds);
    let mut reversed = f.args(Mode::Enforced);
    reversed.response_deadline = reversed.accept_deadline - 1;
    assert_challenge_error(f.create(reversed).1, ChallengeError::DeadlineOutOfBounds);
}

#[test]
fn create_challenge_with_a_mint_of_other_decimals_fails() {
    let mut f = ChallengeFixture::new();
    let authority = f.mint_authority.insecure_clone();
    let nine_decimals = f.t.chain.create_mint(&authority, &authority.pubkey(), 9);
    let args = f.args(Mode::Fire);
    let creator = f.creator.insecure_clone();
    assert_challenge_error(
        f.create_with_mint(&creator, args, Some(nine_decimals)).1,
        ChallengeError::UnsupportedBondMint,
    );
}

#[test]
fn create_challenge_with_a_fake_mint_fails() {
    let mut f = ChallengeFixture::new();
    // A system-owned account posing as a mint.
    let fake = f.t.wallet().pubkey();
    let args = f.args(Mode::Fire);
    let creator = f.creator.insecure_clone();
    assert_anchor_error(
        f.create_with_mint(&creator, args, Some(fake)).1,
        AnchorErrorCode::AccountOwnedByWrongProgram,
    );
}

#[test]
fn create_challenge_while_paused_fails() {
    let mut f = ChallengeFixture::new();
    f.set_paused(true).unwrap();
    let args = f.args(Mode::Gatekeeper);
    assert_challenge_error(f.create(args).1, ChallengeError::Paused);
}

#[test]
fn create_challenge_twice_with_one_nonce_fails() {
    let mut f = ChallengeFixture::new();
    let args = f.args(Mode::Gatekeeper);
    f.create(args.clone()).1.unwrap();
    assert_account_already_in_use(f.create(args).1);
}

#[test]
fn create_challenge_bonded_without_a_response_deadline_fails() {
    // Audit item 3: no bond may be escrowed without a way out that needs nobody.
    let mut f = ChallengeFixture::new();
    let mut fire = f.args(Mode::Fire);
    fire.response_deadline = 0;
    assert_challenge_error(f.create(fire).1, ChallengeError::ResponseDeadlineRequired);

    let mut fire_with_accept_deadline = f.args(Mode::Fire);
    fire_with_accept_deadline.accept_deadline = START_TIME + 100;
    assert_challenge_error(
        f.create(fire_with_accept_deadline).1,
        ChallengeError::InvalidModeParameters,
    );

    let mut fire_too_far = f.args(Mode::Fire);
    fire_too_far.response_deadline = START_TIME + 31 * 86_400;
    assert_challenge_error(
        f.create(fire_too_far).1,
        ChallengeError::DeadlineOutOfBounds,
    );
}

#[test]
fn create_challenge_copies_the_arbiter_window_from_the_config() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Fire);
    let state = f.state(&c);
    assert_eq!(state.arbiter_window, ARBITER_WINDOW);
    assert_eq!(state.arbiter_deadline, 0);
}

#[test]
fn create_challenge_with_a_freezable_mint_fails_unless_the_admin_listed_it() {
    // Audit item 6: whoever holds a mint's freeze authority can freeze the vault.
    let mut f = ChallengeFixture::new();
    let authority = f.mint_authority.insecure_clone();
    let freezable = f.t.chain.create_mint_with(
        &authority,
        &authority.pubkey(),
        Some(&authority.pubkey()),
        6,
    );
    let creator = f.creator.insecure_clone();
    let args = f.args(Mode::Fire);
    assert_challenge_error(
        f.create_with_mint(&creator, args, Some(freezable)).1,
        ChallengeError::UnsupportedBondMint,
    );

    let admin = f.admin.insecure_clone();
    let mut listed = f.config_args();
    listed.bond_mints = vec![freezable];
    f.t.chain
        .send(&admin, &[cix::update_config(&admin.pubkey(), listed)], &[])
        .expect("list the mint");
    let args = f.args(Mode::Fire);
    let (c, result) = f.create_with_mint(&creator, args, Some(freezable));
    result.expect("a listed freezable mint is allowed");
    assert_eq!(f.state(&c).bond_mint, freezable);
}
