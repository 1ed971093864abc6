use anchor_lang::error::ErrorCode as AnchorErrorCode;
use registry::{
    error::RegistryError,
    events::TrackCreated,
    state::{ScopeRule, Track, DEFAULT_TREE_DEPTH, MAX_TREE_DEPTH},
};
use veil_client::{decode::RegistryEvent, registry as ix};
use veil_core::field::BN254_MODULUS_BE;
use veil_harness::{
    assert::{assert_account_already_in_use, assert_anchor_error, assert_registry_error},
    Signer, TestBuilder,
};

use crate::common::TRACK;

#[test]
fn create_track_success_initializes_an_empty_track() {
    let mut t = TestBuilder::new().build();
    let executed = t
        .create_track(TRACK, DEFAULT_TREE_DEPTH, 0)
        .expect("create_track");

    let (address, bump) = ix::track_pda(&TRACK);
    let account = t.chain.account(&address).unwrap();
    assert_eq!(account.owner, ix::PROGRAM_ID);
    assert_eq!(account.data.len(), Track::SPACE);
    assert_eq!(account.lamports, t.chain.rent_exempt_minimum(Track::SPACE));

    let track = t.track(&TRACK).unwrap();
    assert_eq!(track.track_id, TRACK);
    assert_eq!(track.depth, DEFAULT_TREE_DEPTH);
    assert_eq!(track.bump, bump);
    assert_eq!(track.leaf_count, 0);
    assert_eq!(track.root_count, 0);
    assert_eq!(
        track.freshness_slots,
        veil_harness::builder::FRESHNESS_SLOTS
    );
    assert_eq!(track.scope_rule(), ScopeRule::OncePerTrack);
    assert!(track.latest_root().is_none());
    assert_eq!(
        executed.registry_events().unwrap(),
        vec![RegistryEvent::TrackCreated(TrackCreated {
            track_id: TRACK,
            depth: DEFAULT_TREE_DEPTH,
            epoch_seconds: 0,
            freshness_slots: veil_harness::builder::FRESHNESS_SLOTS,
        })]
    );
}

#[test]
fn create_track_with_epoch_rule_records_it() {
    let mut t = TestBuilder::new().build();
    t.create_track(TRACK, 32, 86_400).unwrap();
    let track = t.track(&TRACK).unwrap();
    assert_eq!(track.scope_rule(), ScopeRule::Epoch { seconds: 86_400 });
    assert_eq!(track.capacity(), 1u64 << 32);
}

#[test]
fn create_track_by_non_admin_fails() {
    let mut t = TestBuilder::new().build();
    let registrar = t.registrar.insecure_clone();
    assert_registry_error(
        t.create_track_as(&registrar, TRACK, 20, 0),
        RegistryError::NotAdmin,
    );
    assert!(t.track(&TRACK).is_none());
}

#[test]
fn create_track_while_paused_fails() {
    let mut t = TestBuilder::new().build();
    t.pause().unwrap();
    assert_registry_error(t.create_track(TRACK, 20, 0), RegistryError::Paused);
}

#[test]
fn create_track_with_depth_out_of_range_fails() {
    let mut t = TestBuilder::new().build();
    assert_registry_error(t.create_track(TRACK, 0, 0), RegistryError::InvalidDepth);
    assert_registry_error(
        t.create_track(TRACK, MAX_TREE_DEPTH + 1, 0),
        RegistryError::InvalidDepth,
    );
    assert!(t.track(&TRACK).is_none());
}

#[test]
fn create_track_with_id_outside_the_field_fails() {
    let mut t = TestBuilder::new().build();
    assert_registry_error(
        t.create_track(BN254_MODULUS_BE, 20, 0),
        RegistryError::TrackIdNotInField,
    );
    assert_registry_error(
        t.create_track([0xff; 32], 20, 0),
        RegistryError::TrackIdNotInField,
    );
}

#[test]
fn create_track_twice_fails_because_it_exists() {
    let mut t = TestBuilder::new().build();
    t.create_track(TRACK, 20, 0).unwrap();
    assert_account_already_in_use(t.create_track(TRACK, 16, 60));
    assert_eq!(t.track(&TRACK).unwrap().depth, 20);
}

#[test]
fn create_track_at_a_foreign_address_fails_the_seeds_check() {
    let mut t = TestBuilder::new().build();
    let admin = t.admin.insecure_clone();
    let mut bad = ix::create_track(
        &admin.pubkey(),
        TRACK,
        20,
        0,
        veil_harness::builder::FRESHNESS_SLOTS,
    );
    // Point the track account at the PDA of another id.
    let mut other = TRACK;
    other[0] = 1;
    bad.accounts[2].pubkey = ix::track_pda(&other).0;
    assert_anchor_error(
        t.chain.send(&admin, &[bad], &[]),
        AnchorErrorCode::ConstraintSeeds,
    );
}

#[test]
fn create_track_without_a_freshness_window_fails() {
    let mut t = TestBuilder::new().build();
    let admin = t.admin.insecure_clone();
    assert_registry_error(
        t.create_track_with(&admin, TRACK, 20, 0, 0),
        RegistryError::InvalidFreshnessWindow,
    );
    assert!(t.track(&TRACK).is_none());
}
