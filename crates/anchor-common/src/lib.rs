//! SBF-safe Anchor helpers shared by the programs, so that a rule two programs enforce is
//! written once.

use anchor_lang::{
    prelude::*,
    solana_program::bpf_loader_upgradeable::{self, UpgradeableLoaderState},
};

/// Whether `signer` may initialize `program_id`'s config.
///
/// Under the upgradeable loader, only the program's upgrade authority may, so nobody can
/// front-run a deployment and seize the admin role: `program_data` must be the program's
/// ProgramData account and name `signer` as its authority. A program hosted natively (the
/// in-process test chain: owned by the native loader) has no upgrade authority; the check
/// depends on the program account's owner, not on a build flag.
pub fn may_initialize(
    program_id: &Pubkey,
    program: &AccountInfo,
    program_data: Option<&AccountInfo>,
    signer: &Pubkey,
) -> bool {
    if *program.owner != bpf_loader_upgradeable::ID {
        return true;
    }
    let Some(program_data) = program_data else {
        return false;
    };
    if *program_data.key != bpf_loader_upgradeable::get_program_data_address(program_id)
        || *program_data.owner != bpf_loader_upgradeable::ID
    {
        return false;
    }
    let Ok(data) = program_data.try_borrow_data() else {
        return false;
    };
    matches!(
        program_data_state(&data),
        Some(UpgradeableLoaderState::ProgramData {
            upgrade_authority_address: Some(authority),
            ..
        }) if authority == *signer
    )
}

fn program_data_state(data: &[u8]) -> Option<UpgradeableLoaderState> {
    let mut slice = data;
    UpgradeableLoaderState::try_deserialize_unchecked(&mut slice).ok()
}
