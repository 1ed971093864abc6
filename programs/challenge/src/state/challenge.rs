//! A challenge, its state machine and its escrow bookkeeping.

use anchor_lang::prelude::*;

use super::BPS;
use crate::{
    error::ChallengeError,
    events::{AttestationCreated, StatusChanged},
};

/// How a challenge is run (SPEC §3.2).
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The creator alone: DRAFT → INTENT_LOCKED → COMPLETED.
    Solo,
    /// Two parties whose wallet and funds checks the gatekeeper attests.
    Gatekeeper,
    /// Gatekeeper with honesty bonds, slashed from the loser.
    Fire,
    /// Fire (bond > 0) or Gatekeeper (bond = 0) with accept and response deadlines.
    Enforced,
}

/// Where a challenge stands. Transitions are exactly those of [`Status::may_become`].
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// A Solo challenge before its intent is locked.
    Draft,
    /// Waiting for the counterparty to accept.
    AwaitingCounterparty,
    /// Accepted; verifications and bonds are being collected.
    Accepted,
    /// Terms are locked; waiting for outcome confirmations.
    IntentLocked,
    /// The parties confirmed different outcomes; the arbiter decides.
    Disputed,
    /// The outcome is final.
    Completed,
    /// Cancelled by the creator before acceptance, by either party before the intent locks,
    /// or by a failed verification.
    Cancelled,
    /// A deadline passed with nothing to decide by; every bond was refunded.
    Expired,
}

impl Status {
    /// The transition table: the single source of truth for what may follow what.
    pub fn may_become(self, next: Status) -> bool {
        use Status::*;
        matches!(
            (self, next),
            (Draft, IntentLocked)
                | (Draft, Cancelled)
                | (AwaitingCounterparty, Accepted)
                | (AwaitingCounterparty, Cancelled)
                | (AwaitingCounterparty, Expired)
                | (Accepted, IntentLocked)
                | (Accepted, Cancelled)
                | (Accepted, Expired)
                | (IntentLocked, Completed)
                | (IntentLocked, Disputed)
                | (IntentLocked, Expired)
                | (Disputed, Completed)
                | (Disputed, Expired)
        )
    }

    /// Whether no transition leaves this status.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Completed | Status::Cancelled | Status::Expired
        )
    }
}

/// A declared result.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The creator wins: the counterparty's bond is slashed.
    CreatorWins,
    /// The counterparty wins: the creator's bond is slashed.
    CounterpartyWins,
    /// Nobody wins: both bonds are refunded.
    Draw,
    /// The challenge did not take place: both bonds are refunded.
    NoContest,
}

/// What `expire` does to a challenge whose deadline has passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// Refund every bond and end in EXPIRED.
    Refund,
    /// The only confirmation stands: complete with this outcome (then `settle` pays out).
    Complete(Outcome),
}

/// Which side of a challenge.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    /// The creator.
    Creator,
    /// The counterparty.
    Counterparty,
}

/// One party's progress.
#[derive(
    AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, Default, PartialEq, Eq,
)]
pub struct PartyState {
    /// The gatekeeper attested wallet ownership and sufficient funds.
    pub verified: bool,
    /// Hash of the gatekeeper's attestation record (off-chain evidence, salted balance hash).
    pub attestation_hash: [u8; 32],
    /// The party's bond is in the vault (or was, before a payout).
    pub bond_deposited: bool,
    /// The outcome this party confirmed.
    pub confirmed: Option<Outcome>,
}

/// PDA `[CHALLENGE_SEED, creator, nonce]`.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// Opened the challenge and paid its rent.
    pub creator: Pubkey,
    /// The creator's nonce for this challenge.
    pub nonce: u64,
    /// The other party; `None` until an open challenge is accepted (always `None` in Solo).
    pub counterparty: Option<Pubkey>,
    /// Decides disputes; required when bonds are at stake.
    pub arbiter: Option<Pubkey>,
    /// Mode.
    pub mode: Mode,
    /// Status.
    pub status: Status,
    /// SHA-256 of the agreed terms document.
    pub terms_hash: [u8; 32],
    /// Mint of the bonds (default key when unbonded).
    pub bond_mint: Pubkey,
    /// Each party's bond, in base units (0 when unbonded).
    pub bond_amount: u64,
    /// Share of the loser's bond the winner receives explicitly, in basis points.
    pub winner_share_bps: u16,
    /// Share of the loser's bond the treasury receives, in basis points.
    pub treasury_share_bps: u16,
    /// Owner of the treasury token account, fixed at creation.
    pub treasury: Pubkey,
    /// Unix time by which the counterparty must accept (0 when not Enforced).
    pub accept_deadline: i64,
    /// Unix time by which the intent must lock and the outcome be confirmed; every bonded
    /// challenge has one (0 only when unbonded and not Enforced). After it, a single
    /// confirmation stands, and a challenge with none is expired with refunds.
    pub response_deadline: i64,
    /// Seconds the arbiter has to decide a dispute, fixed at creation from the config.
    pub arbiter_window: i64,
    /// Unix time by which the arbiter must decide (set when the dispute arises; 0 before).
    pub arbiter_deadline: i64,
    /// The creator's progress.
    pub creator_state: PartyState,
    /// The counterparty's progress.
    pub counterparty_state: PartyState,
    /// The final outcome, once Completed.
    pub outcome: Option<Outcome>,
    /// Tokens deposited into the vault so far.
    pub deposited: u64,
    /// Tokens paid out of the vault so far.
    pub paid_out: u64,
    /// The bond vault (default key when unbonded).
    pub vault: Pubkey,
    /// The vault has been emptied and closed.
    pub vault_closed: bool,
    /// Canonical bump of this PDA.
    pub bump: u8,
}

impl Challenge {
    /// Whether bonds are escrowed.
    pub fn is_bonded(&self) -> bool {
        self.bond_amount > 0
    }

    /// The party `key` is, if any.
    pub fn party_of(&self, key: &Pubkey) -> Option<Party> {
        if *key == self.creator {
            Some(Party::Creator)
        } else if self.counterparty == Some(*key) {
            Some(Party::Counterparty)
        } else {
            None
        }
    }

    /// `key`'s party, or `NotAParty`.
    pub fn require_party(&self, key: &Pubkey) -> Result<Party> {
        self.party_of(key)
            .ok_or_else(|| error!(ChallengeError::NotAParty))
    }

    /// A party's state.
    pub fn party(&self, party: Party) -> &PartyState {
        match party {
            Party::Creator => &self.creator_state,
            Party::Counterparty => &self.counterparty_state,
        }
    }

    /// A party's state, mutably.
    pub fn party_mut(&mut self, party: Party) -> &mut PartyState {
        match party {
            Party::Creator => &mut self.creator_state,
            Party::Counterparty => &mut self.counterparty_state,
        }
    }

    /// Requires the current status to be `expected`.
    pub fn require_status(&self, expected: Status) -> Result<()> {
        require!(self.status == expected, ChallengeError::InvalidStatus);
        Ok(())
    }

    /// Moves to `next` if the transition table allows it.
    pub fn transition(&mut self, next: Status) -> Result<()> {
        require!(
            self.status.may_become(next),
            ChallengeError::InvalidTransition
        );
        self.status = next;
        Ok(())
    }

    /// Moves to `next` through the transition table and returns the event announcing it.
    pub fn change_status(&mut self, key: Pubkey, next: Status) -> Result<StatusChanged> {
        let from = self.status;
        self.transition(next)?;
        Ok(StatusChanged {
            challenge: key,
            from: Some(from),
            to: next,
            at: Clock::get()?.unix_timestamp,
        })
    }

    /// Records the final `outcome`, moves to COMPLETED, and returns the two events announcing
    /// it: the status change and the attestation of the outcome against the terms.
    pub fn complete(
        &mut self,
        key: Pubkey,
        outcome: Outcome,
    ) -> Result<(StatusChanged, AttestationCreated)> {
        self.outcome = Some(outcome);
        let changed = self.change_status(key, Status::Completed)?;
        Ok((
            changed,
            AttestationCreated {
                challenge: key,
                outcome,
                terms_hash: self.terms_hash,
            },
        ))
    }

    /// Before the accept deadline (when there is one) and the response deadline (when there is
    /// one): nobody may join a challenge whose time is up.
    pub fn require_before_accept_deadline(&self) -> Result<()> {
        if self.accept_deadline != 0 {
            require!(
                Clock::get()?.unix_timestamp <= self.accept_deadline,
                ChallengeError::AcceptDeadlinePassed
            );
        }
        self.require_before_response_deadline()
    }

    /// Before the response deadline (always, when there is none).
    pub fn require_before_response_deadline(&self) -> Result<()> {
        if self.response_deadline != 0 {
            require!(
                Clock::get()?.unix_timestamp <= self.response_deadline,
                ChallengeError::ResponseDeadlinePassed
            );
        }
        Ok(())
    }

    /// Before the arbiter's deadline of the current dispute.
    pub fn require_before_arbiter_deadline(&self) -> Result<()> {
        require!(
            Clock::get()?.unix_timestamp <= self.arbiter_deadline,
            ChallengeError::ArbiterDeadlinePassed
        );
        Ok(())
    }

    /// Starts a dispute at `now`: the arbiter gets its full window from this moment, however
    /// close to the response deadline the second confirmation came.
    pub fn open_dispute(&mut self, now: i64) -> Result<()> {
        self.arbiter_deadline = now
            .checked_add(self.arbiter_window)
            .ok_or(ChallengeError::ArithmeticOverflow)?;
        Ok(())
    }

    /// What `expire` does at `now`, or why it may not:
    /// - awaiting a counterparty, after the accept deadline (or, without one, the response
    ///   deadline): refund;
    /// - accepted, after the response deadline: refund;
    /// - intent locked, after the response deadline: a single confirmation stands, none
    ///   refunds;
    /// - disputed, after the arbiter's deadline: refund.
    pub fn expiry(&self, now: i64) -> Result<Expiry> {
        let deadline = match self.status {
            Status::AwaitingCounterparty if self.accept_deadline != 0 => self.accept_deadline,
            Status::AwaitingCounterparty | Status::Accepted | Status::IntentLocked => {
                self.response_deadline
            }
            Status::Disputed => self.arbiter_deadline,
            _ => return err!(ChallengeError::InvalidStatus),
        };
        require!(deadline != 0, ChallengeError::NotEnforced);
        require!(now > deadline, ChallengeError::DeadlineNotReached);
        if self.status != Status::IntentLocked {
            return Ok(Expiry::Refund);
        }
        Ok(
            match (
                self.creator_state.confirmed,
                self.counterparty_state.confirmed,
            ) {
                (Some(outcome), None) | (None, Some(outcome)) => Expiry::Complete(outcome),
                _ => Expiry::Refund,
            },
        )
    }

    /// Records `amount` entering the vault.
    pub fn record_deposit(&mut self, amount: u64) -> Result<()> {
        self.deposited = self
            .deposited
            .checked_add(amount)
            .ok_or(ChallengeError::ArithmeticOverflow)?;
        Ok(())
    }

    /// Records `amount` leaving the vault.
    pub fn record_payout(&mut self, amount: u64) -> Result<()> {
        self.paid_out = self
            .paid_out
            .checked_add(amount)
            .ok_or(ChallengeError::ArithmeticOverflow)?;
        Ok(())
    }

    /// Tokens the vault must hold now.
    pub fn escrowed(&self) -> Result<u64> {
        self.deposited
            .checked_sub(self.paid_out)
            .ok_or_else(|| error!(ChallengeError::InvariantViolated))
    }

    /// Holds after every instruction that writes the challenge. `vault_balance` is the vault's
    /// token balance after the instruction's transfers, when the vault is open.
    ///
    /// The vault may hold *more* than is escrowed: anyone can transfer into a token account,
    /// and an equality would let one unsolicited base unit freeze every exit. The surplus is
    /// swept to the treasury when the vault closes.
    pub fn invariant(&self, vault_balance: Option<u64>) -> Result<()> {
        // Shares never exceed the whole.
        let shares = self
            .winner_share_bps
            .checked_add(self.treasury_share_bps)
            .ok_or(ChallengeError::InvalidShares)?;
        require!(shares <= BPS, ChallengeError::InvalidShares);

        // Tokens are conserved: the vault holds at least what came in minus what went out.
        let escrowed = self.escrowed()?;
        if let Some(balance) = vault_balance {
            require!(balance >= escrowed, ChallengeError::InvariantViolated);
        }
        // Every bonded challenge has a way out that needs nobody's cooperation: a response
        // deadline, and an arbiter deadline once disputed.
        require!(
            !self.is_bonded() || self.response_deadline != 0,
            ChallengeError::InvariantViolated
        );
        require!(
            self.status != Status::Disputed || self.arbiter_deadline != 0,
            ChallengeError::InvariantViolated
        );

        // Deposits are whole bonds, at most one per party.
        let bonds = [self.creator_state, self.counterparty_state]
            .iter()
            .filter(|p| p.bond_deposited)
            .count();
        let expected = self
            .bond_amount
            .checked_mul(u64::try_from(bonds).map_err(|_| ChallengeError::ArithmeticOverflow)?)
            .ok_or(ChallengeError::ArithmeticOverflow)?;
        require!(
            self.deposited == expected,
            ChallengeError::InvariantViolated
        );
        require!(
            self.is_bonded() || (bonds == 0 && self.vault == Pubkey::default()),
            ChallengeError::InvariantViolated
        );

        // Nobody is paid twice: once the challenge ends and its vault is closed, exactly the
        // deposits have gone out.
        if self.vault_closed {
            require!(escrowed == 0, ChallengeError::InvariantViolated);
        }
        if matches!(self.status, Status::Cancelled | Status::Expired) {
            require!(escrowed == 0, ChallengeError::InvariantViolated);
        }
        require!(
            (self.status == Status::Completed) == self.outcome.is_some(),
            ChallengeError::InvariantViolated
        );
        if self.mode == Mode::Solo {
            require!(
                self.counterparty.is_none() && !self.is_bonded(),
                ChallengeError::InvariantViolated
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Status::{self, *};

    const ALL: [Status; 8] = [
        Draft,
        AwaitingCounterparty,
        Accepted,
        IntentLocked,
        Disputed,
        Completed,
        Cancelled,
        Expired,
    ];

    #[test]
    fn the_transition_table_is_exactly_the_spec() {
        let allowed: Vec<(Status, Status)> = ALL
            .iter()
            .flat_map(|from| ALL.iter().map(move |to| (*from, *to)))
            .filter(|(from, to)| from.may_become(*to))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Draft, IntentLocked),
                (Draft, Cancelled),
                (AwaitingCounterparty, Accepted),
                (AwaitingCounterparty, Cancelled),
                (AwaitingCounterparty, Expired),
                (Accepted, IntentLocked),
                (Accepted, Cancelled),
                (Accepted, Expired),
                (IntentLocked, Disputed),
                (IntentLocked, Completed),
                (IntentLocked, Expired),
                (Disputed, Completed),
                (Disputed, Expired),
            ]
        );
    }

    #[test]
    fn terminal_statuses_have_no_way_out() {
        for from in ALL.iter().filter(|s| s.is_terminal()) {
            assert!(ALL.iter().all(|to| !from.may_become(*to)), "{from:?}");
        }
    }
}
