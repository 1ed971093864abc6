//! `unpause`: the only instruction that runs while the registry is paused.

use anchor_lang::prelude::*;

use crate::{error::RegistryError, events::PauseSet, state::*};

#[event_cpi]
#[derive(Accounts)]
pub struct Unpause<'info> {
    /// The admin.
    pub admin: Signer<'info>,
    /// The config.
    #[account(mut, seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Account<'info, Config>,
}

impl Unpause<'_> {
    /// The registry is paused, and the signer is the admin.
    pub fn validate(&self) -> Result<()> {
        require!(self.config.paused, RegistryError::NotPaused);
        self.config.require_admin(&self.admin.key())
    }

    /// Clears the pause flag.
    pub fn handle(ctx: Context<Self>) -> Result<()> {
        let config = &mut ctx.accounts.config;
        config.paused = false;
        config.invariant()?;
        emit_cpi!(PauseSet { paused: false });
        Ok(())
    }
}
