use challenge::{
    error::ChallengeError,
    events::{CounterpartySet, StatusChanged},
    state::{Mode, Status},
};
use veil_client::{challenge as cix, decode::ChallengeEvent};
use veil_harness::{
    assert::assert_challenge_error,
    challenge::{ACCEPT_AFTER, START_TIME},
    ChallengeFixture, Signer,
};

#[test]
fn accept_by_another_key_than_the_named_counterparty_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Gatekeeper);
    let stranger = f.t.wallet();
    assert_challenge_error(f.accept(&c, &stranger), ChallengeError::NotCounterparty);
    assert_eq!(f.state(&c).status, Status::AwaitingCounterparty);
}

#[test]
fn accept_of_an_open_challenge_by_a_stranger_succeeds_but_not_by_the_creator() {
    let mut f = ChallengeFixture::new();
    let mut args = f.args(Mode::Gatekeeper);
    args.counterparty = None;
    let (c, r) = f.create(args);
    let created: Vec<ChallengeEvent> = r
        .unwrap()
        .event_cpi_payloads(&cix::PROGRAM_ID)
        .map(|d| ChallengeEvent::decode_event_cpi(d).unwrap())
        .collect();
    // Open: no counterparty is named at creation.
    assert!(
        !created
            .iter()
            .any(|e| matches!(e, ChallengeEvent::CounterpartySet(_))),
        "{created:?}"
    );
    let creator = f.creator.insecure_clone();
    assert_challenge_error(f.accept(&c, &creator), ChallengeError::PartiesNotDistinct);
    let stranger = f.t.wallet();
    let accepted = f
        .accept(&c, &stranger)
        .expect("anyone may take an open challenge");
    assert_eq!(f.state(&c).counterparty, Some(stranger.pubkey()));
    let events: Vec<ChallengeEvent> = accepted
        .event_cpi_payloads(&cix::PROGRAM_ID)
        .map(|d| ChallengeEvent::decode_event_cpi(d).unwrap())
        .collect();
    assert_eq!(
        events,
        vec![
            ChallengeEvent::StatusChanged(StatusChanged {
                challenge: c,
                from: Some(Status::AwaitingCounterparty),
                to: Status::Accepted,
                at: START_TIME,
            }),
            ChallengeEvent::CounterpartySet(CounterpartySet {
                challenge: c,
                counterparty: stranger.pubkey(),
                accepted: true,
            }),
        ]
    );
}

#[test]
fn accept_twice_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Gatekeeper);
    let counterparty = f.counterparty.insecure_clone();
    f.accept(&c, &counterparty).unwrap();
    assert_challenge_error(f.accept(&c, &counterparty), ChallengeError::InvalidStatus);
}

#[test]
fn accept_after_the_accept_deadline_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Enforced);
    f.advance(ACCEPT_AFTER + 1);
    let counterparty = f.counterparty.insecure_clone();
    assert_challenge_error(
        f.accept(&c, &counterparty),
        ChallengeError::AcceptDeadlinePassed,
    );
}

#[test]
fn accept_while_paused_fails() {
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Gatekeeper);
    f.set_paused(true).unwrap();
    let counterparty = f.counterparty.insecure_clone();
    assert_challenge_error(f.accept(&c, &counterparty), ChallengeError::Paused);
}
