//! `update_config` and `set_paused`: the admin's controls.

use anchor_lang::prelude::*;

use super::ConfigArgs;
use crate::state::*;

#[derive(Accounts)]
pub struct AdminConfig<'info> {
    /// The admin.
    pub admin: Signer<'info>,
    /// The config.
    #[account(mut, seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Account<'info, Config>,
}

impl AdminConfig<'_> {
    /// The signer is the admin.
    pub fn validate(&self) -> Result<()> {
        self.config.require_admin(&self.admin.key())
    }

    /// Replaces the parameters. Existing challenges keep the treasury and shares they were
    /// created with.
    pub fn update(ctx: Context<Self>, args: ConfigArgs) -> Result<()> {
        let config = &mut ctx.accounts.config;
        args.apply(config);
        config.invariant()
    }

    /// Sets or clears the pause flag.
    pub fn set_paused(ctx: Context<Self>, paused: bool) -> Result<()> {
        let config = &mut ctx.accounts.config;
        config.paused = paused;
        config.invariant()
    }
}
