use challenge::{
    error::ChallengeError,
    state::{Mode, Outcome, Party, Status},
};
use veil_harness::{
    assert::assert_challenge_error,
    challenge::{ACCEPT_AFTER, BOND, RESPOND_AFTER, STARTING_TOKENS},
    Balances, ChallengeFixture,
};

const S: u64 = STARTING_TOKENS;

fn enforced_with_bonds(f: &mut ChallengeFixture) -> anchor_lang::prelude::Pubkey {
    let c = f.accepted(Mode::Enforced);
    f.attest(&c, Party::Creator, true).unwrap();
    f.attest(&c, Party::Counterparty, true).unwrap();
    f.deposit(&c, Party::Creator).unwrap();
    f.deposit(&c, Party::Counterparty).unwrap();
    c
}

#[test]
fn expire_after_the_response_deadline_refunds_every_bond() {
    let mut f = ChallengeFixture::new();
    let c = enforced_with_bonds(&mut f);
    let counterparty = f.counterparty.insecure_clone();
    f.lock(&c, &counterparty).unwrap();
    let creator = f.creator.insecure_clone();
    f.confirm(&c, &creator, Outcome::CreatorWins).unwrap();
    assert_eq!(
        f.balances(&c),
        Balances {
            creator: S - BOND,
            counterparty: S - BOND,
            treasury: 0,
            vault: Some(2 * BOND)
        }
    );
    f.advance(ACCEPT_AFTER + RESPOND_AFTER);
    assert_challenge_error(f.expire(&c), ChallengeError::DeadlineNotReached);
    f.advance(1);
    f.expire(&c).expect("expire");
    let state = f.state(&c);
    assert_eq!(state.status, Status::Expired);
    assert!(state.vault_closed);
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
fn expire_before_acceptance_after_the_accept_deadline() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Enforced);
    f.advance(ACCEPT_AFTER);
    assert_challenge_error(f.expire(&c), ChallengeError::DeadlineNotReached);
    f.advance(1);
    f.expire(&c).expect("expire");
    assert_eq!(f.state(&c).status, Status::Expired);
    assert_eq!(f.balances(&c).vault, None);
}

#[test]
fn expire_runs_while_paused() {
    let mut f = ChallengeFixture::new();
    let c = enforced_with_bonds(&mut f);
    f.set_paused(true).unwrap();
    f.advance(ACCEPT_AFTER + RESPOND_AFTER + 1);
    f.expire(&c).expect("refunds run while paused");
    assert_eq!(f.balances(&c).creator, S);
}

#[test]
fn expire_of_a_non_enforced_or_finished_challenge_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.locked_fire();
    f.advance(365 * 86_400);
    assert_challenge_error(f.expire(&c), ChallengeError::NotEnforced);

    let e = enforced_with_bonds(&mut f);
    f.advance(365 * 86_400);
    f.expire(&e).unwrap();
    assert_challenge_error(f.expire(&e), ChallengeError::InvalidStatus);
}
