use challenge::{
    error::ChallengeError,
    state::{Mode, Status},
};
use veil_client::challenge as cix;
use veil_harness::{assert::assert_challenge_error, ChallengeFixture, Signer};

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
fn cancel_by_a_non_creator_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Gatekeeper);
    let counterparty = f.counterparty.insecure_clone();
    assert_challenge_error(f.cancel(&c, &counterparty), ChallengeError::NotCreator);
}

#[test]
fn cancel_after_acceptance_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Gatekeeper);
    let (creator, counterparty) = (f.creator.insecure_clone(), f.counterparty.insecure_clone());
    f.accept(&c, &counterparty).unwrap();
    assert_challenge_error(f.cancel(&c, &creator), ChallengeError::InvalidStatus);
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
