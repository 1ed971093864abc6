use anchor_lang::prelude::Pubkey;
use challenge::{
    error::ChallengeError,
    state::{Config, Window},
    ConfigArgs,
};
use veil_client::challenge as cix;
use veil_harness::{
    assert::{assert_account_already_in_use, assert_challenge_error},
    ChallengeFixture, ChallengeProgram, Keypair, Signer, TestChain,
};

#[test]
fn initialize_twice_fails() {
    let mut f = ChallengeFixture::new();
    let intruder = f.t.wallet();
    let ix = cix::initialize(&intruder.pubkey(), f.config_args(), None);
    assert_account_already_in_use(f.t.chain.send(&intruder, &[ix], &[]));
}

#[test]
fn update_config_and_set_paused_by_a_non_admin_fail() {
    let mut f = ChallengeFixture::new();
    let gatekeeper = f.gatekeeper.insecure_clone();
    let ix = cix::update_config(&gatekeeper.pubkey(), f.config_args());
    assert_challenge_error(
        f.t.chain.send(&gatekeeper, &[ix], &[]),
        ChallengeError::NotAdmin,
    );
    let ix = cix::set_paused(&gatekeeper.pubkey(), true);
    assert_challenge_error(
        f.t.chain.send(&gatekeeper, &[ix], &[]),
        ChallengeError::NotAdmin,
    );
}

#[test]
fn update_config_with_unsound_bounds_fails() {
    let mut f = ChallengeFixture::new();
    let admin = f.admin.insecure_clone();
    let mut inverted = f.config_args();
    inverted.accept_window = Window { min: 100, max: 10 };
    let ix = cix::update_config(&admin.pubkey(), inverted);
    assert_challenge_error(
        f.t.chain.send(&admin, &[ix], &[]),
        ChallengeError::InvalidDeadlineBounds,
    );
    let mut over_whole = f.config_args();
    over_whole.max_treasury_bps = 10_001;
    let ix = cix::update_config(&admin.pubkey(), over_whole);
    assert_challenge_error(
        f.t.chain.send(&admin, &[ix], &[]),
        ChallengeError::InvalidShares,
    );
    let mut no_gatekeeper = f.config_args();
    no_gatekeeper.gatekeeper = Default::default();
    let ix = cix::update_config(&admin.pubkey(), no_gatekeeper);
    assert_challenge_error(
        f.t.chain.send(&admin, &[ix], &[]),
        ChallengeError::InvalidAuthority,
    );
}

#[test]
fn update_config_with_a_bad_bond_mint_list_or_arbiter_window_fails() {
    let mut f = ChallengeFixture::new();
    let admin = f.admin.insecure_clone();
    type Change = fn(&mut ConfigArgs);
    let bad: [(Change, ChallengeError); 3] = [
        (
            |a| a.bond_mints = (0..9).map(|_| Pubkey::new_unique()).collect(),
            ChallengeError::InvalidBondMintList,
        ),
        (
            |a| a.bond_mints = vec![Pubkey::default()],
            ChallengeError::InvalidBondMintList,
        ),
        (
            |a| a.arbiter_window = 0,
            ChallengeError::InvalidDeadlineBounds,
        ),
    ];
    for (change, error) in bad {
        let mut args = f.config_args();
        change(&mut args);
        let ix = cix::update_config(&admin.pubkey(), args);
        assert_challenge_error(f.t.chain.send(&admin, &[ix], &[]), error);
    }
}

#[test]
fn admin_rotation_takes_a_proposal_and_an_acceptance() {
    // Audit item 6: the challenge program had no admin rotation.
    let mut f = ChallengeFixture::new();
    let admin = f.admin.insecure_clone();
    let successor = f.t.wallet();
    let stranger = f.t.wallet();
    assert_challenge_error(
        f.t.chain
            .send(&successor, &[cix::accept_admin(&successor.pubkey())], &[]),
        ChallengeError::NoPendingAdmin,
    );
    assert_challenge_error(
        f.t.chain.send(
            &stranger,
            &[cix::propose_admin(&stranger.pubkey(), &stranger.pubkey())],
            &[],
        ),
        ChallengeError::NotAdmin,
    );
    assert_challenge_error(
        f.t.chain.send(
            &admin,
            &[cix::propose_admin(&admin.pubkey(), &admin.pubkey())],
            &[],
        ),
        ChallengeError::AdminUnchanged,
    );
    f.t.chain
        .send(
            &admin,
            &[cix::propose_admin(&admin.pubkey(), &successor.pubkey())],
            &[],
        )
        .expect("propose");
    let config: Config =
        f.t.chain
            .anchor_account(&cix::config_pda().0)
            .unwrap()
            .unwrap();
    assert_eq!(
        (config.admin, config.pending_admin),
        (admin.pubkey(), Some(successor.pubkey()))
    );
    assert_challenge_error(
        f.t.chain
            .send(&stranger, &[cix::accept_admin(&stranger.pubkey())], &[]),
        ChallengeError::NotPendingAdmin,
    );
    f.t.chain
        .send(&successor, &[cix::accept_admin(&successor.pubkey())], &[])
        .expect("accept");
    let config: Config =
        f.t.chain
            .anchor_account(&cix::config_pda().0)
            .unwrap()
            .unwrap();
    assert_eq!(
        (config.admin, config.pending_admin),
        (successor.pubkey(), None)
    );
    // The old admin lost its powers; the new one has them.
    assert_challenge_error(f.set_paused(true), ChallengeError::NotAdmin);
    f.t.chain
        .send(
            &successor,
            &[cix::set_paused(&successor.pubkey(), true)],
            &[],
        )
        .expect("the new admin pauses");
}

/// The challenge program deployed under the upgradeable loader with `authority`.
fn upgradeable(authority: &Keypair) -> (TestChain, Keypair, Pubkey) {
    TestChain::upgradeable_with_stranger(cix::PROGRAM_ID, ChallengeProgram::registerer(), authority)
}

fn config_args(gatekeeper: Pubkey) -> ConfigArgs {
    ConfigArgs {
        gatekeeper,
        treasury: gatekeeper,
        accept_window: Window { min: 60, max: 600 },
        response_window: Window { min: 60, max: 600 },
        max_treasury_bps: 1_000,
        arbiter_window: 600,
        bond_mints: Vec::new(),
    }
}

#[test]
fn initialize_upgradeable_refuses_a_wallet_posing_as_the_program_account() {
    // Audit item 2: the `#[event_cpi]` `program` account is unconstrained.
    let authority = Keypair::new();
    let (mut chain, attacker, program_data) = upgradeable(&authority);
    let mut attack = cix::initialize(
        &attacker.pubkey(),
        config_args(attacker.pubkey()),
        Some(program_data),
    );
    let program_meta = attack.accounts.last_mut().unwrap();
    assert_eq!(program_meta.pubkey, cix::PROGRAM_ID);
    program_meta.pubkey = attacker.pubkey();
    assert_challenge_error(
        chain.send(&attacker, &[attack], &[]),
        ChallengeError::NotUpgradeAuthority,
    );
    let honest_but_wrong_signer = cix::initialize(
        &attacker.pubkey(),
        config_args(attacker.pubkey()),
        Some(program_data),
    );
    assert_challenge_error(
        chain.send(&attacker, &[honest_but_wrong_signer], &[]),
        ChallengeError::NotUpgradeAuthority,
    );
    assert!(chain.account(&cix::config_pda().0).is_none());

    let ix = cix::initialize(
        &authority.pubkey(),
        config_args(authority.pubkey()),
        Some(program_data),
    );
    chain
        .send(&authority, &[ix], &[])
        .expect("the upgrade authority initializes");
    let config: Config = chain.anchor_account(&cix::config_pda().0).unwrap().unwrap();
    assert_eq!(config.admin, authority.pubkey());
}
