use challenge::{
    error::ChallengeError,
    state::{Mode, Outcome, Party, Status},
};
use veil_harness::{
    assert::assert_challenge_error,
    challenge::{ACCEPT_AFTER, ARBITER_WINDOW, BOND, RESPOND_AFTER, STARTING_TOKENS, START_TIME},
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
fn expire_after_the_response_deadline_without_confirmations_refunds_every_bond() {
    let mut f = ChallengeFixture::new();
    let c = enforced_with_bonds(&mut f);
    let counterparty = f.counterparty.insecure_clone();
    f.lock(&c, &counterparty).unwrap();
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
fn expire_after_the_response_deadline_lets_a_single_confirmation_stand() {
    // Audit item 4: the loser used to escape slashing by staying silent until the deadline.
    let mut f = ChallengeFixture::new();
    let c = enforced_with_bonds(&mut f);
    let (creator, counterparty) = (f.creator.insecure_clone(), f.counterparty.insecure_clone());
    f.lock(&c, &counterparty).unwrap();
    f.confirm(&c, &creator, Outcome::CreatorWins).unwrap();
    f.advance(ACCEPT_AFTER + RESPOND_AFTER + 1);
    // The silent party can no longer answer.
    assert_challenge_error(
        f.confirm(&c, &counterparty, Outcome::CounterpartyWins),
        ChallengeError::ResponseDeadlinePassed,
    );
    f.expire(&c)
        .expect("expire completes with the only confirmation");
    let state = f.state(&c);
    assert_eq!(state.status, Status::Completed);
    assert_eq!(state.outcome, Some(Outcome::CreatorWins));
    f.settle(&c).expect("settle");
    assert_eq!(
        f.balances(&c),
        Balances {
            creator: S + 80_000_000,
            counterparty: S - BOND,
            treasury: 20_000_000,
            vault: None
        }
    );
}

#[test]
fn expire_of_a_locked_fire_challenge_after_its_response_deadline() {
    // Audit item 3: every bonded challenge has a response deadline, Fire included.
    let mut f = ChallengeFixture::new();
    let c = f.locked_fire();
    let counterparty = f.counterparty.insecure_clone();
    f.confirm(&c, &counterparty, Outcome::CounterpartyWins)
        .unwrap();
    f.advance(ACCEPT_AFTER + RESPOND_AFTER + 1);
    f.expire(&c).expect("expire");
    assert_eq!(f.state(&c).outcome, Some(Outcome::CounterpartyWins));
    f.settle(&c).unwrap();
    let b = f.balances(&c);
    assert_eq!((b.creator, b.counterparty), (S - BOND, S + 80_000_000));
}

#[test]
fn a_dispute_a_second_before_the_deadline_gets_the_arbiters_full_window() {
    let mut f = ChallengeFixture::new();
    let c = enforced_with_bonds(&mut f);
    let (creator, counterparty, arbiter) = (
        f.creator.insecure_clone(),
        f.counterparty.insecure_clone(),
        f.arbiter.insecure_clone(),
    );
    f.lock(&c, &counterparty).unwrap();
    f.confirm(&c, &creator, Outcome::CreatorWins).unwrap();
    f.advance(ACCEPT_AFTER + RESPOND_AFTER - 1);
    f.confirm(&c, &counterparty, Outcome::CounterpartyWins)
        .unwrap();
    let state = f.state(&c);
    assert_eq!(state.status, Status::Disputed);
    assert_eq!(
        state.arbiter_deadline,
        START_TIME + ACCEPT_AFTER + RESPOND_AFTER - 1 + ARBITER_WINDOW
    );
    // Past the response deadline the dispute does not expire: the arbiter's window runs.
    f.advance(2);
    assert_challenge_error(f.expire(&c), ChallengeError::DeadlineNotReached);
    f.resolve(&c, &arbiter, Outcome::CreatorWins)
        .expect("the arbiter decides within its window");
    assert_eq!(f.state(&c).status, Status::Completed);
}

#[test]
fn a_dispute_the_arbiter_never_decides_expires_with_refunds() {
    // Audit item 3: an arbiter who never resolves no longer holds both bonds.
    let mut f = ChallengeFixture::new();
    let c = f.locked_fire();
    let (creator, counterparty, arbiter) = (
        f.creator.insecure_clone(),
        f.counterparty.insecure_clone(),
        f.arbiter.insecure_clone(),
    );
    f.confirm(&c, &creator, Outcome::CreatorWins).unwrap();
    f.confirm(&c, &counterparty, Outcome::Draw).unwrap();
    f.advance(ARBITER_WINDOW);
    assert_challenge_error(f.expire(&c), ChallengeError::DeadlineNotReached);
    f.advance(1);
    assert_challenge_error(
        f.resolve(&c, &arbiter, Outcome::CreatorWins),
        ChallengeError::ArbiterDeadlinePassed,
    );
    f.expire(&c).expect("expire the undecided dispute");
    assert_eq!(f.state(&c).status, Status::Expired);
    let b = f.balances(&c);
    assert_eq!((b.creator, b.counterparty, b.vault), (S, S, None));
}

#[test]
fn expire_of_an_accepted_fire_challenge_whose_counterparty_never_deposits() {
    let mut f = ChallengeFixture::new();
    let c = f.accepted(Mode::Fire);
    f.deposit(&c, Party::Creator).unwrap();
    f.advance(ACCEPT_AFTER + RESPOND_AFTER + 1);
    f.expire(&c).expect("expire");
    assert_eq!(f.state(&c).status, Status::Expired);
    assert_eq!(f.balances(&c).creator, S);
}

#[test]
fn expire_after_an_outsider_transfer_refunds_and_sweeps_the_surplus() {
    let mut f = ChallengeFixture::new();
    let c = enforced_with_bonds(&mut f);
    f.gift_to_vault(&c, 3).unwrap();
    f.advance(ACCEPT_AFTER + RESPOND_AFTER + 1);
    f.expire(&c).expect("expire despite the surplus");
    assert_eq!(
        f.balances(&c),
        Balances {
            creator: S,
            counterparty: S,
            treasury: 3,
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
fn expire_of_a_challenge_without_deadlines_or_finished_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.accepted(Mode::Gatekeeper);
    f.advance(365 * 86_400);
    assert_challenge_error(f.expire(&c), ChallengeError::NotEnforced);

    let e = enforced_with_bonds(&mut f);
    f.advance(365 * 86_400);
    f.expire(&e).unwrap();
    assert_challenge_error(f.expire(&e), ChallengeError::InvalidStatus);
}
