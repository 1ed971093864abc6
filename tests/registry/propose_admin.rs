use registry::{error::RegistryError, events::AdminProposed};
use veil_client::{decode::RegistryEvent, registry as ix};
use veil_harness::{assert::assert_registry_error, Signer, TestBuilder};

#[test]
fn propose_admin_success_records_pending_admin_only() {
    let mut t = TestBuilder::new().build();
    let admin = t.admin.insecure_clone();
    let successor = t.wallet();
    let executed = t
        .chain
        .send(
            &admin,
            &[ix::propose_admin(&admin.pubkey(), &successor.pubkey())],
            &[],
        )
        .expect("propose");

    let config = t.config();
    assert_eq!(
        config.admin,
        admin.pubkey(),
        "the admin does not change yet"
    );
    assert_eq!(config.pending_admin, Some(successor.pubkey()));
    assert_eq!(
        executed.registry_events().unwrap(),
        vec![RegistryEvent::AdminProposed(AdminProposed {
            admin: admin.pubkey(),
            proposed: successor.pubkey(),
        })]
    );
}

#[test]
fn propose_admin_by_non_admin_fails() {
    let mut t = TestBuilder::new().build();
    let intruder = t.wallet();
    let result = t.chain.send(
        &intruder,
        &[ix::propose_admin(&intruder.pubkey(), &intruder.pubkey())],
        &[],
    );
    assert_registry_error(result, RegistryError::NotAdmin);
    assert_eq!(t.config().pending_admin, None);
}

#[test]
fn propose_admin_while_paused_fails() {
    let mut t = TestBuilder::new().build();
    t.pause().unwrap();
    let admin = t.admin.insecure_clone();
    let successor = t.wallet();
    let result = t.chain.send(
        &admin,
        &[ix::propose_admin(&admin.pubkey(), &successor.pubkey())],
        &[],
    );
    assert_registry_error(result, RegistryError::Paused);
}

#[test]
fn propose_admin_of_the_current_admin_fails() {
    let mut t = TestBuilder::new().build();
    let admin = t.admin.insecure_clone();
    let result = t.chain.send(
        &admin,
        &[ix::propose_admin(&admin.pubkey(), &admin.pubkey())],
        &[],
    );
    assert_registry_error(result, RegistryError::AdminUnchanged);
}

#[test]
fn propose_admin_of_the_default_key_fails() {
    let mut t = TestBuilder::new().build();
    let admin = t.admin.insecure_clone();
    let result = t.chain.send(
        &admin,
        &[ix::propose_admin(&admin.pubkey(), &Default::default())],
        &[],
    );
    assert_registry_error(result, RegistryError::InvalidAuthority);
}
