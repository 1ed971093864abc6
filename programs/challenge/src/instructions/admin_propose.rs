//! `propose_admin`: first step of the two-step admin rotation.

use anchor_lang::prelude::*;

use crate::{events::ChallengeAdminProposed, state::*};

#[event_cpi]
#[derive(Accounts)]
pub struct ProposeAdmin<'info> {
    /// The current admin.
    pub admin: Signer<'info>,
    /// The config.
    #[account(mut, seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Account<'info, Config>,
}

impl ProposeAdmin<'_> {
    /// The signer is the admin. (Allowed while paused: rotating a compromised admin must not
    /// wait for an unpause.)
    pub fn validate(&self) -> Result<()> {
        self.config.require_admin(&self.admin.key())
    }

    /// Records `proposed` as the pending admin; the admin does not change until it accepts.
    /// A later proposal replaces an earlier one.
    pub fn handle(ctx: Context<Self>, proposed: Pubkey) -> Result<()> {
        let config = &mut ctx.accounts.config;
        config.pending_admin = Some(proposed);
        config.invariant()?;
        emit_cpi!(ChallengeAdminProposed {
            admin: config.admin,
            proposed,
        });
        Ok(())
    }
}
