use anchor_lang::error::ErrorCode as AnchorErrorCode;
use registry::{
    error::RegistryError,
    events::MerkleRootUpdated,
    state::{RootEntry, ROOT_HISTORY_SIZE},
};
use veil_client::{decode::RegistryEvent, registry as ix};
use veil_core::field::BN254_MODULUS_BE;
use veil_harness::{
    assert::{assert_anchor_error, assert_registry_error},
    RegistryFixture, Signer, TestBuilder,
};

use crate::common::{scalar, TRACK};

fn with_track(depth: u8) -> RegistryFixture {
    let mut t = TestBuilder::new().build();
    t.create_track(TRACK, depth, 0).unwrap();
    t
}

#[test]
fn publish_root_success_enters_the_ring_and_emits_event() {
    let mut t = with_track(20);
    t.chain.warp_to_slot(1_000);
    let executed = t.publish_root(TRACK, scalar(11), 3).expect("publish_root");

    let track = t.track(&TRACK).unwrap();
    assert_eq!(track.leaf_count, 3);
    assert_eq!(track.root_count, 1);
    assert_eq!(
        track.latest_root(),
        Some(&RootEntry {
            root: scalar(11),
            slot: 1_000,
            leaf_count: 3,
        })
    );
    assert_eq!(track.find_root(&scalar(11)).map(|e| e.slot), Some(1_000));
    assert_eq!(
        executed.registry_events().unwrap(),
        vec![RegistryEvent::MerkleRootUpdated(MerkleRootUpdated {
            track_id: TRACK,
            root: scalar(11),
            leaf_count: 3,
            root_index: 0,
            slot: 1_000,
            snapshot_slot: 1_000,
        })]
    );
}

#[test]
fn publish_root_by_non_registrar_fails() {
    let mut t = with_track(20);
    let admin = t.admin.insecure_clone();
    assert_registry_error(
        t.publish_root_as(&admin, TRACK, scalar(1), 1),
        RegistryError::NotRegistrar,
    );
    assert_eq!(t.track(&TRACK).unwrap().root_count, 0);
}

#[test]
fn publish_root_without_the_registrar_signature_fails() {
    let mut t = with_track(20);
    let payer = t.wallet();
    let mut bad = ix::publish_root(&t.registrar.pubkey(), TRACK, scalar(1), 1, 0);
    bad.accounts[0].is_signer = false;
    assert_anchor_error(
        t.chain.send(&payer, &[bad], &[]),
        AnchorErrorCode::AccountNotSigner,
    );
}

#[test]
fn publish_root_while_paused_fails() {
    let mut t = with_track(20);
    t.pause().unwrap();
    assert_registry_error(t.publish_root(TRACK, scalar(1), 1), RegistryError::Paused);
}

#[test]
fn publish_root_with_decreasing_leaf_count_fails() {
    let mut t = with_track(20);
    t.publish_root(TRACK, scalar(1), 10).unwrap();
    assert_registry_error(
        t.publish_root(TRACK, scalar(2), 9),
        RegistryError::LeafCountDecreased,
    );
    let track = t.track(&TRACK).unwrap();
    assert_eq!((track.leaf_count, track.root_count), (10, 1));
}

#[test]
fn publish_root_repeating_the_latest_root_fails_as_stale() {
    let mut t = with_track(20);
    t.publish_root(TRACK, scalar(1), 10).unwrap();
    assert_registry_error(
        t.publish_root(TRACK, scalar(1), 10),
        RegistryError::RootAlreadyLatest,
    );
    // A new root at the same leaf count (a leaf replaced in place) is accepted.
    t.publish_root(TRACK, scalar(2), 10).unwrap();
    assert_eq!(t.track(&TRACK).unwrap().root_count, 2);
}

#[test]
fn publish_root_beyond_capacity_fails() {
    let mut t = with_track(3);
    t.publish_root(TRACK, scalar(1), 8).expect("2^3 leaves fit");
    assert_registry_error(
        t.publish_root(TRACK, scalar(2), 9),
        RegistryError::LeafCountExceedsCapacity,
    );
}

#[test]
fn publish_root_outside_the_field_fails() {
    let mut t = with_track(20);
    assert_registry_error(
        t.publish_root(TRACK, BN254_MODULUS_BE, 1),
        RegistryError::RootNotInField,
    );
}

#[test]
fn publish_root_to_an_unknown_track_fails() {
    let mut t = TestBuilder::new().build();
    // The PDA holds no account, so it is owned by the system program: `AccountLoader` checks
    // the owner first, exactly as on-chain.
    assert_anchor_error(
        t.publish_root(TRACK, scalar(1), 1),
        AnchorErrorCode::AccountOwnedByWrongProgram,
    );
}

#[test]
fn publish_root_ring_wraps_around_and_evicts_the_oldest() {
    let mut t = with_track(20);
    let extra = 6u64;
    let total = ROOT_HISTORY_SIZE as u64 + extra;
    for i in 0..total {
        t.chain.warp_to_slot(100 + i);
        let executed = t.publish_root(TRACK, scalar(1_000 + i), i + 1).unwrap();
        match &executed.registry_events().unwrap()[..] {
            [RegistryEvent::MerkleRootUpdated(e)] => assert_eq!(e.root_index, i),
            other => panic!("unexpected events {other:?}"),
        }
    }

    let track = t.track(&TRACK).unwrap();
    assert_eq!(track.root_count, total);
    assert_eq!(track.leaf_count, total);
    assert_eq!(track.head as u64, (total - 1) % ROOT_HISTORY_SIZE as u64);
    // The oldest `extra` roots were evicted; every later one is still there with its slot.
    for i in 0..extra {
        assert!(
            track.find_root(&scalar(1_000 + i)).is_none(),
            "root {i} evicted"
        );
    }
    for i in extra..total {
        let entry = track
            .find_root(&scalar(1_000 + i))
            .expect("recent root kept");
        assert_eq!((entry.slot, entry.leaf_count), (100 + i, i + 1));
    }
    assert_eq!(track.latest_root().unwrap().root, scalar(1_000 + total - 1));
}

#[test]
fn publish_root_with_a_snapshot_in_the_future_or_going_back_fails() {
    let mut t = with_track(20);
    let registrar = t.registrar.insecure_clone();
    t.chain.warp_to_slot(500);
    assert_registry_error(
        t.publish_root_at(&registrar, TRACK, scalar(1), 1, 501),
        RegistryError::InvalidSnapshotSlot,
    );
    t.publish_root_at(&registrar, TRACK, scalar(1), 1, 400)
        .expect("a past snapshot");
    assert_registry_error(
        t.publish_root_at(&registrar, TRACK, scalar(2), 2, 399),
        RegistryError::InvalidSnapshotSlot,
    );
    // The same root with the same snapshot changes nothing and is refused.
    assert_registry_error(
        t.publish_root_at(&registrar, TRACK, scalar(1), 1, 400),
        RegistryError::RootAlreadyLatest,
    );
    assert_eq!(t.track(&TRACK).unwrap().latest_root().unwrap().slot, 400);
}
