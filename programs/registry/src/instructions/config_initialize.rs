//! `initialize`: creates the config; the signer becomes the admin.

use anchor_lang::{prelude::*, solana_program::bpf_loader_upgradeable};

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
    pub program_data: Option<Account<'info, ProgramData>>,
    /// The system program.
    pub system_program: Program<'info, System>,
}

impl Initialize<'_> {
    /// Under the upgradeable loader, the config can only be created by the upgrade authority,
    /// so nobody can front-run the deployment and seize the admin role. (A natively hosted test
    /// program is owned by the native loader and has no upgrade authority.)
    pub fn validate(&self) -> Result<()> {
        if *self.program.owner == bpf_loader_upgradeable::ID {
            let program_data = self
                .program_data
                .as_ref()
                .ok_or(RegistryError::NotUpgradeAuthority)?;
            let expected = bpf_loader_upgradeable::get_program_data_address(&crate::ID);
            require_keys_eq!(
                program_data.key(),
                expected,
                RegistryError::NotUpgradeAuthority
            );
            require!(
                program_data.upgrade_authority_address == Some(self.admin.key()),
                RegistryError::NotUpgradeAuthority
            );
        }
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
