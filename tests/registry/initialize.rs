use anchor_lang::{prelude::Pubkey, solana_program::instruction::Instruction};
use registry::{error::RegistryError, events::RegistryInitialized, state::Config};
use veil_client::{decode::RegistryEvent, registry as ix};
use veil_harness::{
    assert::{assert_account_already_in_use, assert_registry_error},
    Keypair, RegistryProgram, Signer, TestBuilder, TestChain,
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

/// The registry deployed under the upgradeable loader with `authority`, plus a funded
/// attacker and the ProgramData address.
fn upgradeable(authority: &Keypair) -> (TestChain, Keypair, Pubkey) {
    TestChain::upgradeable_with_stranger(ix::PROGRAM_ID, RegistryProgram::registerer(), authority)
}

fn initialize_ix(admin: &Pubkey, program_data: Option<Pubkey>) -> Instruction {
    ix::initialize(
        admin,
        &Pubkey::new_unique(),
        &Pubkey::new_unique(),
        program_data,
    )
}

#[test]
fn initialize_upgradeable_refuses_a_wallet_posing_as_the_program_account() {
    let authority = Keypair::new();
    let (mut chain, attacker, program_data) = upgradeable(&authority);
    // The audit's attack: Anchor's `#[event_cpi]` `program` account is unconstrained; pass
    // one's own wallet (not owned by the upgradeable loader) in its place.
    let mut attack = initialize_ix(&attacker.pubkey(), Some(program_data));
    let program_meta = attack.accounts.last_mut().unwrap();
    assert_eq!(program_meta.pubkey, ix::PROGRAM_ID);
    program_meta.pubkey = attacker.pubkey();
    assert_registry_error(
        chain.send(&attacker, &[attack], &[]),
        RegistryError::NotUpgradeAuthority,
    );
    assert!(chain.account(&ix::config_pda().0).is_none());
}

#[test]
fn initialize_upgradeable_refuses_anyone_but_the_upgrade_authority() {
    let authority = Keypair::new();
    let (mut chain, attacker, program_data) = upgradeable(&authority);
    // The real program account and ProgramData, signed by someone else.
    assert_registry_error(
        chain.send(
            &attacker,
            &[initialize_ix(&attacker.pubkey(), Some(program_data))],
            &[],
        ),
        RegistryError::NotUpgradeAuthority,
    );
    // The authority without the ProgramData account.
    assert_registry_error(
        chain.send(&authority, &[initialize_ix(&authority.pubkey(), None)], &[]),
        RegistryError::NotUpgradeAuthority,
    );
    // Some other account in the ProgramData slot.
    assert_registry_error(
        chain.send(
            &authority,
            &[initialize_ix(&authority.pubkey(), Some(attacker.pubkey()))],
            &[],
        ),
        RegistryError::NotUpgradeAuthority,
    );
    assert!(chain.account(&ix::config_pda().0).is_none());

    chain
        .send(
            &authority,
            &[initialize_ix(&authority.pubkey(), Some(program_data))],
            &[],
        )
        .expect("the upgrade authority initializes");
    let config: Config = chain.anchor_account(&ix::config_pda().0).unwrap().unwrap();
    assert_eq!(config.admin, authority.pubkey());
}

#[test]
fn initialize_upgradeable_refuses_everyone_once_the_program_is_immutable() {
    let mut chain = TestChain::upgradeable(ix::PROGRAM_ID, RegistryProgram::registerer(), None);
    let payer = chain.funded_keypair(10_000_000_000);
    let program_data = TestChain::program_data_address(&ix::PROGRAM_ID);
    assert_registry_error(
        chain.send(
            &payer,
            &[initialize_ix(&payer.pubkey(), Some(program_data))],
            &[],
        ),
        RegistryError::NotUpgradeAuthority,
    );
}
