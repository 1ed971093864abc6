//! Proof of funds for a verified wallet: the balance is read on chain, compared with a
//! threshold, and only the outcome leaves the relayer. What is kept is a salted commitment to
//! the balance and where it was read.
//!
//! Solana: `native` (lamports, 9 decimals) or an SPL Token / Token-2022 mint, whose decimals
//! are read from the mint; the wallet's associated token account under the mint's program is
//! read in the same `getMultipleAccounts` call, so both are as of one slot.
//!
//! EVM: `native` (wei, 18 decimals, `eth_getBalance`) or an ERC-20 contract address, whose
//! `decimals()` and `balanceOf(wallet)` are called (`eth_call`) at one block number.

use anchor_lang::prelude::Pubkey;
use anchor_spl::{
    associated_token::get_associated_token_address_with_program_id,
    token_interface::{Mint, TokenAccount},
};
use sha2::{Digest, Sha256};

use super::error::GatekeeperError;

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolanaAsset {
    /// Lamports.
    Native,
    /// An SPL Token or Token-2022 mint.
    Mint(Pubkey),
}

impl SolanaAsset {
    /// `native`, or a base58 mint address.
    pub fn parse(text: &str) -> Result<Self, GatekeeperError> {
        if text == "native" {
            return Ok(Self::Native);
        }
        text.parse()
            .map(Self::Mint)
            .map_err(|_| GatekeeperError::AssetInvalid {
                asset: text.to_owned(),
                rule: "`native` or a base58 mint address",
            })
    }
}

/// `threshold` (a decimal such as `1.5`) in base units of an asset with `decimals`.
pub fn base_units(threshold: &str, decimals: u8) -> Result<u128, GatekeeperError> {
    let bad = |rule: &'static str| GatekeeperError::AmountInvalid {
        amount: threshold.to_owned(),
        rule,
    };
    let (whole, fraction) = threshold.split_once('.').unwrap_or((threshold, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(bad("a decimal number such as `1.5`"));
    }
    if !whole
        .bytes()
        .chain(fraction.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return Err(bad("digits and at most one `.`, no sign"));
    }
    if fraction.len() > usize::from(decimals) {
        return Err(bad("no more fractional digits than the asset's decimals"));
    }
    let scale = 10u128
        .checked_pow(u32::from(decimals))
        .ok_or(bad("an asset with at most 38 decimals"))?;
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| bad("an amount that fits 128 bits"))?
    };
    let padded = format!("{fraction:0<width$}", width = usize::from(decimals));
    let fraction: u128 = if padded.is_empty() {
        0
    } else {
        padded.parse().map_err(|_| bad("digits"))?
    };
    whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(fraction))
        .ok_or(bad("an amount that fits 128 bits"))
}

/// `units` base units as a decimal in units of `10^decimals`, without trailing zeros
/// (`decimal(2_500_000, 6)` is `"2.5"`); [`base_units`] reads it back exactly.
pub fn decimal(units: u128, decimals: u8) -> String {
    // Past 38 decimals the scale exceeds every u128: the whole part is 0.
    let (whole, fraction) = match 10u128.checked_pow(u32::from(decimals)) {
        Some(scale) => (units / scale, units % scale),
        None => (0, units),
    };
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = format!("{fraction:0width$}", width = usize::from(decimals));
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// SHA-256(salt ‖ balance as 32 bytes big-endian): the commitment an attestation keeps.
pub fn balance_hash(salt: &[u8; 16], balance: &[u8; 32]) -> [u8; 32] {
    Sha256::new()
        .chain_update(salt)
        .chain_update(balance)
        .finalize()
        .into()
}

/// `value` as a 256-bit big-endian word.
pub fn wide(value: u128) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[16..].copy_from_slice(&value.to_be_bytes());
    out
}

/// A balance read on Solana.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    /// Base units, as a 256-bit big-endian word (big-endian words compare as numbers).
    pub balance: [u8; 32],
    /// The asset's decimals.
    pub decimals: u8,
    /// The slot (Solana) every account was read at or after, or the block (EVM).
    pub slot: u64,
}

/// Reads `wallet`'s balance of `asset`.
pub async fn read_solana(
    chain: &crate::platform::chain::ChainClient,
    wallet: &Pubkey,
    asset: SolanaAsset,
) -> Result<Read, GatekeeperError> {
    match asset {
        SolanaAsset::Native => {
            let (slot, accounts) = chain.accounts(&[*wallet]).await?;
            let lamports = accounts
                .first()
                .and_then(Option::as_ref)
                .map_or(0, |a| a.lamports);
            Ok(Read {
                balance: wide(u128::from(lamports)),
                decimals: 9,
                slot,
            })
        }
        SolanaAsset::Mint(mint) => {
            let not_a_mint = || GatekeeperError::AssetInvalid {
                asset: mint.to_string(),
                rule: "an SPL Token or Token-2022 mint",
            };
            // The mint's program decides where the wallet's token account is; read the mint
            // first to learn it, then both together for one slot.
            let (_, first) = chain.accounts(&[mint]).await?;
            let program = first
                .first()
                .and_then(Option::as_ref)
                .map(|a| a.owner)
                .filter(|owner| {
                    *owner == anchor_spl::token::ID || *owner == anchor_spl::token_2022::ID
                })
                .ok_or_else(not_a_mint)?;
            let holding = get_associated_token_address_with_program_id(wallet, &mint, &program);
            let (slot, accounts) = chain.accounts(&[mint, holding]).await?;
            let decimals = accounts
                .first()
                .and_then(Option::as_ref)
                .filter(|a| a.owner == program)
                .and_then(|a| {
                    use anchor_lang::AccountDeserialize;
                    Mint::try_deserialize(&mut a.data.as_slice()).ok()
                })
                .map(|m| m.decimals)
                .ok_or_else(not_a_mint)?;
            let balance = accounts
                .get(1)
                .and_then(Option::as_ref)
                .filter(|a| a.owner == program)
                .and_then(|a| {
                    use anchor_lang::AccountDeserialize;
                    TokenAccount::try_deserialize(&mut a.data.as_slice()).ok()
                })
                .filter(|t| t.owner == *wallet && t.mint == mint)
                .map_or(0, |t| t.amount);
            Ok(Read {
                balance: wide(u128::from(balance)),
                decimals,
                slot,
            })
        }
    }
}

/// Reads `wallet`'s balance of `asset` (`native` or an ERC-20 address) on an EVM network.
pub async fn read_evm(
    client: &crate::platform::evm::EvmClient,
    wallet: &super::evm::Address,
    asset: &str,
) -> Result<Read, GatekeeperError> {
    let block = client.block_number().await?;
    let holder = wallet.checksummed();
    if asset == "native" {
        return Ok(Read {
            balance: client.balance(&holder, block).await?,
            decimals: 18,
            slot: block,
        });
    }
    let not_erc20 = || GatekeeperError::AssetInvalid {
        asset: asset.to_owned(),
        rule: "`native` or an ERC-20 contract (decimals() and balanceOf())",
    };
    let token = super::evm::Address::parse(asset)
        .map_err(|_| not_erc20())?
        .checksummed();
    if client.code(&token, block).await?.is_empty() {
        return Err(not_erc20());
    }
    // decimals() and balanceOf(address): the ERC-20 selectors.
    let decimals = match client
        .call_contract(&token, &[0x31, 0x3c, 0xe5, 0x67], block)
        .await
    {
        Ok(word) if word.len() == 32 && word[..31].iter().all(|b| *b == 0) => word[31],
        Ok(_) | Err(crate::platform::evm::EvmRpcError::Refused { .. }) => return Err(not_erc20()),
        Err(other) => return Err(other.into()),
    };
    let mut call = vec![0x70, 0xa0, 0x82, 0x31];
    call.extend_from_slice(&[0u8; 12]);
    call.extend_from_slice(&wallet.0);
    let balance: [u8; 32] = match client.call_contract(&token, &call, block).await {
        Ok(word) => word.try_into().map_err(|_| not_erc20())?,
        Err(crate::platform::evm::EvmRpcError::Refused { .. }) => return Err(not_erc20()),
        Err(other) => return Err(other.into()),
    };
    Ok(Read {
        balance,
        decimals,
        slot: block,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_scale_exactly_or_are_refused() {
        assert_eq!(base_units("1.5", 6).unwrap(), 1_500_000);
        assert_eq!(base_units("0.000001", 6).unwrap(), 1);
        assert_eq!(base_units("2", 9).unwrap(), 2_000_000_000);
        assert_eq!(base_units(".5", 1).unwrap(), 5);
        assert_eq!(base_units("7.", 2).unwrap(), 700);
        for bad in [
            "",
            ".",
            "-1",
            "1.0000001",
            "1e3",
            "1,5",
            "1.2.3",
            " 1",
            "340282366920938463463374607431768211456",
        ] {
            assert!(
                matches!(
                    base_units(bad, 6),
                    Err(GatekeeperError::AmountInvalid { .. })
                ),
                "{bad:?}"
            );
        }
        let salt = [1u8; 16];
        assert_ne!(
            balance_hash(&salt, &wide(5)),
            balance_hash(&[2u8; 16], &wide(5))
        );
        assert_ne!(balance_hash(&salt, &wide(5)), balance_hash(&salt, &wide(6)));
        assert!(wide(u128::MAX) < [0xff; 32] && wide(6) > wide(5));
    }

    #[test]
    fn base_units_print_as_decimals_that_read_back_exactly() {
        for (units, decimals, text) in [
            (2_500_000u128, 6u8, "2.5"),
            (1, 6, "0.000001"),
            (10_000_000, 6, "10"),
            (0, 9, "0"),
            (7, 0, "7"),
            (u128::MAX, 18, "340282366920938463463.374607431768211455"),
        ] {
            assert_eq!(decimal(units, decimals), text);
            assert_eq!(base_units(text, decimals).unwrap(), units, "{text}");
        }
        // Past 38 decimals every u128 is a fraction.
        assert_eq!(decimal(5, 40), format!("0.{}5", "0".repeat(39)));
    }
}
