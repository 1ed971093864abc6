//! What a failed transaction says: the runtime's error, the program that failed innermost
//! (read from the logs: a failing CPI logs `Program <id> failed: …` before its callers do),
//! and the program's custom error code, mapped to the typed decisions of `veil-client`.

use anchor_lang::prelude::Pubkey;
use solana_transaction_error::TransactionError;
use veil_client::errors::{RegistryFailure, RegistryInstructionKind};

/// A transaction the chain refused, or that landed and failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxFailure {
    /// The runtime's error.
    pub error: TransactionError,
    /// The innermost program that failed, from the logs.
    pub failing_program: Option<Pubkey>,
    /// The logs, when the node returned them.
    pub logs: Vec<String>,
}

impl TxFailure {
    /// From the runtime's error and the logs.
    pub fn new(error: TransactionError, logs: Vec<String>) -> Self {
        let failing_program = failing_program(&logs);
        Self {
            error,
            failing_program,
            logs,
        }
    }

    /// The custom error code, if the failure is an instruction's custom error.
    pub fn custom_code(&self) -> Option<u32> {
        match &self.error {
            TransactionError::InstructionError(
                _,
                solana_instruction_error::InstructionError::Custom(code),
            ) => Some(*code),
            _ => None,
        }
    }

    /// The typed decision for a registry instruction.
    pub fn registry(&self, instruction: RegistryInstructionKind) -> RegistryFailure {
        RegistryFailure::classify(
            self.custom_code(),
            self.failing_program.as_ref(),
            instruction,
        )
    }
}

impl std::fmt::Display for TxFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)?;
        if let Some(program) = &self.failing_program {
            write!(f, " (in program {program})")?;
        }
        Ok(())
    }
}

/// The first program whose `Program <id> failed: …` line appears: the innermost that failed.
pub fn failing_program(logs: &[String]) -> Option<Pubkey> {
    logs.iter().find_map(|line| {
        let rest = line.strip_prefix("Program ")?;
        let (id, tail) = rest.split_once(' ')?;
        tail.starts_with("failed:")
            .then(|| id.parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_innermost_failing_program_is_the_first_to_log_its_failure() {
        let system = anchor_lang::system_program::ID;
        let registry = veil_client::registry::PROGRAM_ID;
        let logs: Vec<String> = [
            format!("Program {registry} invoke [1]"),
            format!("Program {system} invoke [2]"),
            "Allocate: account Address { address: x, base: None } already in use".to_owned(),
            format!("Program {system} failed: custom program error: 0x0"),
            format!("Program {registry} consumed 1 of 200000 compute units"),
            format!("Program {registry} failed: custom program error: 0x0"),
        ]
        .into();
        assert_eq!(failing_program(&logs), Some(system));
        let failure = TxFailure::new(
            TransactionError::InstructionError(
                0,
                solana_instruction_error::InstructionError::Custom(0),
            ),
            logs,
        );
        assert_eq!(failure.custom_code(), Some(0));
        assert_eq!(
            failure.registry(RegistryInstructionKind::VerifyOwnership),
            RegistryFailure::NullifierAlreadyUsed
        );
        assert_eq!(
            failing_program(&["Program log: failed: no".to_owned()]),
            None
        );
    }
}
