//! `verify_ownership`: checks a Groth16 membership proof and spends its nullifier.

use anchor_lang::prelude::*;
use veil_zk::{ProofBytes, PublicInputs, VerifyError, PROOF_LEN};

use crate::{error::RegistryError, events::OwnershipVerified, state::*};

/// Arguments of `verify_ownership`. Field elements are big-endian.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct VerifyOwnershipArgs {
    /// The track.
    pub track_id: [u8; 32],
    /// A root in the track's ring.
    pub root: [u8; 32],
    /// The nullifier the proof spends.
    pub nullifier: [u8; 32],
    /// 0 for once-per-track tracks, else the current epoch number.
    pub scope: [u8; 32],
    /// The action/recipient binding the proof commits to.
    pub signal_hash: [u8; 32],
    /// The proof in groth16-solana's layout (`-A ‖ B ‖ C`).
    pub proof: [u8; PROOF_LEN],
}

impl VerifyOwnershipArgs {
    /// The public inputs, in the verifier's one order (defined in `veil-zk`).
    pub fn public_inputs(&self) -> PublicInputs {
        PublicInputs {
            root: self.root,
            nullifier: self.nullifier,
            track_id: self.track_id,
            scope: self.scope,
            signal_hash: self.signal_hash,
        }
    }
}

#[event_cpi]
#[derive(Accounts)]
#[instruction(args: VerifyOwnershipArgs)]
pub struct VerifyOwnership<'info> {
    /// Pays for the nullifier record (usually the relayer); not linked to the prover.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The config.
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Account<'info, Config>,
    /// The track.
    #[account(seeds = [TRACK_SEED, args.track_id.as_ref()], bump = track.load()?.bump)]
    pub track: AccountLoader<'info, Track>,
    /// The nullifier record, created here: a nullifier already spent fails with the system
    /// program's `AccountAlreadyInUse`, which clients map to `NullifierAlreadyUsed`.
    #[account(
        init,
        payer = payer,
        space = 8 + NullifierRecord::INIT_SPACE,
        seeds = [NULLIFIER_SEED, args.track_id.as_ref(), args.nullifier.as_ref()],
        bump
    )]
    pub nullifier: Account<'info, NullifierRecord>,
    /// The system program.
    pub system_program: Program<'info, System>,
}

impl VerifyOwnership<'_> {
    /// The registry is not paused; the track uses the compiled-in key's depth; the root is
    /// recent; the scope follows the track's rule now.
    pub fn validate(&self, args: &VerifyOwnershipArgs) -> Result<()> {
        self.config.require_not_paused()?;
        let track = self.track.load()?;
        require!(
            track.depth == veil_zk::vk::TREE_DEPTH,
            RegistryError::UnsupportedTreeDepth
        );
        // A proof must be against one of the last ROOT_HISTORY_SIZE roots, whose holdings
        // snapshot is still within the track's freshness window: "held at a slot within the
        // last W", so a sold token stops proving within W whatever the ring holds.
        let entry = track
            .find_root(&args.root)
            .ok_or(RegistryError::RootNotInHistory)?;
        require!(
            track.is_fresh(entry.slot, Clock::get()?.slot),
            RegistryError::RootTooOld
        );
        // Once per track: scope 0. Per epoch: the current epoch, so a proof for another epoch's
        // scope is refused even though its nullifier is fresh.
        let expected_scope = match track.scope_rule() {
            ScopeRule::OncePerTrack => [0u8; 32],
            ScopeRule::Epoch { seconds } => {
                veil_zk::scope_for(seconds, Clock::get()?.unix_timestamp)
            }
        };
        require!(args.scope == expected_scope, RegistryError::ScopeMismatch);
        Ok(())
    }

    /// Verifies the proof, records the nullifier and announces the verification.
    pub fn handle(ctx: Context<Self>, args: VerifyOwnershipArgs) -> Result<()> {
        let proof = ProofBytes::from_bytes(&args.proof);
        veil_zk::verify(&proof, &args.public_inputs()).map_err(|e| match e {
            VerifyError::InputNotInField(_) => RegistryError::InputNotInField,
            VerifyError::ProofRejected => RegistryError::InvalidProof,
        })?;

        let slot = Clock::get()?.slot;
        ctx.accounts.nullifier.set_inner(NullifierRecord {
            scope: args.scope,
            slot,
            bump: ctx.bumps.nullifier,
        });
        emit_cpi!(OwnershipVerified {
            track_id: args.track_id,
            nullifier: args.nullifier,
            root: args.root,
            scope: args.scope,
            signal_hash: args.signal_hash,
            slot,
        });
        Ok(())
    }
}
