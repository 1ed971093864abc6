use registry::{error::RegistryError, events::PauseSet};
use veil_client::decode::RegistryEvent;
use veil_harness::{assert::assert_registry_error, TestBuilder};

#[test]
fn unpause_success_clears_flag_and_emits_event() {
    let mut t = TestBuilder::new().build();
    t.pause().unwrap();
    let admin = t.admin.insecure_clone();
    let executed = t.unpause_as(&admin).expect("unpause");
    assert!(!t.config().paused);
    assert_eq!(
        executed.registry_events().unwrap(),
        vec![RegistryEvent::PauseSet(PauseSet { paused: false })]
    );
}

#[test]
fn unpause_by_non_admin_fails() {
    let mut t = TestBuilder::new().build();
    t.pause().unwrap();
    let registrar = t.registrar.insecure_clone();
    assert_registry_error(t.unpause_as(&registrar), RegistryError::NotAdmin);
    assert!(t.config().paused);
}

#[test]
fn unpause_when_not_paused_fails() {
    let mut t = TestBuilder::new().build();
    let admin = t.admin.insecure_clone();
    assert_registry_error(t.unpause_as(&admin), RegistryError::NotPaused);
}
