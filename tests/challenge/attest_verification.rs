use challenge::{
    error::ChallengeError,
    state::{Mode, Party},
};
use veil_harness::{assert::assert_challenge_error, ChallengeFixture};

#[test]
fn attest_verification_by_a_non_gatekeeper_fails() {
    let mut f = ChallengeFixture::new();
    let args = f.args(Mode::Gatekeeper);
    let (c, r) = f.create(args);
    r.unwrap();
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
    let args = f.args(Mode::Gatekeeper);
    let (c, r) = f.create(args);
    r.unwrap();
    assert_challenge_error(
        f.attest(&c, Party::Creator, true),
        ChallengeError::InvalidStatus,
    );
    let args = f.args(Mode::Solo);
    let (solo, r) = f.create(args);
    r.unwrap();
    assert_challenge_error(
        f.attest(&solo, Party::Creator, true),
        ChallengeError::InvalidStatus,
    );
}

#[test]
fn attest_verification_twice_fails() {
    let mut f = ChallengeFixture::new();
    let args = f.args(Mode::Gatekeeper);
    let (c, r) = f.create(args);
    r.unwrap();
    let counterparty = f.counterparty.insecure_clone();
    f.accept(&c, &counterparty).unwrap();
    f.attest(&c, Party::Creator, true).unwrap();
    assert_challenge_error(
        f.attest(&c, Party::Creator, true),
        ChallengeError::AlreadyVerified,
    );
}
