//! `anchor_id_batch`: the registrar records the Merkle root of a batch of minted ChittyIDs.

use anchor_lang::prelude::*;
use veil_core::namespace;

use crate::{error::RegistryError, events::IdBatchAnchored, state::*};

/// Arguments of `anchor_id_batch`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct AnchorIdBatchArgs {
    /// Namespace, 3 or 4 uppercase letters zero-padded to 4 bytes.
    pub namespace: [u8; 4],
    /// Root of the batch's Merkle tree.
    pub batch_root: [u8; 32],
    /// Sequence number of the first ID in the batch.
    pub first_seq: u64,
    /// Number of IDs, `1..=MAX_ID_BATCH`.
    pub count: u32,
}

#[event_cpi]
#[derive(Accounts)]
#[instruction(args: AnchorIdBatchArgs)]
pub struct AnchorIdBatch<'info> {
    /// The registrar, who pays for the batch record.
    #[account(mut)]
    pub registrar: Signer<'info>,
    /// The config.
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Account<'info, Config>,
    /// The batch record; anchoring the same (namespace, first_seq) twice fails atomically.
    #[account(
        init,
        payer = registrar,
        space = 8 + IdBatch::INIT_SPACE,
        seeds = [ID_BATCH_SEED, args.namespace.as_ref(), args.first_seq.to_le_bytes().as_ref()],
        bump
    )]
    pub id_batch: Account<'info, IdBatch>,
    /// Where the namespace's anchored ranges end; created with its first batch.
    #[account(
        init_if_needed,
        payer = registrar,
        space = 8 + IdSequence::INIT_SPACE,
        seeds = [ID_SEQUENCE_SEED, args.namespace.as_ref()],
        bump
    )]
    pub sequence: Account<'info, IdSequence>,
    /// The system program.
    pub system_program: Program<'info, System>,
}

impl AnchorIdBatch<'_> {
    /// The registry is not paused, the signer is the registrar, the batch is well formed, and
    /// it does not overlap the namespace's previous batch.
    pub fn validate(&self, args: &AnchorIdBatchArgs) -> Result<()> {
        self.config.require_not_paused()?;
        self.config.require_registrar(&self.registrar.key())?;
        namespace::validate(&args.namespace).map_err(|_| RegistryError::InvalidNamespace)?;
        require!(
            args.count >= 1 && args.count <= MAX_ID_BATCH,
            RegistryError::InvalidBatchSize
        );
        args.first_seq
            .checked_add(u64::from(args.count))
            .ok_or(RegistryError::SequenceOverflow)?;
        // Ranges move forward: a batch starts at or past where the previous one ended.
        require!(
            args.first_seq >= self.sequence.next_seq,
            RegistryError::BatchOverlaps
        );
        Ok(())
    }

    /// Stores the record and announces it.
    pub fn handle(ctx: Context<Self>, args: AnchorIdBatchArgs) -> Result<()> {
        let clock = Clock::get()?;
        let batch = &mut ctx.accounts.id_batch;
        batch.set_inner(IdBatch {
            namespace: args.namespace,
            first_seq: args.first_seq,
            count: args.count,
            batch_root: args.batch_root,
            slot: clock.slot,
            anchored_at: clock.unix_timestamp,
            bump: ctx.bumps.id_batch,
        });
        batch.invariant()?;
        let sequence = &mut ctx.accounts.sequence;
        sequence.namespace = args.namespace;
        sequence.bump = ctx.bumps.sequence;
        sequence.next_seq = args
            .first_seq
            .checked_add(u64::from(args.count))
            .ok_or(RegistryError::SequenceOverflow)?;
        emit_cpi!(IdBatchAnchored {
            namespace: args.namespace,
            batch_root: args.batch_root,
            first_seq: args.first_seq,
            count: args.count,
            slot: clock.slot,
        });
        Ok(())
    }
}
