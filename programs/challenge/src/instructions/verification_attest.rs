//! `attest_verification`: the gatekeeper records a party's wallet and funds checks. A failed
//! check cancels the challenge and refunds every deposited bond.

use anchor_lang::prelude::*;

use super::escrow::*;
use crate::{error::ChallengeError, events::VerificationAttested, state::*};

/// Arguments of `attest_verification`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct AttestVerificationArgs {
    /// The party checked.
    pub party: Party,
    /// The wallet signature check passed.
    pub wallet_ok: bool,
    /// The proof-of-funds check passed.
    pub funds_ok: bool,
    /// Hash of the off-chain attestation record (it holds a salted hash of the balance).
    pub attestation_hash: [u8; 32],
}

#[event_cpi]
#[derive(Accounts)]
pub struct AttestVerification<'info> {
    /// The gatekeeper.
    pub gatekeeper: Signer<'info>,
    /// The config.
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Account<'info, Config>,
    /// The challenge.
    #[account(mut)]
    pub challenge: Account<'info, Challenge>,
    /// Escrow, for the refunds of a failed verification.
    pub escrow: Escrow<'info>,
}

impl AttestVerification<'_> {
    /// Not paused; the signer is the gatekeeper; ACCEPTED; the party is not attested yet.
    pub fn validate(&self, args: &AttestVerificationArgs) -> Result<()> {
        self.config.require_not_paused()?;
        require_keys_eq!(
            self.gatekeeper.key(),
            self.config.gatekeeper,
            ChallengeError::NotGatekeeper
        );
        let c = &self.challenge;
        c.require_status(Status::Accepted)?;
        require!(
            !c.party(args.party).verified,
            ChallengeError::AlreadyVerified
        );
        self.escrow.validate(c)
    }

    /// Records a pass, or cancels with refunds on a failure.
    pub fn handle(ctx: Context<Self>, args: AttestVerificationArgs) -> Result<()> {
        let key = ctx.accounts.challenge.key();
        let passed = args.wallet_ok && args.funds_ok;
        {
            let party = ctx.accounts.challenge.party_mut(args.party);
            party.verified = passed;
            party.attestation_hash = args.attestation_hash;
        }
        emit_cpi!(VerificationAttested {
            challenge: key,
            party: args.party,
            passed,
            attestation_hash: args.attestation_hash,
        });
        if passed {
            return ctx.accounts.challenge.invariant(None);
        }
        let released = ctx
            .accounts
            .escrow
            .refund_and_end(&mut ctx.accounts.challenge, Status::Cancelled)?;
        crate::emit_released!(ctx, released);
        Ok(())
    }
}
