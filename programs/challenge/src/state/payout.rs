//! Who receives what when a bonded challenge ends. Pure, checked arithmetic.

use anchor_lang::prelude::*;

use super::{Outcome, BPS};
use crate::error::ChallengeError;

/// Token amounts leaving the vault.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Payout {
    /// To the creator's token account.
    pub to_creator: u64,
    /// To the counterparty's token account.
    pub to_counterparty: u64,
    /// To the treasury's token account.
    pub to_treasury: u64,
}

impl Payout {
    /// Everything paid out.
    pub fn total(&self) -> Result<u64> {
        self.to_creator
            .checked_add(self.to_counterparty)
            .and_then(|v| v.checked_add(self.to_treasury))
            .ok_or(error!(ChallengeError::ArithmeticOverflow))
    }
}

/// `amount · bps / 10 000`, rounded down.
fn share(amount: u64, bps: u16) -> Result<u64> {
    let scaled = u128::from(amount)
        .checked_mul(u128::from(bps))
        .ok_or(ChallengeError::ArithmeticOverflow)?
        .checked_div(u128::from(BPS))
        .ok_or(ChallengeError::ArithmeticOverflow)?;
    u64::try_from(scaled).map_err(|_| error!(ChallengeError::ArithmeticOverflow))
}

/// The payout of a settled challenge in which both parties bonded `bond`.
///
/// - DRAW and NO_CONTEST refund both bonds.
/// - Otherwise the winner gets their own bond back plus the loser's bond minus the treasury's
///   share: `winner_bps` of it explicitly, and the remainder after both shares so that no dust
///   stays in the vault. The treasury gets `treasury_bps` of the loser's bond.
pub fn settle_payout(
    outcome: Outcome,
    bond: u64,
    winner_bps: u16,
    treasury_bps: u16,
) -> Result<Payout> {
    let total_bps = winner_bps
        .checked_add(treasury_bps)
        .ok_or(ChallengeError::InvalidShares)?;
    require!(total_bps <= BPS, ChallengeError::InvalidShares);
    let to_treasury = share(bond, treasury_bps)?;
    let winner_share = share(bond, winner_bps)?;
    let remainder = bond
        .checked_sub(to_treasury)
        .and_then(|v| v.checked_sub(winner_share))
        .ok_or(ChallengeError::ArithmeticOverflow)?;
    let to_winner = bond
        .checked_add(winner_share)
        .and_then(|v| v.checked_add(remainder))
        .ok_or(ChallengeError::ArithmeticOverflow)?;
    Ok(match outcome {
        Outcome::Draw | Outcome::NoContest => Payout {
            to_creator: bond,
            to_counterparty: bond,
            to_treasury: 0,
        },
        Outcome::CreatorWins => Payout {
            to_creator: to_winner,
            to_counterparty: 0,
            to_treasury,
        },
        Outcome::CounterpartyWins => Payout {
            to_creator: 0,
            to_counterparty: to_winner,
            to_treasury,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example_from_the_docs() {
        // 100 USDC bonds, winner 70%, treasury 20%: the 10% remainder also goes to the winner.
        let p = settle_payout(Outcome::CreatorWins, 100_000_000, 7_000, 2_000).unwrap();
        assert_eq!(p.to_creator, 180_000_000);
        assert_eq!(p.to_counterparty, 0);
        assert_eq!(p.to_treasury, 20_000_000);
        assert_eq!(p.total().unwrap(), 200_000_000);
    }

    #[test]
    fn every_outcome_pays_out_exactly_both_bonds() {
        for outcome in [
            Outcome::CreatorWins,
            Outcome::CounterpartyWins,
            Outcome::Draw,
            Outcome::NoContest,
        ] {
            for (bond, w, t) in [
                (1u64, 5_000u16, 5_000u16),
                (3, 3_333, 3_333),
                (u64::MAX / 2, 0, 10_000),
            ] {
                let p = settle_payout(outcome, bond, w, t).unwrap();
                assert_eq!(p.total().unwrap(), bond * 2, "{outcome:?} {bond} {w} {t}");
            }
        }
    }

    #[test]
    fn shares_above_the_whole_are_refused() {
        assert!(settle_payout(Outcome::Draw, 10, 9_000, 1_001).is_err());
    }
}
