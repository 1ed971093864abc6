use registry::{error::RegistryError, events::AdminAccepted};
use veil_client::{decode::RegistryEvent, registry as ix};
use veil_harness::{assert::assert_registry_error, Keypair, RegistryFixture, Signer, TestBuilder};

fn propose(t: &mut RegistryFixture, successor: &Keypair) {
    let admin = t.admin.insecure_clone();
    t.chain
        .send(
            &admin,
            &[ix::propose_admin(&admin.pubkey(), &successor.pubkey())],
            &[],
        )
        .expect("propose");
}

#[test]
fn accept_admin_success_rotates_and_the_old_admin_loses_its_rights() {
    let mut t = TestBuilder::new().build();
    let old = t.admin.insecure_clone();
    let successor = t.wallet();
    propose(&mut t, &successor);

    let executed = t
        .chain
        .send(&successor, &[ix::accept_admin(&successor.pubkey())], &[])
        .expect("accept");
    let config = t.config();
    assert_eq!(config.admin, successor.pubkey());
    assert_eq!(config.pending_admin, None);
    assert_eq!(
        executed.registry_events().unwrap(),
        vec![RegistryEvent::AdminAccepted(AdminAccepted {
            previous: old.pubkey(),
            admin: successor.pubkey(),
        })]
    );

    assert_registry_error(t.pause_as(&old), RegistryError::NotAdmin);
    t.pause_as(&successor)
        .expect("the new admin has the rights");
    assert!(t.config().paused);
}

#[test]
fn admin_rotation_without_acceptance_changes_nothing() {
    let mut t = TestBuilder::new().build();
    let old = t.admin.insecure_clone();
    let successor = t.wallet();
    propose(&mut t, &successor);

    // The proposed key is not the admin until it accepts.
    assert_registry_error(t.pause_as(&successor), RegistryError::NotAdmin);
    assert_eq!(t.config().admin, old.pubkey());
    t.pause_as(&old)
        .expect("the old admin keeps its rights until acceptance");
}

#[test]
fn accept_admin_without_a_proposal_fails() {
    let mut t = TestBuilder::new().build();
    let someone = t.wallet();
    let result = t
        .chain
        .send(&someone, &[ix::accept_admin(&someone.pubkey())], &[]);
    assert_registry_error(result, RegistryError::NoPendingAdmin);
}

#[test]
fn accept_admin_by_another_key_fails() {
    let mut t = TestBuilder::new().build();
    let successor = t.wallet();
    let intruder = t.wallet();
    propose(&mut t, &successor);
    let result = t
        .chain
        .send(&intruder, &[ix::accept_admin(&intruder.pubkey())], &[]);
    assert_registry_error(result, RegistryError::NotPendingAdmin);
    assert_eq!(t.config().pending_admin, Some(successor.pubkey()));
}

#[test]
fn a_later_proposal_replaces_an_earlier_one() {
    let mut t = TestBuilder::new().build();
    let first = t.wallet();
    let second = t.wallet();
    propose(&mut t, &first);
    propose(&mut t, &second);
    let result = t
        .chain
        .send(&first, &[ix::accept_admin(&first.pubkey())], &[]);
    assert_registry_error(result, RegistryError::NotPendingAdmin);
    t.chain
        .send(&second, &[ix::accept_admin(&second.pubkey())], &[])
        .expect("the latest proposal accepts");
    assert_eq!(t.config().admin, second.pubkey());
}

#[test]
fn accept_admin_while_paused_fails() {
    let mut t = TestBuilder::new().build();
    let successor = t.wallet();
    propose(&mut t, &successor);
    t.pause().unwrap();
    let result = t
        .chain
        .send(&successor, &[ix::accept_admin(&successor.pubkey())], &[]);
    assert_registry_error(result, RegistryError::Paused);
}
