use challenge::{
    error::ChallengeError,
    state::{Mode, Outcome},
};
use veil_harness::{assert::assert_challenge_error, ChallengeFixture};

#[test]
fn confirm_outcome_before_the_intent_locks_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Gatekeeper);
    let creator = f.creator.insecure_clone();
    assert_challenge_error(
        f.confirm(&c, &creator, Outcome::CreatorWins),
        ChallengeError::InvalidStatus,
    );
}

#[test]
fn confirm_outcome_by_a_stranger_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.locked_fire();
    let stranger = f.t.wallet();
    assert_challenge_error(
        f.confirm(&c, &stranger, Outcome::CreatorWins),
        ChallengeError::NotAParty,
    );
}

#[test]
fn confirm_outcome_twice_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.locked_fire();
    let creator = f.creator.insecure_clone();
    f.confirm(&c, &creator, Outcome::CreatorWins).unwrap();
    assert_challenge_error(
        f.confirm(&c, &creator, Outcome::Draw),
        ChallengeError::AlreadyConfirmed,
    );
    assert_eq!(
        f.state(&c).creator_state.confirmed,
        Some(Outcome::CreatorWins)
    );
}
