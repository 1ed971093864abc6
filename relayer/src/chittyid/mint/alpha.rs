//! The VRF input of a mint, defined once (SPEC §5.2 step 2) and used by the minter, the
//! reconciler and the offline verifier:
//!
//! ```text
//! alpha = SHA-256( "chitty-veil:chittyid:alpha:v1"
//!                ‖ round (u64 BE) ‖ randomness (32)
//!                ‖ content_hash (32)
//!                ‖ len(namespace) (u8) ‖ namespace
//!                ‖ entity type letter (u8)
//!                ‖ len(nonce) (u8) ‖ nonce
//!                ‖ counter (u32 BE) )
//! ```
//!
//! Every variable-length field is length-prefixed, so no two inputs encode alike. The
//! `counter` is the collision retry of step 3: 0 first, then 1, 2, … while the resulting
//! `(namespace, YYMM, sequence)` is taken.

use sha2::{Digest, Sha256};
use veil_chittyid::EntityType;

/// Domain separation tag.
pub const ALPHA_DOMAIN: &[u8] = b"chitty-veil:chittyid:alpha:v1";

/// The largest accepted request nonce, bytes.
pub const MAX_NONCE_LEN: usize = 64;

/// Everything alpha binds, except the counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlphaInput<'a> {
    /// drand round.
    pub round: u64,
    /// drand randomness (`SHA-256(signature)`).
    pub randomness: &'a [u8; 32],
    /// SHA-256 of the content.
    pub content_hash: &'a [u8; 32],
    /// Namespace (3–4 uppercase letters).
    pub namespace: &'a str,
    /// Entity type.
    pub entity: EntityType,
    /// The caller's request nonce (1–64 bytes).
    pub nonce: &'a [u8],
}

impl AlphaInput<'_> {
    fn prefix(&self) -> Sha256 {
        // Lengths fit a byte: namespaces are ≤ 4 letters and nonces ≤ MAX_NONCE_LEN (checked at
        // the API boundary); saturate rather than wrap if a caller skipped that check.
        let ns_len = u8::try_from(self.namespace.len()).unwrap_or(u8::MAX);
        let nonce_len = u8::try_from(self.nonce.len()).unwrap_or(u8::MAX);
        let mut entity = [0u8; 4];
        self.entity.letter().encode_utf8(&mut entity);
        Sha256::new()
            .chain_update(ALPHA_DOMAIN)
            .chain_update(self.round.to_be_bytes())
            .chain_update(self.randomness)
            .chain_update(self.content_hash)
            .chain_update([ns_len])
            .chain_update(self.namespace.as_bytes())
            .chain_update(&entity[..1])
            .chain_update([nonce_len])
            .chain_update(self.nonce)
    }

    /// `alpha` for a given collision counter.
    pub fn alpha(&self, counter: u32) -> [u8; 32] {
        self.prefix()
            .chain_update(counter.to_be_bytes())
            .finalize()
            .into()
    }

    /// A key identifying this input regardless of the counter (for counter allocation).
    pub fn base_key(&self) -> [u8; 32] {
        self.prefix().finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(nonce: &'a [u8], ns: &'a str) -> AlphaInput<'a> {
        AlphaInput {
            round: 7,
            randomness: &[1; 32],
            content_hash: &[2; 32],
            namespace: ns,
            entity: EntityType::Info,
            nonce,
        }
    }

    #[test]
    fn every_field_and_the_counter_change_alpha() {
        let base = input(b"n", "CHI");
        let a = base.alpha(0);
        assert_ne!(a, base.alpha(1));
        assert_ne!(a, input(b"m", "CHI").alpha(0));
        assert_ne!(a, input(b"n", "CHIT").alpha(0));
        assert_ne!(
            a,
            AlphaInput {
                round: 8,
                ..base.clone()
            }
            .alpha(0)
        );
        assert_ne!(
            a,
            AlphaInput {
                randomness: &[9; 32],
                ..base.clone()
            }
            .alpha(0)
        );
        assert_ne!(
            a,
            AlphaInput {
                content_hash: &[9; 32],
                ..base.clone()
            }
            .alpha(0)
        );
        assert_ne!(
            a,
            AlphaInput {
                entity: EntityType::Person,
                ..base.clone()
            }
            .alpha(0)
        );
        assert_eq!(a, input(b"n", "CHI").alpha(0), "deterministic");
    }

    #[test]
    fn length_prefixes_keep_fields_apart() {
        // "CHI" + nonce "AB" must differ from "CHIA" + nonce "B".
        assert_ne!(input(b"AB", "CHI").alpha(0), input(b"B", "CHIA").alpha(0));
    }
}
