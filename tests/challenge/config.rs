use challenge::{error::ChallengeError, state::Window};
use veil_client::challenge as cix;
use veil_harness::{
    assert::{assert_account_already_in_use, assert_challenge_error},
    ChallengeFixture, Signer,
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
