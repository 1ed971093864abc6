use registry::{error::RegistryError, events::PauseSet};
use veil_client::{decode::RegistryEvent, registry as ix};
use veil_harness::{assert::assert_registry_error, Signer, TestBuilder};

use crate::common::{scalar, TRACK};

#[test]
fn pause_success_sets_flag_and_emits_event() {
    let mut t = TestBuilder::new().build();
    let executed = t.pause().expect("pause");
    assert!(t.config().paused);
    assert_eq!(
        executed.registry_events().unwrap(),
        vec![RegistryEvent::PauseSet(PauseSet { paused: true })]
    );
}

#[test]
fn pause_by_non_admin_fails() {
    let mut t = TestBuilder::new().build();
    let registrar = t.registrar.insecure_clone();
    assert_registry_error(t.pause_as(&registrar), RegistryError::NotAdmin);
    assert!(!t.config().paused);
}

#[test]
fn pause_twice_fails() {
    let mut t = TestBuilder::new().build();
    t.pause().unwrap();
    assert_registry_error(t.pause(), RegistryError::Paused);
}

#[test]
fn pause_blocks_every_instruction_but_unpause() {
    let mut t = TestBuilder::new().build();
    t.create_track(TRACK, 20, 0).unwrap();
    t.pause().unwrap();
    let admin = t.admin.insecure_clone();
    let registrar = t.registrar.insecure_clone();
    let other = t.wallet();

    let mut other_track = TRACK;
    other_track[30] = 1;
    let blocked = [
        (&admin, ix::propose_admin(&admin.pubkey(), &other.pubkey())),
        (&other, ix::accept_admin(&other.pubkey())),
        (&admin, ix::set_registrar(&admin.pubkey(), &other.pubkey())),
        (&admin, ix::pause(&admin.pubkey())),
        (
            &admin,
            ix::create_track(
                &admin.pubkey(),
                other_track,
                20,
                0,
                veil_harness::builder::FRESHNESS_SLOTS,
            ),
        ),
        (
            &registrar,
            ix::publish_root(&registrar.pubkey(), TRACK, scalar(1), 1, 0),
        ),
        (
            &registrar,
            ix::anchor_id_batch(&registrar.pubkey(), *b"CHI\0", scalar(9), 0, 10),
        ),
    ];
    for (signer, instruction) in blocked {
        assert_registry_error(
            t.chain.send(signer, &[instruction], &[]),
            RegistryError::Paused,
        );
    }
    t.unpause_as(&admin)
        .expect("unpause is allowed while paused");
    t.publish_root(TRACK, scalar(1), 1).expect("unpaused again");
}
