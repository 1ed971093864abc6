use challenge::{error::ChallengeError, state::Outcome};
use veil_harness::{assert::assert_challenge_error, ChallengeFixture};

#[test]
fn resolve_by_a_non_arbiter_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.locked_fire();
    let (creator, counterparty) = (f.creator.insecure_clone(), f.counterparty.insecure_clone());
    f.confirm(&c, &creator, Outcome::CreatorWins).unwrap();
    f.confirm(&c, &counterparty, Outcome::CounterpartyWins)
        .unwrap();
    assert_challenge_error(
        f.resolve(&c, &creator, Outcome::CreatorWins),
        ChallengeError::NotArbiter,
    );
    assert_eq!(f.state(&c).outcome, None);
}

#[test]
fn resolve_of_a_challenge_that_is_not_disputed_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.locked_fire();
    let arbiter = f.arbiter.insecure_clone();
    assert_challenge_error(
        f.resolve(&c, &arbiter, Outcome::Draw),
        ChallengeError::InvalidStatus,
    );
}
