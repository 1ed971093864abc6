//! `initialize`: creates the config; the signer becomes the admin.

use anchor_lang::prelude::*;

use crate::{error::RegistryError, events::RegistryInitialized, state::*};

/// Arguments of `initialize`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct InitializeArgs {
    /// The key that will publish roots and anchor ID batches.
    pub registrar: Pubkey,
    /// The protocol treasury.
    pub treasury: Pubkey,
}

#[event_cpi]
#[derive(Accounts)]
pub struct Initialize<'info> {
    /// Pays for the config and becomes its admin.
    #[account(mut)]
    pub admin: Signer<'info>,
    /// The config, created here; a second `initialize` fails because it already exists.
    #[account(init, payer = admin, space = 8 + Config::INIT_SPACE, seeds = [CONFIG_SEED], bump)]
    pub config: Account<'info, Config>,
    /// The program's ProgramData account. Required when the program is deployed with the
    /// upgradeable loader, so that only its upgrade authority can initialize.
    /// CHECK: verified by `veil_anchor_common::may_initialize`.
    pub program_data: Option<UncheckedAccount<'info>>,
    /// The system program.
    pub system_program: Program<'info, System>,
}

impl Initialize<'_> {
    /// Under the upgradeable loader, the config can only be created by the upgrade authority,
    /// so nobody can front-run the deployment and seize the admin role. (A natively hosted test
    /// program is owned by the native loader and has no upgrade authority.)
    pub fn validate(&self) -> Result<()> {
        require!(
            veil_anchor_common::may_initialize(
                &crate::ID,
                &self.program,
                self.program_data.as_ref().map(|a| a.as_ref()),
                &self.admin.key(),
            ),
            RegistryError::NotUpgradeAuthority
        );
        Ok(())
    }

    /// Writes the config and announces it.
    pub fn handle(ctx: Context<Self>, args: InitializeArgs) -> Result<()> {
        let config = &mut ctx.accounts.config;
        config.set_inner(Config {
            admin: ctx.accounts.admin.key(),
            pending_admin: None,
            registrar: args.registrar,
            treasury: args.treasury,
            paused: false,
            bump: ctx.bumps.config,
        });
        config.invariant()?;
        emit_cpi!(RegistryInitialized {
            admin: config.admin,
            registrar: config.registrar,
            treasury: config.treasury,
        });
        Ok(())
    }
}
