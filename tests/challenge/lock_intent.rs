use challenge::{
    error::ChallengeError,
    state::{Mode, Party, Status},
};
use veil_harness::{
    assert::assert_challenge_error,
    challenge::{ACCEPT_AFTER, RESPOND_AFTER},
    ChallengeFixture,
};

#[test]
fn lock_intent_before_both_verifications_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Gatekeeper);
    let counterparty = f.counterparty.insecure_clone();
    f.accept(&c, &counterparty).unwrap();
    f.attest(&c, Party::Creator, true).unwrap();
    assert_challenge_error(f.lock(&c, &counterparty), ChallengeError::NotVerified);
}

#[test]
fn lock_intent_before_both_bonds_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Fire);
    let counterparty = f.counterparty.insecure_clone();
    f.accept(&c, &counterparty).unwrap();
    f.attest(&c, Party::Creator, true).unwrap();
    f.attest(&c, Party::Counterparty, true).unwrap();
    f.deposit(&c, Party::Creator).unwrap();
    assert_challenge_error(f.lock(&c, &counterparty), ChallengeError::BondsMissing);
}

#[test]
fn lock_intent_by_a_stranger_or_a_solo_non_creator_fails() {
    let mut f = ChallengeFixture::new();
    let solo = f.created(Mode::Solo);
    let counterparty = f.counterparty.insecure_clone();
    assert_challenge_error(f.lock(&solo, &counterparty), ChallengeError::NotCreator);

    let c = f.created(Mode::Gatekeeper);
    f.accept(&c, &counterparty).unwrap();
    let stranger = f.t.wallet();
    assert_challenge_error(f.lock(&c, &stranger), ChallengeError::NotAParty);
}

#[test]
fn lock_intent_twice_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.locked_fire();
    let creator = f.creator.insecure_clone();
    assert_challenge_error(f.lock(&c, &creator), ChallengeError::InvalidStatus);
    assert_eq!(f.state(&c).status, Status::IntentLocked);
}

#[test]
fn lock_intent_after_the_response_deadline_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Enforced);
    let counterparty = f.counterparty.insecure_clone();
    f.accept(&c, &counterparty).unwrap();
    f.attest(&c, Party::Creator, true).unwrap();
    f.attest(&c, Party::Counterparty, true).unwrap();
    f.deposit(&c, Party::Creator).unwrap();
    f.deposit(&c, Party::Counterparty).unwrap();
    f.advance(ACCEPT_AFTER + RESPOND_AFTER + 1);
    assert_challenge_error(
        f.lock(&c, &counterparty),
        ChallengeError::ResponseDeadlinePassed,
    );
}
