use challenge::{
    error::ChallengeError,
    state::{Mode, Party, Status},
};
use veil_client::challenge as cix;
use veil_harness::{
    assert::assert_challenge_error,
    challenge::{BOND, STARTING_TOKENS},
    Balances, ChallengeFixture, Signer,
};

const S: u64 = STARTING_TOKENS;

#[test]
fn cancel_before_acceptance_closes_the_vault_and_returns_its_rent() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Fire);
    let vault = cix::vault_pda(&c).0;
    let rent = f.t.chain.lamports(&vault);
    let creator = f.creator.insecure_clone();
    let before = f.t.chain.lamports(&creator.pubkey());
    f.cancel(&c, &creator).expect("cancel");
    let state = f.state(&c);
    assert_eq!(state.status, Status::Cancelled);
    assert!(state.vault_closed);
    assert_eq!(f.t.chain.lamports(&vault), 0);
    // The rent came back; the creator also paid this transaction's fee.
    assert!(f.t.chain.lamports(&creator.pubkey()) + 10_000 >= before + rent);
}

#[test]
fn cancel_by_a_non_creator_before_acceptance_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Gatekeeper);
    let counterparty = f.counterparty.insecure_clone();
    assert_challenge_error(f.cancel(&c, &counterparty), ChallengeError::NotCreator);
}

#[test]
fn cancel_by_the_counterparty_before_acceptance_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Fire);
    let counterparty = f.counterparty.insecure_clone();
    assert_challenge_error(f.cancel(&c, &counterparty), ChallengeError::NotCreator);
}

#[test]
fn cancel_after_acceptance_when_the_counterparty_never_deposits_refunds_the_creator() {
    // Audit item 3: accepted, both verified, the creator's bond in, and the counterparty
    // stops acting. The creator needs nobody to get its bond back.
    let mut f = ChallengeFixture::new();
    let c = f.accepted(Mode::Fire);
    f.attest(&c, Party::Creator, true).unwrap();
    f.attest(&c, Party::Counterparty, true).unwrap();
    f.deposit(&c, Party::Creator).unwrap();
    assert_eq!(f.balances(&c).creator, S - BOND);
    let creator = f.creator.insecure_clone();
    f.cancel(&c, &creator).expect("cancel after acceptance");
    let state = f.state(&c);
    assert_eq!(state.status, Status::Cancelled);
    assert!(state.vault_closed);
    assert_eq!((state.deposited, state.paid_out), (BOND, BOND));
    assert_eq!(
        f.balances(&c),
        Balances {
            creator: S,
            counterparty: S,
            treasury: 0,
            vault: None
        }
    );
}

#[test]
fn cancel_after_acceptance_by_the_counterparty_refunds_both() {
    let mut f = ChallengeFixture::new();
    let c = f.accepted(Mode::Enforced);
    f.attest(&c, Party::Counterparty, true).unwrap();
    f.deposit(&c, Party::Creator).unwrap();
    f.deposit(&c, Party::Counterparty).unwrap();
    let counterparty = f.counterparty.insecure_clone();
    f.cancel(&c, &counterparty)
        .expect("either party may back out");
    assert_eq!(f.state(&c).status, Status::Cancelled);
    let b = f.balances(&c);
    assert_eq!((b.creator, b.counterparty, b.vault), (S, S, None));
}

#[test]
fn cancel_after_acceptance_by_a_stranger_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.accepted(Mode::Fire);
    let stranger = f.t.wallet();
    assert_challenge_error(f.cancel(&c, &stranger), ChallengeError::NotAParty);
}

#[test]
fn cancel_after_the_intent_locks_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.locked_fire();
    let creator = f.creator.insecure_clone();
    assert_challenge_error(f.cancel(&c, &creator), ChallengeError::InvalidStatus);
}

#[test]
fn cancel_after_an_outsider_transfer_refunds_and_sweeps_the_surplus() {
    let mut f = ChallengeFixture::new();
    let c = f.accepted(Mode::Fire);
    f.deposit(&c, Party::Counterparty).unwrap();
    f.gift_to_vault(&c, 7).unwrap();
    let creator = f.creator.insecure_clone();
    f.cancel(&c, &creator).expect("cancel despite the surplus");
    assert_eq!(
        f.balances(&c),
        Balances {
            creator: S,
            counterparty: S,
            treasury: 7,
            vault: None
        }
    );
}

#[test]
fn cancel_runs_while_paused() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Solo);
    f.set_paused(true).unwrap();
    let creator = f.creator.insecure_clone();
    f.cancel(&c, &creator).expect("cancel while paused");
    assert_eq!(f.state(&c).status, Status::Cancelled);
}
