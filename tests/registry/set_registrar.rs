use registry::{error::RegistryError, events::RegistrarSet};
use veil_client::{decode::RegistryEvent, registry as ix};
use veil_harness::{assert::assert_registry_error, Signer, TestBuilder};

use crate::common::{scalar, TRACK};

#[test]
fn set_registrar_success_moves_publishing_rights() {
    let mut t = TestBuilder::new().build();
    t.create_track(TRACK, 20, 0).unwrap();
    let admin = t.admin.insecure_clone();
    let old = t.registrar.insecure_clone();
    let new = t.wallet();
    let executed = t
        .chain
        .send(
            &admin,
            &[ix::set_registrar(&admin.pubkey(), &new.pubkey())],
            &[],
        )
        .expect("set_registrar");
    assert_eq!(t.config().registrar, new.pubkey());
    assert_eq!(
        executed.registry_events().unwrap(),
        vec![RegistryEvent::RegistrarSet(RegistrarSet {
            previous: old.pubkey(),
            registrar: new.pubkey(),
        })]
    );

    assert_registry_error(
        t.publish_root_as(&old, TRACK, scalar(1), 1),
        RegistryError::NotRegistrar,
    );
    t.publish_root_as(&new, TRACK, scalar(1), 1)
        .expect("the new registrar publishes");
}

#[test]
fn set_registrar_by_non_admin_fails() {
    let mut t = TestBuilder::new().build();
    let registrar = t.registrar.insecure_clone();
    let result = t.chain.send(
        &registrar,
        &[ix::set_registrar(&registrar.pubkey(), &registrar.pubkey())],
        &[],
    );
    assert_registry_error(result, RegistryError::NotAdmin);
}

#[test]
fn set_registrar_while_paused_fails() {
    let mut t = TestBuilder::new().build();
    t.pause().unwrap();
    let admin = t.admin.insecure_clone();
    let new = t.wallet();
    let result = t.chain.send(
        &admin,
        &[ix::set_registrar(&admin.pubkey(), &new.pubkey())],
        &[],
    );
    assert_registry_error(result, RegistryError::Paused);
}

#[test]
fn set_registrar_to_the_default_key_fails() {
    let mut t = TestBuilder::new().build();
    let admin = t.admin.insecure_clone();
    let result = t.chain.send(
        &admin,
        &[ix::set_registrar(&admin.pubkey(), &Default::default())],
        &[],
    );
    assert_registry_error(result, RegistryError::InvalidAuthority);
}
