//! `verify_ownership` on the in-process chain with real proofs: the cross-test of the prover
//! (`veil-circuits`) against the program's verifier code path (`veil-zk` → groth16-solana).

use registry::{error::RegistryError, events::OwnershipVerified};
use veil_client::{decode::RegistryEvent, registry as ix};
use veil_harness::{
    assert::{assert_nullifier_already_used, assert_registry_error},
    Signer, TestBuilder,
};
use veil_poseidon::to_be_bytes;
use veil_zk::{scope_for, signal_hash};

use crate::zk::ZkTrack;

const ONCE: [u8; 32] = [0; 32];

fn signal(recipient: u8) -> [u8; 32] {
    signal_hash(b"claim-access", &[recipient; 32])
}

#[test]
fn verify_ownership_success_spends_the_nullifier_and_emits_an_event_without_wallet() {
    let mut z = ZkTrack::new(4, 0);
    z.t.chain.warp_to_slot(4_242);
    let args = z.prove(2, ONCE, signal(1));
    let relayer = z.t.wallet();
    let executed =
        z.t.verify_ownership_as(&relayer, args.clone())
            .expect("a valid proof verifies");

    let record =
        z.t.nullifier(&args.track_id, &args.nullifier)
            .expect("spent");
    assert_eq!(record.scope, ONCE);
    assert_eq!(record.slot, 4_242);
    let (_, bump) = ix::nullifier_pda(&args.track_id, &args.nullifier);
    assert_eq!(record.bump, bump);

    let events = executed.registry_events().unwrap();
    assert_eq!(
        events,
        vec![RegistryEvent::OwnershipVerified(OwnershipVerified {
            track_id: args.track_id,
            nullifier: args.nullifier,
            root: args.root,
            scope: ONCE,
            signal_hash: signal(1),
            slot: 4_242,
        })]
    );
    // The event carries no wallet: neither the payer's key nor any other appears in it.
    let payload: Vec<&[u8]> = executed.event_cpi_payloads(&ix::PROGRAM_ID).collect();
    let payer = relayer.pubkey().to_bytes();
    assert!(payload[0].windows(32).all(|w| w != payer));
}

#[test]
fn verify_ownership_twice_fails_as_nullifier_already_used() {
    let mut z = ZkTrack::new(3, 0);
    let args = z.prove(0, ONCE, signal(1));
    let relayer = z.t.wallet();
    z.t.verify_ownership_as(&relayer, args.clone()).unwrap();
    assert_nullifier_already_used(z.t.verify_ownership_as(&relayer, args.clone()));

    // A fresh proof by the same member (new randomness, another signal) has the same
    // nullifier: one use per track, whatever the proof bytes.
    let again = z.prove(0, ONCE, signal(2));
    assert_eq!(again.nullifier, args.nullifier);
    assert_ne!(again.proof, args.proof);
    assert_nullifier_already_used(z.t.verify_ownership_as(&relayer, again));
}

#[test]
fn verify_ownership_against_a_rotated_out_root_fails() {
    let mut z = ZkTrack::new(2, 0);
    let args = z.prove(1, ONCE, signal(1));
    z.rotate_ring();
    let relayer = z.t.wallet();
    assert_registry_error(
        z.t.verify_ownership_as(&relayer, args.clone()),
        RegistryError::RootNotInHistory,
    );
    assert!(z.t.nullifier(&args.track_id, &args.nullifier).is_none());
}

#[test]
fn verify_ownership_with_an_older_root_still_in_the_ring_succeeds() {
    let mut z = ZkTrack::new(2, 0);
    let args = z.prove(0, ONCE, signal(1));
    // A new member joins and a new root is published; the old root is still recent.
    z.tree.insert(veil_poseidon::Fr::from(99u64)).unwrap();
    z.publish();
    let relayer = z.t.wallet();
    z.t.verify_ownership_as(&relayer, args)
        .expect("older root in the ring");
}

#[test]
fn verify_ownership_with_a_wrong_signal_hash_fails() {
    let mut z = ZkTrack::new(2, 0);
    let mut args = z.prove(0, ONCE, signal(1));
    // A front-runner re-targets the proof at another recipient.
    args.signal_hash = signal(2);
    let relayer = z.t.wallet();
    assert_registry_error(
        z.t.verify_ownership_as(&relayer, args),
        RegistryError::InvalidProof,
    );
}

#[test]
fn verify_ownership_with_tampered_inputs_or_proof_fails() {
    let mut z = ZkTrack::new(2, 0);
    let args = z.prove(1, ONCE, signal(1));
    let relayer = z.t.wallet();

    let mut forged_nullifier = args.clone();
    forged_nullifier.nullifier[31] ^= 1;
    assert_registry_error(
        z.t.verify_ownership_as(&relayer, forged_nullifier),
        RegistryError::InvalidProof,
    );

    let mut forged_proof = args.clone();
    forged_proof.proof[200] ^= 1;
    assert_registry_error(
        z.t.verify_ownership_as(&relayer, forged_proof),
        RegistryError::InvalidProof,
    );
    // The honest proof is unaffected by the failed attempts.
    z.t.verify_ownership_as(&relayer, args)
        .expect("honest proof");
}

#[test]
fn verify_ownership_of_a_proof_for_another_track_fails() {
    let mut z = ZkTrack::new(2, 0);
    let args = z.prove(0, ONCE, signal(1));
    // A second track with the very same root, so only the proof can tell them apart.
    let other_track = veil_zk::track_id_for(&[0x77; 32]);
    z.t.create_track(other_track, 20, 0).unwrap();
    z.t.publish_root(other_track, args.root, 2).unwrap();
    let mut replayed = args.clone();
    replayed.track_id = other_track;
    let relayer = z.t.wallet();
    assert_registry_error(
        z.t.verify_ownership_as(&relayer, replayed),
        RegistryError::InvalidProof,
    );
}

#[test]
fn verify_ownership_scopes_are_per_epoch_and_not_interchangeable() {
    const DAY: u64 = 86_400;
    let mut z = ZkTrack::new(2, DAY);
    let now: i64 = 1_800_000_000;
    z.t.chain.set_unix_timestamp(now);
    let today = scope_for(DAY, now);
    let tomorrow = scope_for(DAY, now + DAY as i64);
    let relayer = z.t.wallet();

    let args = z.prove(0, today, signal(1));
    // Today's scope is the only one accepted today.
    let mut as_tomorrow = args.clone();
    as_tomorrow.scope = tomorrow;
    assert_registry_error(
        z.t.verify_ownership_as(&relayer, as_tomorrow),
        RegistryError::ScopeMismatch,
    );
    z.t.verify_ownership_as(&relayer, args.clone())
        .expect("today");

    // Member 1 proves for today but submits tomorrow: refused by the scope rule, and
    // relabelling the scope breaks the proof.
    let late = z.prove(1, today, signal(1));
    z.t.chain.set_unix_timestamp(now + DAY as i64);
    assert_registry_error(
        z.t.verify_ownership_as(&relayer, late.clone()),
        RegistryError::ScopeMismatch,
    );
    let mut relabelled = late.clone();
    relabelled.scope = tomorrow;
    assert_registry_error(
        z.t.verify_ownership_as(&relayer, relabelled),
        RegistryError::InvalidProof,
    );
    // A fresh proof for tomorrow has a different nullifier from today's and verifies.
    let fresh = z.prove(0, tomorrow, signal(1));
    assert_ne!(fresh.nullifier, args.nullifier);
    z.t.verify_ownership_as(&relayer, fresh).expect("tomorrow");
}

#[test]
fn verify_ownership_on_a_once_per_track_track_requires_scope_zero() {
    let mut z = ZkTrack::new(2, 0);
    let args = z.prove(0, to_be_bytes(&veil_poseidon::Fr::from(5u64)), signal(1));
    let relayer = z.t.wallet();
    assert_registry_error(
        z.t.verify_ownership_as(&relayer, args),
        RegistryError::ScopeMismatch,
    );
}

#[test]
fn verify_ownership_with_a_non_canonical_input_fails() {
    let mut z = ZkTrack::new(2, 0);
    let mut args = z.prove(0, ONCE, signal(1));
    args.signal_hash = veil_core::field::BN254_MODULUS_BE;
    let relayer = z.t.wallet();
    assert_registry_error(
        z.t.verify_ownership_as(&relayer, args),
        RegistryError::InputNotInField,
    );
}

#[test]
fn verify_ownership_on_a_track_of_another_depth_fails() {
    let mut t = TestBuilder::new().build();
    let track = veil_zk::track_id_for(&[1; 32]);
    t.create_track(track, 16, 0).unwrap();
    t.publish_root(track, [0; 32], 0).unwrap();
    let relayer = t.wallet();
    let args = registry::VerifyOwnershipArgs {
        track_id: track,
        root: [0; 32],
        nullifier: [1; 32],
        scope: ONCE,
        signal_hash: [2; 32],
        proof: [0; 256],
    };
    assert_registry_error(
        t.verify_ownership_as(&relayer, args),
        RegistryError::UnsupportedTreeDepth,
    );
}

#[test]
fn verify_ownership_while_paused_fails() {
    let mut z = ZkTrack::new(2, 0);
    let args = z.prove(0, ONCE, signal(1));
    z.t.pause().unwrap();
    let relayer = z.t.wallet();
    assert_registry_error(
        z.t.verify_ownership_as(&relayer, args),
        RegistryError::Paused,
    );
}

#[test]
fn verify_ownership_against_a_root_older_than_the_freshness_window_fails() {
    // Audit finding 7: ownership is "held at a slot within the last W". A proof against a
    // root whose holdings snapshot is older than the track's window is refused, whatever the
    // ring still holds.
    let mut z = ZkTrack::with_freshness(
        TestBuilder::new().build(),
        veil_zk::track_id_for(&[0x6b; 32]),
        2,
        0,
        100,
    );
    let snapshot = z.t.track(&z.track_id).unwrap().latest_root().unwrap().slot;
    let stale = z.prove(0, ONCE, signal(1));
    let fresh = z.prove(1, ONCE, signal(1));
    z.t.chain.warp_to_slot(snapshot + 100);
    let relayer = z.t.wallet();
    z.t.verify_ownership_as(&relayer, fresh)
        .expect("at the window's edge the root is still fresh");
    z.t.chain.warp_to_slot(snapshot + 101);
    assert_registry_error(
        z.t.verify_ownership_as(&relayer, stale.clone()),
        RegistryError::RootTooOld,
    );
    assert!(z.t.nullifier(&stale.track_id, &stale.nullifier).is_none());

    // A newer snapshot of the same holders refreshes the root in place: the same proof
    // verifies again, and nothing was evicted from the ring.
    let track = z.t.track(&z.track_id).unwrap();
    let (root, leaves, roots_before) = (
        track.latest_root().unwrap().root,
        track.leaf_count,
        track.root_count,
    );
    let registrar = z.t.registrar.insecure_clone();
    let now = z.t.chain.slot();
    z.t.publish_root_at(&registrar, z.track_id, root, leaves, now)
        .expect("refresh");
    let track = z.t.track(&z.track_id).unwrap();
    assert_eq!(track.root_count, roots_before);
    assert_eq!(track.latest_root().unwrap().slot, now);
    z.t.verify_ownership_as(&relayer, stale)
        .expect("fresh again after the refresh");
}
