//! BN254 scalar-field membership for 32-byte big-endian values.
//!
//! Roots, nullifiers, track ids, scopes and signal hashes are Groth16 public inputs. A value at
//! or above the field modulus would be silently reduced by a verifier, so two different byte
//! strings could name the same input. The programs therefore accept only canonical encodings.

/// The BN254 scalar-field modulus `r`, big-endian.
///
/// `r = 21888242871839275222246405745257275088548364400416034343698204186575808495617`.
pub const BN254_MODULUS_BE: [u8; 32] = [
    0x30, 0x64, 0x4e, 0x72, 0xe1, 0x31, 0xa0, 0x29, 0xb8, 0x50, 0x45, 0xb6, 0x81, 0x81, 0x58, 0x5d,
    0x28, 0x33, 0xe8, 0x48, 0x79, 0xb9, 0x70, 0x91, 0x43, 0xe1, 0xf5, 0x93, 0xf0, 0x00, 0x00, 0x01,
];

/// Whether `value` (big-endian) is a canonical BN254 scalar, i.e. strictly below the modulus.
pub fn is_canonical_scalar(value: &[u8; 32]) -> bool {
    // Big-endian byte arrays compare lexicographically in numeric order.
    value < &BN254_MODULUS_BE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_and_above_are_rejected() {
        assert!(!is_canonical_scalar(&BN254_MODULUS_BE));
        assert!(!is_canonical_scalar(&[0xff; 32]));
        let mut just_below = BN254_MODULUS_BE;
        just_below[31] = 0x00;
        assert!(is_canonical_scalar(&just_below));
        assert!(is_canonical_scalar(&[0; 32]));
    }
}
