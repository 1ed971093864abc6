//! `initialize`: creates the config; the signer becomes the admin.

use anchor_lang::prelude::*;

use crate::{error::ChallengeError, state::*};

/// The configurable parameters (also the arguments of `update_config`).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct ConfigArgs {
    /// Attests verifications.
    pub gatekeeper: Pubkey,
    /// Owner of the treasury token accounts.
    pub treasury: Pubkey,
    /// Bounds of `accept_deadline − now` at creation (Enforced).
    pub accept_window: Window,
    /// Bounds of `response_deadline − accept_deadline` (Enforced).
    pub response_window: Window,
    /// Largest treasury share, in basis points.
    pub max_treasury_bps: u16,
    /// Seconds the arbiter has to decide a dispute (copied into each new challenge).
    pub arbiter_window: i64,
    /// Bond mints allowed despite a freeze authority (at most `MAX_BOND_MINTS`).
    pub bond_mints: Vec<Pubkey>,
}

impl ConfigArgs {
    /// Writes the parameters into `config`.
    pub fn apply(&self, config: &mut Config) {
        config.gatekeeper = self.gatekeeper;
        config.treasury = self.treasury;
        config.accept_window = self.accept_window;
        config.response_window = self.response_window;
        config.max_treasury_bps = self.max_treasury_bps;
        config.arbiter_window = self.arbiter_window;
        config.bond_mints.clone_from(&self.bond_mints);
    }
}

#[event_cpi]
#[derive(Accounts)]
pub struct Initialize<'info> {
    /// Pays and becomes the admin.
    #[account(mut)]
    pub admin: Signer<'info>,
    /// The config, created here.
    #[account(init, payer = admin, space = 8 + Config::INIT_SPACE, seeds = [CONFIG_SEED], bump)]
    pub config: Account<'info, Config>,
    /// The program's ProgramData account (required under the upgradeable loader).
    /// CHECK: verified by `veil_anchor_common::may_initialize`.
    pub program_data: Option<UncheckedAccount<'info>>,
    /// The system program.
    pub system_program: Program<'info, System>,
}

impl Initialize<'_> {
    /// Only the upgrade authority may initialize a deployed program (see
    /// `veil_anchor_common::may_initialize`: `program` is checked to be this program's own
    /// account, not merely any account).
    pub fn validate(&self) -> Result<()> {
        require!(
            veil_anchor_common::may_initialize(
                &crate::ID,
                &self.program,
                self.program_data.as_ref().map(|a| a.as_ref()),
                &self.admin.key(),
            ),
            ChallengeError::NotUpgradeAuthority
        );
        Ok(())
    }

    /// Writes the config.
    pub fn handle(ctx: Context<Self>, args: ConfigArgs) -> Result<()> {
        let config = &mut ctx.accounts.config;
        config.admin = ctx.accounts.admin.key();
        config.pending_admin = None;
        config.paused = false;
        config.bump = ctx.bumps.config;
        args.apply(config);
        config.invariant()
    }
}
