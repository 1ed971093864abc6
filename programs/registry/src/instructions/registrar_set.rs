//! `set_registrar`: replaces the key that publishes roots and anchors ID batches.

use anchor_lang::prelude::*;

use crate::{events::RegistrarSet, state::*};

#[event_cpi]
#[derive(Accounts)]
pub struct SetRegistrar<'info> {
    /// The admin.
    pub admin: Signer<'info>,
    /// The config.
    #[account(mut, seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Account<'info, Config>,
}

impl SetRegistrar<'_> {
    /// The registry is not paused, and the signer is the admin.
    pub fn validate(&self) -> Result<()> {
        self.config.require_not_paused()?;
        self.config.require_admin(&self.admin.key())
    }

    /// Replaces the registrar; the old key loses its rights in the same slot.
    pub fn handle(ctx: Context<Self>, registrar: Pubkey) -> Result<()> {
        let config = &mut ctx.accounts.config;
        let previous = config.registrar;
        config.registrar = registrar;
        config.invariant()?;
        emit_cpi!(RegistrarSet {
            previous,
            registrar,
        });
        Ok(())
    }
}
