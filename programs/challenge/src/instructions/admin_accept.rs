//! `accept_admin`: second step of the admin rotation, signed by the proposed admin.

use anchor_lang::prelude::*;

use crate::{error::ChallengeError, events::ChallengeAdminAccepted, state::*};

#[event_cpi]
#[derive(Accounts)]
pub struct AcceptAdmin<'info> {
    /// The proposed admin.
    pub new_admin: Signer<'info>,
    /// The config.
    #[account(mut, seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Account<'info, Config>,
}

impl AcceptAdmin<'_> {
    /// A rotation is pending, and the signer is its proposed admin.
    pub fn validate(&self) -> Result<()> {
        let pending = self
            .config
            .pending_admin
            .ok_or(ChallengeError::NoPendingAdmin)?;
        require_keys_eq!(
            self.new_admin.key(),
            pending,
            ChallengeError::NotPendingAdmin
        );
        Ok(())
    }

    /// Makes the signer the admin and clears the proposal.
    pub fn handle(ctx: Context<Self>) -> Result<()> {
        let config = &mut ctx.accounts.config;
        let previous = config.admin;
        config.admin = ctx.accounts.new_admin.key();
        config.pending_admin = None;
        config.invariant()?;
        emit_cpi!(ChallengeAdminAccepted {
            previous,
            admin: config.admin,
        });
        Ok(())
    }
}
