//! What every Anchor program's client needs: instruction assembly and the event-CPI authority.

use anchor_lang::{
    prelude::Pubkey, solana_program::instruction::Instruction, InstructionData, ToAccountMetas,
};

/// Seed of Anchor's event-CPI authority PDA (fixed by `#[event_cpi]`).
const EVENT_AUTHORITY_SEED: &[u8] = b"__event_authority";

/// `program_id`'s event-CPI authority.
pub(crate) fn event_authority(program_id: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[EVENT_AUTHORITY_SEED], program_id).0
}

/// An instruction of `program_id` from Anchor's generated accounts and data types.
pub(crate) fn build(
    program_id: Pubkey,
    accounts: impl ToAccountMetas,
    data: impl InstructionData,
) -> Instruction {
    Instruction {
        program_id,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}
