//! drand beacons, verified.
//!
//! A ChittyID is minted from the latest drand **quicknet** beacon (SPEC §5.2): period 3 s,
//! scheme `bls-unchained-g1-rfc9380` (signatures on G1 over `SHA-256(round)`, the group key on
//! G2). [`ChainConfig::quicknet`] pins the chain hash and group public key, so a beacon from any
//! other network, or a forged one, fails [`ChainConfig::verify`]. The randomness is
//! `SHA-256(signature)` and is recomputed, never trusted.
//!
//! The HTTP client (caching until the next round, failover across relays, timeouts and a
//! circuit breaker) belongs to the relayer; this crate is what every copy of a beacon is checked
//! with, including the offline `verify` CLI.

use drand_verify::{derive_randomness, G2PubkeyRfc, Pubkey};
use serde::{Deserialize, Serialize};

/// The only scheme we accept.
pub const SCHEME_QUICKNET: &str = "bls-unchained-g1-rfc9380";

/// A drand chain's fixed parameters (its `/info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainConfig {
    /// Chain hash, hex (the `/{chain}/…` path segment).
    pub chain_hash: String,
    /// The group public key: 96 bytes, compressed G2.
    pub public_key: [u8; 96],
    /// Seconds between rounds.
    pub period: u64,
    /// Unix time of round 1.
    pub genesis_time: u64,
    /// Signature scheme.
    pub scheme: String,
}

/// The `/info` document of a chain, as served over HTTP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainInfo {
    /// Group public key, hex.
    pub public_key: String,
    /// Seconds between rounds.
    pub period: u64,
    /// Unix time of round 1.
    pub genesis_time: u64,
    /// Chain hash, hex.
    pub hash: String,
    /// Signature scheme.
    #[serde(rename = "schemeID")]
    pub scheme_id: String,
}

/// A beacon as served by `/{chain}/public/{round|latest}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beacon {
    /// Round number.
    pub round: u64,
    /// `SHA-256(signature)`, hex (recomputed by [`ChainConfig::verify`], never trusted).
    pub randomness: String,
    /// BLS signature, hex (48 bytes, compressed G1).
    pub signature: String,
}

/// A beacon whose signature verified under a pinned chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBeacon {
    /// Round number.
    pub round: u64,
    /// `SHA-256(signature)`.
    pub randomness: [u8; 32],
    /// The signature.
    pub signature: Vec<u8>,
}

/// Why a chain or beacon was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BeaconError {
    /// The chain's `/info` differs from the pinned configuration.
    #[error("chain info does not match the pinned chain ({0} differs)")]
    ChainMismatch(&'static str),
    /// A hex field is not hex of the right length.
    #[error("beacon field {0} is not valid hex of the expected length")]
    BadEncoding(&'static str),
    /// The BLS signature does not verify for this round under the pinned key.
    #[error("the beacon's BLS signature does not verify for round {0}")]
    InvalidSignature(u64),
    /// The advertised randomness is not `SHA-256(signature)`.
    #[error("the beacon's randomness is not the hash of its signature")]
    RandomnessMismatch,
    /// Round 0 does not exist.
    #[error("round 0 does not exist")]
    RoundZero,
}

fn decode_hex(s: &str, field: &'static str) -> Result<Vec<u8>, BeaconError> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(BeaconError::BadEncoding(field));
    }
    Ok((0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_default())
        .collect())
}

impl ChainConfig {
    /// The League of Entropy **quicknet** network.
    pub fn quicknet() -> Self {
        let key = decode_hex(
            "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a",
            "public_key",
        )
        .expect("pinned key is hex");
        let mut public_key = [0u8; 96];
        public_key.copy_from_slice(&key);
        Self {
            chain_hash: "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971".into(),
            public_key,
            period: 3,
            genesis_time: 1_692_803_367,
            scheme: SCHEME_QUICKNET.into(),
        }
    }

    /// Checks a relay's `/info` against the pinned parameters, so a relay serving another
    /// network is refused before any of its beacons is used.
    pub fn check_info(&self, info: &ChainInfo) -> Result<(), BeaconError> {
        if info.hash != self.chain_hash {
            return Err(BeaconError::ChainMismatch("hash"));
        }
        if decode_hex(&info.public_key, "public_key")? != self.public_key {
            return Err(BeaconError::ChainMismatch("public_key"));
        }
        if info.period != self.period {
            return Err(BeaconError::ChainMismatch("period"));
        }
        if info.genesis_time != self.genesis_time {
            return Err(BeaconError::ChainMismatch("genesis_time"));
        }
        if info.scheme_id != self.scheme {
            return Err(BeaconError::ChainMismatch("schemeID"));
        }
        Ok(())
    }

    /// Verifies `beacon`'s signature for its round under the pinned key, and that its
    /// randomness is the hash of the signature.
    pub fn verify(&self, beacon: &Beacon) -> Result<VerifiedBeacon, BeaconError> {
        if beacon.round == 0 {
            return Err(BeaconError::RoundZero);
        }
        let signature = decode_hex(&beacon.signature, "signature")?;
        if signature.len() != 48 {
            return Err(BeaconError::BadEncoding("signature"));
        }
        let key = G2PubkeyRfc::from_fixed(self.public_key)
            .map_err(|_| BeaconError::ChainMismatch("public_key"))?;
        let valid = key
            .verify(beacon.round, b"", &signature)
            .map_err(|_| BeaconError::InvalidSignature(beacon.round))?;
        if !valid {
            return Err(BeaconError::InvalidSignature(beacon.round));
        }
        let randomness = derive_randomness(&signature);
        if decode_hex(&beacon.randomness, "randomness")? != randomness {
            return Err(BeaconError::RandomnessMismatch);
        }
        Ok(VerifiedBeacon {
            round: beacon.round,
            randomness,
            signature,
        })
    }

    /// The latest round at `unix_time` (0 before genesis).
    pub fn round_at(&self, unix_time: u64) -> u64 {
        match unix_time.checked_sub(self.genesis_time) {
            Some(elapsed) => elapsed / self.period + 1,
            None => 0,
        }
    }

    /// Unix time at which `round` is published.
    pub fn round_time(&self, round: u64) -> Option<u64> {
        round
            .checked_sub(1)?
            .checked_mul(self.period)?
            .checked_add(self.genesis_time)
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    /// Quicknet round 123 as published by the drand relays
    /// (`/52db9ba7…c84e971/public/123`).
    const ROUND_123_SIGNATURE: &str = "b75c69d0b72a5d906e854e808ba7e2accb1542ac355ae486d591aa9d43765482e26cd02df835d3546d23c4b13e0dfc92";

    fn round_123() -> Beacon {
        let signature = decode_hex(ROUND_123_SIGNATURE, "signature").unwrap();
        let randomness: [u8; 32] = Sha256::digest(&signature).into();
        Beacon {
            round: 123,
            randomness: randomness.iter().map(|b| format!("{b:02x}")).collect(),
            signature: ROUND_123_SIGNATURE.into(),
        }
    }

    #[test]
    fn a_real_quicknet_beacon_verifies() {
        let verified = ChainConfig::quicknet().verify(&round_123()).unwrap();
        assert_eq!(verified.round, 123);
        assert_eq!(
            verified.randomness.to_vec(),
            Sha256::digest(verified.signature.as_slice()).to_vec()
        );
    }

    #[test]
    fn forged_beacons_are_refused() {
        let chain = ChainConfig::quicknet();
        let mut other_round = round_123();
        other_round.round = 124;
        assert_eq!(
            chain.verify(&other_round),
            Err(BeaconError::InvalidSignature(124))
        );

        let mut flipped = round_123();
        let mut sig = decode_hex(&flipped.signature, "signature").unwrap();
        sig[10] ^= 1;
        flipped.signature = sig.iter().map(|b| format!("{b:02x}")).collect();
        assert!(matches!(
            chain.verify(&flipped),
            Err(BeaconError::InvalidSignature(123))
        ));

        let mut lying = round_123();
        lying.randomness = "00".repeat(32);
        assert_eq!(chain.verify(&lying), Err(BeaconError::RandomnessMismatch));

        let mut short = round_123();
        short.signature.truncate(94);
        assert_eq!(
            chain.verify(&short),
            Err(BeaconError::BadEncoding("signature"))
        );
        let mut zero = round_123();
        zero.round = 0;
        assert_eq!(chain.verify(&zero), Err(BeaconError::RoundZero));

        // Another network's key refuses quicknet's signature.
        let mut other_chain = chain.clone();
        other_chain.public_key[95] ^= 1;
        assert!(other_chain.verify(&round_123()).is_err());
    }

    #[test]
    fn relays_of_another_network_are_refused_by_their_info() {
        let chain = ChainConfig::quicknet();
        let info: ChainInfo = serde_json::from_str(&format!(
            r#"{{"public_key":"{}","period":3,"genesis_time":1692803367,"hash":"{}","groupHash":"f477d5c89f21a17c863a7f937c6a6d15859414d2be09cd448d4279af331c5d3e","schemeID":"bls-unchained-g1-rfc9380","metadata":{{"beaconID":"quicknet"}}}}"#,
            chain.public_key.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            chain.chain_hash
        ))
        .unwrap();
        assert_eq!(chain.check_info(&info), Ok(()));
        let mut wrong = info.clone();
        wrong.period = 30;
        assert_eq!(
            chain.check_info(&wrong),
            Err(BeaconError::ChainMismatch("period"))
        );
        let mut wrong = info;
        wrong.scheme_id = "pedersen-bls-chained".into();
        assert_eq!(
            chain.check_info(&wrong),
            Err(BeaconError::ChainMismatch("schemeID"))
        );
    }

    #[test]
    fn rounds_and_times_agree() {
        let chain = ChainConfig::quicknet();
        assert_eq!(chain.round_at(chain.genesis_time - 1), 0);
        assert_eq!(chain.round_at(chain.genesis_time), 1);
        assert_eq!(chain.round_time(123), Some(chain.genesis_time + 366));
        assert_eq!(chain.round_at(chain.genesis_time + 366), 123);
        assert_eq!(chain.round_at(chain.genesis_time + 368), 123);
        assert_eq!(chain.round_time(0), None);
        assert_eq!(chain.round_time(u64::MAX), None);
    }
}
