//! Identities, leaves and nullifiers, natively (SPEC §4).
//!
//! A user's secret is derived from a wallet signature over [`IDENTITY_MESSAGE`]; ed25519
//! signatures (and RFC 6979 ECDSA) are deterministic, so the secret can always be recovered
//! from the wallet. Nothing public (a wallet address or its hash) can recompute the secret, a
//! leaf's owner or a nullifier.

use sha2::{Digest, Sha512};
use veil_poseidon::{hash, Fr};

/// The message a wallet signs to derive its Chitty Veil identity. Changing it changes every
/// identity, so it is versioned.
pub const IDENTITY_MESSAGE: &[u8] =
    b"Chitty Veil identity v1\n\nSign to derive your private membership secret. This signature never leaves your device.";

/// The identity secret from a wallet's signature over [`IDENTITY_MESSAGE`].
pub fn secret_from_signature(signature: &[u8]) -> Fr {
    use ark_ff::PrimeField;
    let digest = Sha512::new()
        .chain_update(b"chitty-veil/identity-secret/v1")
        .chain_update(signature)
        .finalize();
    // 512 bits reduced mod r: statistically uniform.
    Fr::from_be_bytes_mod_order(&digest)
}

/// The message a wallet signs to register `commitment` (big-endian) on the track of the mint
/// whose base58 address is `mint`: the relayer checks it, the member's tools build it.
pub fn registration_message(mint: &str, commitment: &[u8; 32]) -> String {
    let hex: String = commitment.iter().map(|b| format!("{b:02x}")).collect();
    format!("Chitty Veil registration v1\nmint: {mint}\ncommitment: {hex}")
}

/// `identity_commitment = Poseidon(s)`.
pub fn commitment(secret: &Fr) -> Fr {
    hash(&[*secret])
}

/// `leaf = Poseidon(identity_commitment, token_id, track_id)`.
pub fn leaf(commitment: &Fr, token_id: &Fr, track_id: &Fr) -> Fr {
    hash(&[*commitment, *token_id, *track_id])
}

/// `nullifier = Poseidon(s, track_id, scope)`.
pub fn nullifier(secret: &Fr, track_id: &Fr, scope: &Fr) -> Fr {
    hash(&[*secret, *track_id, *scope])
}
