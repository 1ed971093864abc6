use challenge::{
    error::ChallengeError,
    state::{Mode, Outcome},
};
use veil_harness::{assert::assert_challenge_error, ChallengeFixture, Signer};

fn completed(f: &mut ChallengeFixture, outcome: Outcome) -> anchor_lang::prelude::Pubkey {
    let c = f.locked_fire();
    let (creator, counterparty) = (f.creator.insecure_clone(), f.counterparty.insecure_clone());
    f.confirm(&c, &creator, outcome).unwrap();
    f.confirm(&c, &counterparty, outcome).unwrap();
    c
}

#[test]
fn settle_before_completion_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.locked_fire();
    assert_challenge_error(f.settle(&c), ChallengeError::InvalidStatus);
}

#[test]
fn settle_twice_pays_nothing_more() {
    let mut f = ChallengeFixture::new();
    let c = completed(&mut f, Outcome::CreatorWins);
    f.settle(&c).unwrap();
    let after = f.balances(&c);
    assert_challenge_error(f.settle(&c), ChallengeError::AlreadySettled);
    assert_eq!(f.balances(&c), after);
}

#[test]
fn settle_of_an_unbonded_challenge_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Solo);
    let creator = f.creator.insecure_clone();
    f.lock(&c, &creator).unwrap();
    f.confirm(&c, &creator, Outcome::CreatorWins).unwrap();
    assert_challenge_error(f.settle(&c), ChallengeError::NotBonded);
}

#[test]
fn settle_into_a_treasury_account_of_someone_else_fails() {
    let mut f = ChallengeFixture::new();
    let c = completed(&mut f, Outcome::CounterpartyWins);
    let thief = f.t.wallet();
    let mint = f.mint;
    let thief_tokens =
        f.t.chain
            .create_token_account(&thief, &mint, &thief.pubkey());
    assert_challenge_error(
        f.settle_into(&c, &thief, &thief_tokens),
        ChallengeError::TokenAccountMismatch,
    );
    assert_eq!(f.t.chain.token_balance(&thief_tokens), 0);
}

#[test]
fn settle_while_paused_fails() {
    let mut f = ChallengeFixture::new();
    let c = completed(&mut f, Outcome::Draw);
    f.set_paused(true).unwrap();
    assert_challenge_error(f.settle(&c), ChallengeError::Paused);
}
