use challenge::{
    error::ChallengeError,
    events::SurplusSwept,
    state::{Mode, Outcome},
};
use veil_client::{challenge as cix, decode::ChallengeEvent};
use veil_harness::{
    assert::assert_challenge_error,
    challenge::{BOND, STARTING_TOKENS},
    Balances, ChallengeFixture, Signer,
};

const S: u64 = STARTING_TOKENS;

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
fn settle_runs_while_paused() {
    // A pause must not hold back what the outcome already decided (audit item 6).
    let mut f = ChallengeFixture::new();
    let c = completed(&mut f, Outcome::Draw);
    f.set_paused(true).unwrap();
    f.settle(&c).expect("settle while paused");
    let b = f.balances(&c);
    assert_eq!((b.creator, b.counterparty, b.vault), (S, S, None));
}

#[test]
fn settle_after_an_outsider_transfer_pays_the_outcome_and_sweeps_the_surplus() {
    // Audit item 1: one unsolicited base unit in the vault used to block every exit.
    let mut f = ChallengeFixture::new();
    let c = completed(&mut f, Outcome::CreatorWins);
    f.gift_to_vault(&c, 1)
        .expect("anyone may transfer into the vault");
    assert_eq!(f.balances(&c).vault, Some(2 * BOND + 1));
    let executed = f.settle(&c).expect("settle despite the surplus");
    // The outcome's payout is unchanged (100 bond back + 70 + 10 remainder; 20 to the
    // treasury), and the stray unit goes to the treasury too.
    assert_eq!(
        f.balances(&c),
        Balances {
            creator: S + 80_000_000,
            counterparty: S - BOND,
            treasury: 20_000_000 + 1,
            vault: None,
        }
    );
    let state = f.state(&c);
    assert!(state.vault_closed);
    assert_eq!((state.deposited, state.paid_out), (2 * BOND, 2 * BOND));
    let swept: Vec<SurplusSwept> = executed
        .event_cpi_payloads(&cix::PROGRAM_ID)
        .filter_map(|d| match ChallengeEvent::decode_event_cpi(d) {
            Ok(ChallengeEvent::SurplusSwept(e)) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(
        swept,
        vec![SurplusSwept {
            challenge: c,
            mint: f.mint,
            treasury: f.treasury.pubkey(),
            amount: 1,
        }]
    );
}

#[test]
fn settle_with_surplus_but_without_the_treasury_account_fails() {
    let mut f = ChallengeFixture::new();
    let c = completed(&mut f, Outcome::Draw);
    f.gift_to_vault(&c, 5).unwrap();
    let cranker = f.t.wallet();
    let mut escrow = f.escrow(&c);
    escrow.treasury_tokens = None;
    let ix = cix::settle(&cranker.pubkey(), &c, escrow);
    assert_challenge_error(
        f.t.chain.send(&cranker, &[ix], &[]),
        ChallengeError::TokenAccountMismatch,
    );
    assert_eq!(f.balances(&c).vault, Some(2 * BOND + 5));
}
