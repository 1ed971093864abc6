//! SBF-safe Anchor helpers shared by the programs, so that a rule two programs enforce is
//! written once.

use anchor_lang::{
    prelude::*,
    solana_program::bpf_loader_upgradeable::{self, UpgradeableLoaderState},
};

/// The native loader, owner of a validator's builtin programs.
pub const NATIVE_LOADER_ID: Pubkey = pubkey!("NativeLoader1111111111111111111111111111111");

/// Whether `signer` may initialize `program_id`'s config.
///
/// `program` must be the program's own account (its key is `program_id` and it is
/// executable); its owner decides the rule:
/// - under the upgradeable loader, only the upgrade authority may, so nobody can front-run a
///   deployment and seize the admin role: `program_data` must be the ProgramData account the
///   program account itself names, owned by the loader, and name `signer` as its authority;
/// - a program hosted natively (the in-process test chain: owned by the native loader, which
///   only a validator's own builtins can be) has no upgrade authority;
/// - under any other loader (non-upgradeable deployments) nobody can be told apart from the
///   deployer, so initialization is refused.
///
/// The program account must be checked here because Anchor's `#[event_cpi]` `program`
/// account carries no constraint: trusting its owner alone let any wallet pass as "not
/// upgradeable".
pub fn may_initialize(
    program_id: &Pubkey,
    program: &AccountInfo,
    program_data: Option<&AccountInfo>,
    signer: &Pubkey,
) -> bool {
    if program.key != program_id || !program.executable {
        return false;
    }
    if *program.owner == NATIVE_LOADER_ID {
        return true;
    }
    if *program.owner != bpf_loader_upgradeable::ID {
        return false;
    }
    let Some(programdata_address) = programdata_address(program) else {
        return false;
    };
    let Some(program_data) = program_data else {
        return false;
    };
    if *program_data.key != programdata_address || *program_data.owner != bpf_loader_upgradeable::ID
    {
        return false;
    }
    let Ok(data) = program_data.try_borrow_data() else {
        return false;
    };
    matches!(
        loader_state(&data),
        Some(UpgradeableLoaderState::ProgramData {
            upgrade_authority_address: Some(authority),
            ..
        }) if authority == *signer
    )
}

/// The ProgramData address an upgradeable program account names.
fn programdata_address(program: &AccountInfo) -> Option<Pubkey> {
    let data = program.try_borrow_data().ok()?;
    match loader_state(&data)? {
        UpgradeableLoaderState::Program {
            programdata_address,
        } => Some(programdata_address),
        _ => None,
    }
}

fn loader_state(data: &[u8]) -> Option<UpgradeableLoaderState> {
    let mut slice = data;
    UpgradeableLoaderState::try_deserialize_unchecked(&mut slice).ok()
}
