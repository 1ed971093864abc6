//! Addresses and instruction builders for the `registry` program.

use anchor_lang::{
    prelude::Pubkey, solana_program::instruction::Instruction, system_program, InstructionData,
    ToAccountMetas,
};
pub use registry::ID as PROGRAM_ID;
use registry::{
    accounts, instruction,
    state::{CONFIG_SEED, ID_BATCH_SEED, ID_SEQUENCE_SEED, NULLIFIER_SEED, TRACK_SEED},
    AnchorIdBatchArgs, CreateTrackArgs, InitializeArgs, PublishRootArgs, VerifyOwnershipArgs,
};

/// The config PDA.
pub fn config_pda() -> (Pubkey, u8) {
    Pubkey::find_program_address(&[CONFIG_SEED], &PROGRAM_ID)
}

/// The track PDA of `track_id`.
pub fn track_pda(track_id: &[u8; 32]) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[TRACK_SEED, track_id], &PROGRAM_ID)
}

/// The nullifier PDA of `nullifier` on `track_id`.
pub fn nullifier_pda(track_id: &[u8; 32], nullifier: &[u8; 32]) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[NULLIFIER_SEED, track_id, nullifier], &PROGRAM_ID)
}

/// The batch-record PDA of (`namespace`, `first_seq`).
pub fn id_batch_pda(namespace: &[u8; 4], first_seq: u64) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[ID_BATCH_SEED, namespace, &first_seq.to_le_bytes()],
        &PROGRAM_ID,
    )
}

/// The `IdSequence` PDA of `namespace`: where its anchored ranges end.
pub fn id_sequence_pda(namespace: &[u8; 4]) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[ID_SEQUENCE_SEED, namespace], &PROGRAM_ID)
}

/// Anchor's event-CPI authority for the registry.
pub fn event_authority() -> Pubkey {
    crate::anchor_ix::event_authority(&PROGRAM_ID)
}

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    crate::anchor_ix::build(PROGRAM_ID, accounts, data)
}

/// `initialize`. `program_data` is the program's ProgramData address when it is deployed with
/// the upgradeable loader (`None` on the in-process chain).
pub fn initialize(
    admin: &Pubkey,
    registrar: &Pubkey,
    treasury: &Pubkey,
    program_data: Option<Pubkey>,
) -> Instruction {
    build(
        accounts::Initialize {
            admin: *admin,
            config: config_pda().0,
            program_data,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::Initialize {
            args: InitializeArgs {
                registrar: *registrar,
                treasury: *treasury,
            },
        },
    )
}

/// `propose_admin`.
pub fn propose_admin(admin: &Pubkey, proposed: &Pubkey) -> Instruction {
    build(
        accounts::ProposeAdmin {
            admin: *admin,
            config: config_pda().0,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::ProposeAdmin {
            proposed: *proposed,
        },
    )
}

/// `accept_admin`.
pub fn accept_admin(new_admin: &Pubkey) -> Instruction {
    build(
        accounts::AcceptAdmin {
            new_admin: *new_admin,
            config: config_pda().0,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::AcceptAdmin {},
    )
}

/// `set_registrar`.
pub fn set_registrar(admin: &Pubkey, registrar: &Pubkey) -> Instruction {
    build(
        accounts::SetRegistrar {
            admin: *admin,
            config: config_pda().0,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::SetRegistrar {
            registrar: *registrar,
        },
    )
}

/// `pause`.
pub fn pause(admin: &Pubkey) -> Instruction {
    build(
        accounts::Pause {
            admin: *admin,
            config: config_pda().0,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::Pause {},
    )
}

/// `unpause`.
pub fn unpause(admin: &Pubkey) -> Instruction {
    build(
        accounts::Unpause {
            admin: *admin,
            config: config_pda().0,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::Unpause {},
    )
}

/// `create_track`: roots stay usable for proofs `freshness_slots` after their snapshot.
pub fn create_track(
    admin: &Pubkey,
    track_id: [u8; 32],
    depth: u8,
    epoch_seconds: u64,
    freshness_slots: u64,
) -> Instruction {
    build(
        accounts::CreateTrack {
            admin: *admin,
            config: config_pda().0,
            track: track_pda(&track_id).0,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::CreateTrack {
            args: CreateTrackArgs {
                track_id,
                depth,
                epoch_seconds,
                freshness_slots,
            },
        },
    )
}

/// `publish_root`: `snapshot_slot` is the slot at which the holdings behind `root` were read.
pub fn publish_root(
    registrar: &Pubkey,
    track_id: [u8; 32],
    root: [u8; 32],
    leaf_count: u64,
    snapshot_slot: u64,
) -> Instruction {
    build(
        accounts::PublishRoot {
            registrar: *registrar,
            config: config_pda().0,
            track: track_pda(&track_id).0,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::PublishRoot {
            args: PublishRootArgs {
                track_id,
                root,
                leaf_count,
                snapshot_slot,
            },
        },
    )
}

/// `anchor_id_batch`.
pub fn anchor_id_batch(
    registrar: &Pubkey,
    namespace: [u8; 4],
    batch_root: [u8; 32],
    first_seq: u64,
    count: u32,
) -> Instruction {
    build(
        accounts::AnchorIdBatch {
            registrar: *registrar,
            config: config_pda().0,
            id_batch: id_batch_pda(&namespace, first_seq).0,
            sequence: id_sequence_pda(&namespace).0,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::AnchorIdBatch {
            args: AnchorIdBatchArgs {
                namespace,
                batch_root,
                first_seq,
                count,
            },
        },
    )
}

/// `verify_ownership`: `payer` funds the nullifier record (usually the relayer).
pub fn verify_ownership(payer: &Pubkey, args: VerifyOwnershipArgs) -> Instruction {
    build(
        accounts::VerifyOwnership {
            payer: *payer,
            config: config_pda().0,
            track: track_pda(&args.track_id).0,
            nullifier: nullifier_pda(&args.track_id, &args.nullifier).0,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        instruction::VerifyOwnership { args },
    )
}

/// The `verify_ownership` arguments for a proof and its public inputs.
pub fn verify_ownership_args(
    proof: &veil_zk::ProofBytes,
    inputs: &veil_zk::PublicInputs,
) -> VerifyOwnershipArgs {
    VerifyOwnershipArgs {
        track_id: inputs.track_id,
        root: inputs.root,
        nullifier: inputs.nullifier,
        scope: inputs.scope,
        signal_hash: inputs.signal_hash,
        proof: proof.to_bytes(),
    }
}
