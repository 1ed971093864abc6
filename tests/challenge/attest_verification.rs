use challenge::{
    error::ChallengeError,
    state::{Mode, Party},
};
use veil_harness::{assert::assert_challenge_error, ChallengeFixture};

#[test]
fn attest_verification_by_a_non_gatekeeper_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Gatekeeper);
    let counterparty = f.counterparty.insecure_clone();
    f.accept(&c, &counterparty).unwrap();
    assert_challenge_error(
        f.attest_as(&counterparty, &c, Party::Counterparty, true),
        ChallengeError::NotGatekeeper,
    );
    assert!(!f.state(&c).counterparty_state.verified);
}

#[test]
fn attest_verification_before_acceptance_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Gatekeeper);
    assert_challenge_error(
        f.attest(&c, Party::Creator, true),
        ChallengeError::InvalidStatus,
    );
    let solo = f.created(Mode::Solo);
    assert_challenge_error(
        f.attest(&solo, Party::Creator, true),
        ChallengeError::InvalidStatus,
    );
}

#[test]
fn attest_verification_twice_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Gatekeeper);
    let counterparty = f.counterparty.insecure_clone();
    f.accept(&c, &counterparty).unwrap();
    f.attest(&c, Party::Creator, true).unwrap();
    assert_challenge_error(
        f.attest(&c, Party::Creator, true),
        ChallengeError::AlreadyVerified,
    );
}
