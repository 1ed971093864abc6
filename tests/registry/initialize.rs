use registry::{error::RegistryError, events::RegistryInitialized, state::Config};
use veil_client::{decode::RegistryEvent, registry as ix};
use veil_harness::{
    assert::{assert_account_already_in_use, assert_registry_error},
    Keypair, Signer, TestBuilder,
};

#[test]
fn initialize_success_writes_config_and_emits_event() {
    let mut t = TestBuilder::new().uninitialized().build();
    let admin = t.admin.insecure_clone();
    let executed = t.initialize(&admin).expect("initialize");

    let (config_address, bump) = ix::config_pda();
    assert_eq!(
        t.config(),
        Config {
            admin: admin.pubkey(),
            pending_admin: None,
            registrar: t.registrar.pubkey(),
            treasury: t.treasury.pubkey(),
            paused: false,
            bump,
        }
    );
    let account = t.chain.account(&config_address).unwrap();
    assert_eq!(account.owner, ix::PROGRAM_ID);
    assert_eq!(
        account.lamports,
        t.chain.rent_exempt_minimum(account.data.len())
    );
    assert_eq!(
        executed.registry_events().unwrap(),
        vec![RegistryEvent::RegistryInitialized(RegistryInitialized {
            admin: admin.pubkey(),
            registrar: t.registrar.pubkey(),
            treasury: t.treasury.pubkey(),
        })]
    );
}

#[test]
fn initialize_twice_fails_because_the_config_exists() {
    let mut t = TestBuilder::new().build();
    let before = t.config();
    let intruder = t.wallet();
    assert_account_already_in_use(t.initialize(&intruder));
    assert_eq!(t.config(), before);
}

#[test]
fn initialize_rejects_a_default_registrar() {
    let mut t = TestBuilder::new().uninitialized().build();
    let admin = t.admin.insecure_clone();
    let bad = ix::initialize(
        &admin.pubkey(),
        &Default::default(),
        &t.treasury.pubkey(),
        None,
    );
    assert_registry_error(
        t.chain.send(&admin, &[bad], &[]),
        RegistryError::InvalidAuthority,
    );
    assert!(t.chain.account(&ix::config_pda().0).is_none());
}

#[test]
fn initialize_rejects_a_default_treasury() {
    let mut t = TestBuilder::new().uninitialized().build();
    let admin = t.admin.insecure_clone();
    let bad = ix::initialize(
        &admin.pubkey(),
        &t.registrar.pubkey(),
        &Default::default(),
        None,
    );
    assert_registry_error(
        t.chain.send(&admin, &[bad], &[]),
        RegistryError::InvalidAuthority,
    );
}

#[test]
fn initialize_without_the_admin_signature_fails() {
    let mut t = TestBuilder::new().uninitialized().build();
    let payer = t.wallet();
    let admin = Keypair::new();
    let mut bad = ix::initialize(
        &admin.pubkey(),
        &t.registrar.pubkey(),
        &t.treasury.pubkey(),
        None,
    );
    bad.accounts[0].is_signer = false;
    veil_harness::assert::assert_anchor_error(
        t.chain.send(&payer, &[bad], &[]),
        anchor_lang::error::ErrorCode::AccountNotSigner,
    );
}
