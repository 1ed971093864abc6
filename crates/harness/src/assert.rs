//! Typed assertions on failed transactions. A test names the exact error it expects; a
//! different error, or success, fails the test with both sides printed.

use std::fmt::Debug;

use anchor_lang::{
    error::ErrorCode as AnchorErrorCode, prelude::Pubkey,
    solana_program::instruction::error::InstructionError, system_program,
};
use challenge::error::ChallengeError;
use registry::error::RegistryError;
use solana_transaction_error::TransactionError;
use veil_client::errors::{RegistryFailure, RegistryInstructionKind};

use crate::chain::Failed;

/// The code of the first failing instruction's `Custom` error, if that is how it failed.
pub fn custom_code(failed: &Failed) -> Option<u32> {
    match &failed.error {
        TransactionError::InstructionError(_, InstructionError::Custom(code)) => Some(*code),
        _ => None,
    }
}

/// The failing instruction's error, if the transaction failed inside an instruction.
pub fn instruction_error(failed: &Failed) -> Option<&InstructionError> {
    match &failed.error {
        TransactionError::InstructionError(_, err) => Some(err),
        _ => None,
    }
}

#[track_caller]
fn expect_failure<T: Debug>(result: Result<T, Failed>, what: &dyn Debug) -> Failed {
    match result {
        Ok(ok) => panic!("expected failure {what:?}, but the transaction succeeded: {ok:?}"),
        Err(failed) => failed,
    }
}

#[track_caller]
fn assert_custom_error<T: Debug>(result: Result<T, Failed>, code: u32, name: &str) {
    let failed = expect_failure(result, &name);
    assert_eq!(
        custom_code(&failed),
        Some(code),
        "expected {name} ({code}), got {:?}\nlogs: {:#?}",
        failed.error,
        failed.logs
    );
}

/// Asserts that the transaction failed with the registry error `expected`.
#[track_caller]
pub fn assert_registry_error<T: Debug>(result: Result<T, Failed>, expected: RegistryError) {
    let name = format!("RegistryError::{}", expected.name());
    assert_custom_error(result, u32::from(expected), &name);
}

/// Asserts that the transaction failed with the challenge error `expected`.
#[track_caller]
pub fn assert_challenge_error<T: Debug>(result: Result<T, Failed>, expected: ChallengeError) {
    let name = format!("ChallengeError::{}", expected.name());
    assert_custom_error(result, u32::from(expected), &name);
}

/// Asserts that the transaction failed with Anchor's framework error `expected`
/// (e.g. `ConstraintSeeds`, `AccountNotSigner`).
#[track_caller]
pub fn assert_anchor_error<T: Debug>(result: Result<T, Failed>, expected: AnchorErrorCode) {
    let name = format!("anchor ErrorCode::{expected:?}");
    assert_custom_error(result, u32::from(expected), &name);
}

/// Asserts that the transaction failed with the runtime error `expected`.
#[track_caller]
pub fn assert_instruction_error<T: Debug>(result: Result<T, Failed>, expected: InstructionError) {
    let failed = expect_failure(result, &expected);
    assert_eq!(
        instruction_error(&failed),
        Some(&expected),
        "expected {expected:?}, got {:?}\nlogs: {:#?}",
        failed.error,
        failed.logs
    );
}

/// The innermost program that failed, read from the runtime's `Program <id> failed:` log line
/// (the innermost failure is logged first).
pub fn failing_program(failed: &Failed) -> Option<Pubkey> {
    failed.logs.iter().find_map(|line| {
        let rest = line.strip_prefix("Program ")?;
        let (id, tail) = rest.split_once(' ')?;
        tail.starts_with("failed:")
            .then(|| id.parse().ok())
            .flatten()
    })
}

/// Whether the transaction failed because an `init` target already exists: the system
/// program's `SystemError::AccountAlreadyInUse` (its custom code 0).
pub fn is_account_already_in_use(failed: &Failed) -> bool {
    custom_code(failed) == Some(0) && failing_program(failed) == Some(system_program::ID)
}

/// Asserts that the transaction failed because an `init` target already exists.
#[track_caller]
pub fn assert_account_already_in_use<T: Debug>(result: Result<T, Failed>) {
    let failed = expect_failure(result, &"SystemError::AccountAlreadyInUse");
    assert!(
        is_account_already_in_use(&failed),
        "expected SystemError::AccountAlreadyInUse from the system program, got {:?}\nlogs: {:#?}",
        failed.error,
        failed.logs
    );
}

/// The typed decision a client draws from `failed` (see [`RegistryFailure::classify`]).
pub fn registry_failure(failed: &Failed, instruction: RegistryInstructionKind) -> RegistryFailure {
    RegistryFailure::classify(
        custom_code(failed),
        failing_program(failed).as_ref(),
        instruction,
    )
}

/// Asserts that `verify_ownership` failed because its nullifier was already spent.
#[track_caller]
pub fn assert_nullifier_already_used<T: Debug>(result: Result<T, Failed>) {
    let failed = expect_failure(result, &RegistryFailure::NullifierAlreadyUsed);
    assert_eq!(
        registry_failure(&failed, RegistryInstructionKind::VerifyOwnership),
        RegistryFailure::NullifierAlreadyUsed,
        "expected the nullifier to be already used, got {:?}\nlogs: {:#?}",
        failed.error,
        failed.logs
    );
}

/// A one-line human description of a failure: the registry error by name when it is one.
pub fn describe(failed: &Failed) -> String {
    if is_account_already_in_use(failed) {
        return "SystemError::AccountAlreadyInUse: the account to create already exists".into();
    }
    match custom_code(failed).and_then(veil_client::errors::registry_error) {
        Some(e) => format!("RegistryError::{} ({}): {}", e.name(), u32::from(e), e),
        None => format!("{:?}", failed.error),
    }
}
