//! Each mode's full happy path, with every wallet's, the treasury's and the vault's token
//! balance asserted after each step.

use challenge::{
    events::{AttestationCreated, BondsReleased},
    state::{Mode, Outcome, Party, Payout, Status},
};
use veil_client::{challenge as cix, decode::ChallengeEvent};
use veil_harness::{
    challenge::{BOND, STARTING_TOKENS},
    Balances, ChallengeFixture, Executed, Signer,
};

const S: u64 = STARTING_TOKENS;

fn events(executed: &Executed) -> Vec<ChallengeEvent> {
    executed
        .event_cpi_payloads(&cix::PROGRAM_ID)
        .map(|d| ChallengeEvent::decode_event_cpi(d).expect("decodes"))
        .collect()
}

fn balances(creator: u64, counterparty: u64, treasury: u64, vault: Option<u64>) -> Balances {
    Balances {
        creator,
        counterparty,
        treasury,
        vault,
    }
}

#[test]
fn solo_draft_lock_complete_by_the_creator() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Solo);
    assert_eq!(f.state(&c).status, Status::Draft);
    let creator = f.creator.insecure_clone();
    f.lock(&c, &creator).expect("lock");
    assert_eq!(f.state(&c).status, Status::IntentLocked);
    let executed = f
        .confirm(&c, &creator, Outcome::CreatorWins)
        .expect("confirm");
    let state = f.state(&c);
    assert_eq!(state.status, Status::Completed);
    assert_eq!(state.outcome, Some(Outcome::CreatorWins));
    assert!(
        events(&executed).contains(&ChallengeEvent::AttestationCreated(AttestationCreated {
            challenge: c,
            outcome: Outcome::CreatorWins,
            terms_hash: [0x7e; 32],
        }))
    );
    assert_eq!(
        f.balances(&c),
        balances(S, S, 0, None),
        "no tokens move in Solo"
    );
}

#[test]
fn gatekeeper_accept_attest_lock_and_matching_confirmations_complete() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Gatekeeper);
    assert_eq!(f.state(&c).status, Status::AwaitingCounterparty);
    let counterparty = f.counterparty.insecure_clone();
    let creator = f.creator.insecure_clone();
    f.accept(&c, &counterparty).expect("accept");
    assert_eq!(f.state(&c).status, Status::Accepted);
    f.attest(&c, Party::Creator, true).expect("attest creator");
    f.attest(&c, Party::Counterparty, true)
        .expect("attest counterparty");
    let state = f.state(&c);
    assert!(state.creator_state.verified && state.counterparty_state.verified);
    assert_eq!(state.creator_state.attestation_hash, [0xa7; 32]);
    f.lock(&c, &creator).expect("lock");
    f.confirm(&c, &creator, Outcome::Draw)
        .expect("confirm creator");
    assert_eq!(
        f.state(&c).status,
        Status::IntentLocked,
        "one confirmation is not enough"
    );
    let executed = f
        .confirm(&c, &counterparty, Outcome::Draw)
        .expect("confirm counterparty");
    assert_eq!(f.state(&c).status, Status::Completed);
    assert!(events(&executed)
        .iter()
        .any(|e| matches!(e, ChallengeEvent::AttestationCreated(a) if a.outcome == Outcome::Draw)));
    assert_eq!(f.balances(&c), balances(S, S, 0, None));
}

#[test]
fn fire_creator_wins_slashes_the_counterparty_and_pays_the_treasury() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Fire);
    let vault = cix::vault_pda(&c).0;
    assert_eq!(f.balances(&c), balances(S, S, 0, Some(0)));
    let vault_rent = f.t.chain.lamports(&vault);
    assert!(vault_rent > 0);

    let counterparty = f.counterparty.insecure_clone();
    let creator = f.creator.insecure_clone();
    f.accept(&c, &counterparty).expect("accept");
    f.attest(&c, Party::Creator, true).expect("attest creator");
    f.attest(&c, Party::Counterparty, true)
        .expect("attest counterparty");
    f.deposit(&c, Party::Creator).expect("deposit creator");
    assert_eq!(f.balances(&c), balances(S - BOND, S, 0, Some(BOND)));
    f.deposit(&c, Party::Counterparty)
        .expect("deposit counterparty");
    assert_eq!(
        f.balances(&c),
        balances(S - BOND, S - BOND, 0, Some(2 * BOND))
    );
    f.lock(&c, &creator).expect("lock");
    f.confirm(&c, &creator, Outcome::CreatorWins)
        .expect("confirm");
    f.confirm(&c, &counterparty, Outcome::CreatorWins)
        .expect("confirm");
    assert_eq!(f.state(&c).status, Status::Completed);
    assert_eq!(
        f.balances(&c),
        balances(S - BOND, S - BOND, 0, Some(2 * BOND))
    );

    let creator_lamports = f.t.chain.lamports(&creator.pubkey());
    let executed = f.settle(&c).expect("settle");
    // Winner: own bond + 70% + the 10% remainder of the loser's; treasury: 20%.
    let treasury = BOND / 5;
    assert_eq!(
        f.balances(&c),
        balances(S + BOND - treasury, S - BOND, treasury, None)
    );
    assert!(
        f.t.chain.account(&vault).is_none_or(|a| a.lamports == 0),
        "vault closed"
    );
    assert_eq!(
        f.t.chain.lamports(&creator.pubkey()),
        creator_lamports + vault_rent
    );
    let state = f.state(&c);
    assert!(state.vault_closed);
    assert_eq!((state.deposited, state.paid_out), (2 * BOND, 2 * BOND));
    assert!(
        events(&executed).contains(&ChallengeEvent::BondsReleased(BondsReleased {
            challenge: c,
            mint: f.mint,
            payout: Payout {
                to_creator: 2 * BOND - treasury,
                to_counterparty: 0,
                to_treasury: treasury,
            },
            slashed: BOND,
        }))
    );
}

#[test]
fn fire_draw_and_no_contest_refund_both_bonds() {
    for outcome in [Outcome::Draw, Outcome::NoContest] {
        let mut f = ChallengeFixture::new();
        let c = f.locked_fire();
        let (creator, counterparty) = (f.creator.insecure_clone(), f.counterparty.insecure_clone());
        f.confirm(&c, &creator, outcome).unwrap();
        f.confirm(&c, &counterparty, outcome).unwrap();
        f.settle(&c).expect("settle");
        assert_eq!(f.balances(&c), balances(S, S, 0, None), "{outcome:?}");
    }
}

#[test]
fn fire_dispute_resolved_by_the_arbiter_pays_the_counterparty() {
    let mut f = ChallengeFixture::new();
    let c = f.locked_fire();
    let (creator, counterparty, arbiter) = (
        f.creator.insecure_clone(),
        f.counterparty.insecure_clone(),
        f.arbiter.insecure_clone(),
    );
    f.confirm(&c, &creator, Outcome::CreatorWins).unwrap();
    f.confirm(&c, &counterparty, Outcome::CounterpartyWins)
        .unwrap();
    assert_eq!(f.state(&c).status, Status::Disputed);
    f.resolve(&c, &arbiter, Outcome::CounterpartyWins)
        .expect("resolve");
    assert_eq!(f.state(&c).outcome, Some(Outcome::CounterpartyWins));
    f.settle(&c).expect("settle");
    let treasury = BOND / 5;
    assert_eq!(
        f.balances(&c),
        balances(S - BOND, S + BOND - treasury, treasury, None)
    );
}

#[test]
fn enforced_bonded_within_deadlines_settles() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Enforced);
    let (creator, counterparty) = (f.creator.insecure_clone(), f.counterparty.insecure_clone());
    f.advance(3_000);
    f.accept(&c, &counterparty)
        .expect("accept before the accept deadline");
    f.attest(&c, Party::Creator, true).unwrap();
    f.attest(&c, Party::Counterparty, true).unwrap();
    f.deposit(&c, Party::Creator).unwrap();
    f.deposit(&c, Party::Counterparty).unwrap();
    f.advance(80_000);
    f.lock(&c, &creator).unwrap();
    f.confirm(&c, &creator, Outcome::CounterpartyWins).unwrap();
    f.confirm(&c, &counterparty, Outcome::CounterpartyWins)
        .unwrap();
    f.settle(&c).expect("settle");
    let treasury = BOND / 5;
    assert_eq!(
        f.balances(&c),
        balances(S - BOND, S + BOND - treasury, treasury, None)
    );
}

#[test]
fn failed_verification_cancels_and_refunds_deposited_bonds() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Fire);
    let counterparty = f.counterparty.insecure_clone();
    f.accept(&c, &counterparty).unwrap();
    f.attest(&c, Party::Creator, true).unwrap();
    f.deposit(&c, Party::Creator).unwrap();
    assert_eq!(f.balances(&c), balances(S - BOND, S, 0, Some(BOND)));
    f.attest(&c, Party::Counterparty, false)
        .expect("a failing attestation lands");
    let state = f.state(&c);
    assert_eq!(state.status, Status::Cancelled);
    assert!(state.vault_closed);
    assert_eq!(f.balances(&c), balances(S, S, 0, None));
}
