//! `pause`: stops every instruction except `unpause`.

use anchor_lang::prelude::*;

use crate::{events::PauseSet, state::*};

#[event_cpi]
#[derive(Accounts)]
pub struct Pause<'info> {
    /// The admin.
    pub admin: Signer<'info>,
    /// The config.
    #[account(mut, seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Account<'info, Config>,
}

impl Pause<'_> {
    /// The registry is not already paused, and the signer is the admin.
    pub fn validate(&self) -> Result<()> {
        self.config.require_not_paused()?;
        self.config.require_admin(&self.admin.key())
    }

    /// Sets the pause flag.
    pub fn handle(ctx: Context<Self>) -> Result<()> {
        let config = &mut ctx.accounts.config;
        config.paused = true;
        config.invariant()?;
        emit_cpi!(PauseSet { paused: true });
        Ok(())
    }
}
