use registry::{
    error::RegistryError,
    events::IdBatchAnchored,
    state::{IdBatch, MAX_ID_BATCH},
};
use veil_client::{decode::RegistryEvent, registry as ix};
use veil_harness::{
    assert::{assert_account_already_in_use, assert_registry_error},
    TestBuilder,
};

use crate::common::scalar;

const CHI: [u8; 4] = *b"CHI\0";

#[test]
fn anchor_id_batch_success_stores_record_and_emits_event() {
    let mut t = TestBuilder::new().build();
    t.chain.warp_to_slot(500);
    t.chain.set_unix_timestamp(1_795_000_000);
    let registrar = t.registrar.insecure_clone();
    let executed = t
        .anchor_id_batch_as(&registrar, CHI, scalar(77), 1_000, 256)
        .expect("anchor_id_batch");

    let (_, bump) = ix::id_batch_pda(&CHI, 1_000);
    assert_eq!(
        t.id_batch(&CHI, 1_000).unwrap(),
        IdBatch {
            namespace: CHI,
            first_seq: 1_000,
            count: 256,
            batch_root: scalar(77),
            slot: 500,
            anchored_at: 1_795_000_000,
            bump,
        }
    );
    assert_eq!(
        executed.registry_events().unwrap(),
        vec![RegistryEvent::IdBatchAnchored(IdBatchAnchored {
            namespace: CHI,
            batch_root: scalar(77),
            first_seq: 1_000,
            count: 256,
            slot: 500,
        })]
    );
}

#[test]
fn anchor_id_batch_accepts_four_letter_namespaces() {
    let mut t = TestBuilder::new().build();
    let registrar = t.registrar.insecure_clone();
    t.anchor_id_batch_as(&registrar, *b"ACME", scalar(1), 0, 1)
        .expect("4-letter namespace");
    assert_eq!(t.id_batch(b"ACME", 0).unwrap().count, 1);
}

#[test]
fn anchor_id_batch_by_non_registrar_fails() {
    let mut t = TestBuilder::new().build();
    let admin = t.admin.insecure_clone();
    assert_registry_error(
        t.anchor_id_batch_as(&admin, CHI, scalar(1), 0, 1),
        RegistryError::NotRegistrar,
    );
    assert!(t.id_batch(&CHI, 0).is_none());
}

#[test]
fn anchor_id_batch_while_paused_fails() {
    let mut t = TestBuilder::new().build();
    t.pause().unwrap();
    let registrar = t.registrar.insecure_clone();
    assert_registry_error(
        t.anchor_id_batch_as(&registrar, CHI, scalar(1), 0, 1),
        RegistryError::Paused,
    );
}

#[test]
fn anchor_id_batch_twice_fails_because_it_exists() {
    let mut t = TestBuilder::new().build();
    let registrar = t.registrar.insecure_clone();
    t.anchor_id_batch_as(&registrar, CHI, scalar(1), 0, 10)
        .unwrap();
    assert_account_already_in_use(t.anchor_id_batch_as(&registrar, CHI, scalar(2), 0, 10));
    assert_eq!(t.id_batch(&CHI, 0).unwrap().batch_root, scalar(1));
}

#[test]
fn anchor_id_batch_with_a_malformed_namespace_fails() {
    let mut t = TestBuilder::new().build();
    let registrar = t.registrar.insecure_clone();
    for bad in [*b"chi\0", *b"CH\0\0", *b"C1I\0", *b"CH\0I", [0u8; 4]] {
        assert_registry_error(
            t.anchor_id_batch_as(&registrar, bad, scalar(1), 0, 1),
            RegistryError::InvalidNamespace,
        );
    }
}

#[test]
fn anchor_id_batch_with_a_bad_size_fails() {
    let mut t = TestBuilder::new().build();
    let registrar = t.registrar.insecure_clone();
    assert_registry_error(
        t.anchor_id_batch_as(&registrar, CHI, scalar(1), 0, 0),
        RegistryError::InvalidBatchSize,
    );
    assert_registry_error(
        t.anchor_id_batch_as(&registrar, CHI, scalar(1), 0, MAX_ID_BATCH + 1),
        RegistryError::InvalidBatchSize,
    );
}

#[test]
fn anchor_id_batch_with_an_overflowing_range_fails() {
    let mut t = TestBuilder::new().build();
    let registrar = t.registrar.insecure_clone();
    assert_registry_error(
        t.anchor_id_batch_as(&registrar, CHI, scalar(1), u64::MAX - 1, 2),
        RegistryError::SequenceOverflow,
    );
}

#[test]
fn anchor_id_batch_overlapping_the_previous_batch_fails() {
    // Audit finding 6: overlapping ranges were accepted.
    let mut t = TestBuilder::new().build();
    let registrar = t.registrar.insecure_clone();
    t.anchor_id_batch_as(&registrar, CHI, scalar(1), 100, 50)
        .expect("[100, 150)");
    // Starting inside, or before, the previous range.
    assert_registry_error(
        t.anchor_id_batch_as(&registrar, CHI, scalar(2), 149, 10),
        RegistryError::BatchOverlaps,
    );
    assert_registry_error(
        t.anchor_id_batch_as(&registrar, CHI, scalar(3), 0, 10),
        RegistryError::BatchOverlaps,
    );
    assert!(t.id_batch(&CHI, 149).is_none());
    // Right after it, and in another namespace from anywhere.
    t.anchor_id_batch_as(&registrar, CHI, scalar(4), 150, 1)
        .expect("[150, 151)");
    t.anchor_id_batch_as(&registrar, *b"ACME", scalar(5), 0, 10)
        .expect("another namespace");
    let sequence: registry::state::IdSequence = t
        .chain
        .anchor_account(&ix::id_sequence_pda(&CHI).0)
        .unwrap()
        .unwrap();
    assert_eq!((sequence.namespace, sequence.next_seq), (CHI, 151));
}
