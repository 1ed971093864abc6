//! ECVRF-EDWARDS25519-SHA512-TAI, RFC 9381 (suite `0x03`).
//!
//! The relayer derives each ChittyID's sequence from `beta`, and anyone holding the relayer's
//! public key can check with [`verify`] that `beta` really is the VRF output for the minting
//! input `alpha`, so the relayer cannot choose IDs. Tests pass RFC 9381's Appendix B.3 vectors.
//!
//! Keys are Ed25519 keys (RFC 8032): the secret scalar is the clamped first half of
//! `SHA-512(sk)`, and the nonce is derived from the second half, as in Ed25519.

use curve25519_dalek::{
    constants::ED25519_BASEPOINT_TABLE,
    edwards::{CompressedEdwardsY, EdwardsPoint},
    scalar::{clamp_integer, Scalar},
    traits::IsIdentity,
};
use sha2::{Digest, Sha512};

/// The suite string of ECVRF-EDWARDS25519-SHA512-TAI.
pub const SUITE: u8 = 0x03;
/// Proof length: `Gamma (32) ‖ c (16) ‖ s (32)`.
pub const PROOF_LEN: usize = 80;
/// Output length (SHA-512).
pub const OUTPUT_LEN: usize = 64;
const C_LEN: usize = 16;

/// Why a proof was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VrfError {
    /// The public key is not a valid point, or has small order.
    #[error("the VRF public key is not a valid prime-order point")]
    InvalidPublicKey,
    /// The proof is malformed (`Gamma` not a point, or `s` not reduced).
    #[error("the VRF proof is malformed")]
    MalformedProof,
    /// The proof does not verify for this key and input.
    #[error("the VRF proof does not verify")]
    InvalidProof,
}

/// A VRF key pair from a 32-byte Ed25519 secret key.
#[derive(Clone)]
pub struct SecretKey {
    scalar: Scalar,
    nonce_prefix: [u8; 32],
    public: [u8; 32],
}

impl SecretKey {
    /// Expands an Ed25519 secret key (RFC 8032 §5.1.5).
    pub fn from_bytes(sk: &[u8; 32]) -> Self {
        let h: [u8; 64] = Sha512::digest(sk).into();
        let mut lower = [0u8; 32];
        lower.copy_from_slice(&h[..32]);
        let scalar = Scalar::from_bytes_mod_order(clamp_integer(lower));
        let mut nonce_prefix = [0u8; 32];
        nonce_prefix.copy_from_slice(&h[32..]);
        let public = (&scalar * ED25519_BASEPOINT_TABLE).compress().to_bytes();
        Self {
            scalar,
            nonce_prefix,
            public,
        }
    }

    /// The public key, `x·B` encoded.
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// `pi = prove(sk, alpha)` (RFC 9381 §5.1).
    pub fn prove(&self, alpha: &[u8]) -> [u8; PROOF_LEN] {
        self.prove_with_output(alpha).0
    }

    /// `(pi, beta)`: the proof and its output in one pass. Equal to
    /// `(prove(alpha), proof_to_hash(prove(alpha)))`, but `beta` comes from `Gamma` directly
    /// instead of decoding it back from `pi`, and every point is compressed once.
    pub fn prove_with_output(&self, alpha: &[u8]) -> ([u8; PROOF_LEN], [u8; OUTPUT_LEN]) {
        let h = encode_to_curve(&self.public, alpha);
        let h_bytes = h.compress().to_bytes();
        let gamma = self.scalar * h;
        let gamma_bytes = gamma.compress().to_bytes();
        // Nonce (§5.4.2.2): SHA-512(second half of SHA-512(sk) ‖ h), reduced mod q.
        let k = Scalar::from_bytes_mod_order_wide(
            &Sha512::new()
                .chain_update(self.nonce_prefix)
                .chain_update(h_bytes)
                .finalize()
                .into(),
        );
        let c = challenge_bytes(&[
            &self.public,
            &h_bytes,
            &gamma_bytes,
            (&k * ED25519_BASEPOINT_TABLE).compress().as_bytes(),
            (k * h).compress().as_bytes(),
        ]);
        let s = k + c * self.scalar;
        let mut pi = [0u8; PROOF_LEN];
        pi[..32].copy_from_slice(&gamma_bytes);
        pi[32..48].copy_from_slice(&c.to_bytes()[..C_LEN]);
        pi[48..].copy_from_slice(&s.to_bytes());
        (pi, gamma_to_hash(&gamma))
    }
}

/// `encode_to_curve` with try-and-increment (§5.4.1.1), salted with the public key.
fn encode_to_curve(public: &[u8; 32], alpha: &[u8]) -> EdwardsPoint {
    for ctr in 0u8..=255 {
        let hash = Sha512::new()
            .chain_update([SUITE, 0x01])
            .chain_update(public)
            .chain_update(alpha)
            .chain_update([ctr, 0x00])
            .finalize();
        let mut candidate = [0u8; 32];
        candidate.copy_from_slice(&hash[..32]);
        if let Some(point) = CompressedEdwardsY(candidate).decompress() {
            return point.mul_by_cofactor();
        }
    }
    // Each try succeeds with probability ~1/2: 256 failures do not happen (2^-256).
    unreachable!("try-and-increment exhausted its counter")
}

/// `challenge_generation` (§5.4.3): the first 16 bytes of a SHA-512 over the points.
fn challenge(points: &[&EdwardsPoint; 5]) -> Scalar {
    let encoded = points.map(|p| p.compress().to_bytes());
    challenge_bytes(&[
        &encoded[0],
        &encoded[1],
        &encoded[2],
        &encoded[3],
        &encoded[4],
    ])
}

/// [`challenge`] over already-encoded points.
fn challenge_bytes(points: &[&[u8; 32]; 5]) -> Scalar {
    let mut hasher = Sha512::new().chain_update([SUITE, 0x02]);
    for point in points {
        hasher.update(point);
    }
    let digest = hasher.chain_update([0x00]).finalize();
    let mut c = [0u8; 32];
    c[..C_LEN].copy_from_slice(&digest[..C_LEN]);
    Scalar::from_bytes_mod_order(c)
}

/// `beta = proof_to_hash(pi)` (§5.2), without verifying the proof.
pub fn proof_to_hash(pi: &[u8; PROOF_LEN]) -> Result<[u8; OUTPUT_LEN], VrfError> {
    let (gamma, _, _) = decode_proof(pi)?;
    Ok(gamma_to_hash(&gamma))
}

/// `beta = SHA-512(suite ‖ 0x03 ‖ encode(8·Gamma) ‖ 0x00)` (§5.2).
fn gamma_to_hash(gamma: &EdwardsPoint) -> [u8; OUTPUT_LEN] {
    Sha512::new()
        .chain_update([SUITE, 0x03])
        .chain_update(gamma.mul_by_cofactor().compress().as_bytes())
        .chain_update([0x00])
        .finalize()
        .into()
}

fn decode_proof(pi: &[u8; PROOF_LEN]) -> Result<(EdwardsPoint, Scalar, Scalar), VrfError> {
    let mut gamma = [0u8; 32];
    gamma.copy_from_slice(&pi[..32]);
    let gamma = CompressedEdwardsY(gamma)
        .decompress()
        .ok_or(VrfError::MalformedProof)?;
    let mut c = [0u8; 32];
    c[..C_LEN].copy_from_slice(&pi[32..48]);
    let mut s = [0u8; 32];
    s.copy_from_slice(&pi[48..]);
    let s = Option::from(Scalar::from_canonical_bytes(s)).ok_or(VrfError::MalformedProof)?;
    Ok((gamma, Scalar::from_bytes_mod_order(c), s))
}

/// `verify(pk, pi, alpha)` (§5.3, with key validation): the VRF output `beta` if the proof is
/// valid.
pub fn verify(
    public: &[u8; 32],
    pi: &[u8; PROOF_LEN],
    alpha: &[u8],
) -> Result<[u8; OUTPUT_LEN], VrfError> {
    let y = CompressedEdwardsY(*public)
        .decompress()
        .ok_or(VrfError::InvalidPublicKey)?;
    if y.mul_by_cofactor().is_identity() {
        return Err(VrfError::InvalidPublicKey);
    }
    let (gamma, c, s) = decode_proof(pi)?;
    let h = encode_to_curve(public, alpha);
    let u = &s * ED25519_BASEPOINT_TABLE - c * y;
    let v = s * h - c * gamma;
    if challenge(&[&y, &h, &gamma, &u, &v]) != c {
        return Err(VrfError::InvalidProof);
    }
    proof_to_hash(pi)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex<const N: usize>(s: &str) -> [u8; N] {
        let bytes: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect();
        bytes.try_into().unwrap()
    }

    fn bytes(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 9381 Appendix B.3 (secret keys are RFC 8032's test keys 1-3).
    const VECTORS: [(&str, &str, &str, &str, &str); 3] = [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "8657106690b5526245a92b003bb079ccd1a92130477671f6fc01ad16f26f723f26f8a57ccaed74ee1b190bed1f479d9727d2d0f9b005a6e456a35d4fb0daab1268a1b0db10836d9826a528ca76567805",
            "90cf1df3b703cce59e2a35b925d411164068269d7b2d29f3301c03dd757876ff66b71dda49d2de59d03450451af026798e8f81cd2e333de5cdf4f3e140fdd8ae",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "f3141cd382dc42909d19ec5110469e4feae18300e94f304590abdced48aed5933bf0864a62558b3ed7f2fea45c92a465301b3bbf5e3e54ddf2d935be3b67926da3ef39226bbc355bdc9850112c8f4b02",
            "eb4440665d3891d668e7e0fcaf587f1b4bd7fbfe99d0eb2211ccec90496310eb5e33821bc613efb94db5e5b54c70a848a0bef4553a41befc57663b56373a5031",
        ),
        (
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "9bc0f79119cc5604bf02d23b4caede71393cedfbb191434dd016d30177ccbf8096bb474e53895c362d8628ee9f9ea3c0e52c7a5c691b6c18c9979866568add7a2d41b00b05081ed0f58ee5e31b3a970e",
            "645427e5d00c62a23fb703732fa5d892940935942101e456ecca7bb217c61c452118fec1219202a0edcf038bb6373241578be7217ba85a2687f7a0310b2df19f",
        ),
    ];

    #[test]
    fn rfc9381_vectors_prove_and_verify() {
        for (sk, pk, alpha, pi, beta) in VECTORS {
            let key = SecretKey::from_bytes(&hex(sk));
            assert_eq!(key.public_key(), hex::<32>(pk), "public key of {sk}");
            let proof = key.prove(&bytes(alpha));
            assert_eq!(proof, hex::<80>(pi), "proof for alpha {alpha:?}");
            assert_eq!(proof_to_hash(&proof).unwrap(), hex::<64>(beta));
            assert_eq!(verify(&hex(pk), &proof, &bytes(alpha)), Ok(hex::<64>(beta)));
            assert_eq!(
                key.prove_with_output(&bytes(alpha)),
                (hex::<80>(pi), hex::<64>(beta)),
                "the one-pass prover gives the same proof and output"
            );
        }
    }

    #[test]
    fn tampering_is_rejected() {
        let (sk, pk, alpha, pi, _) = VECTORS[1];
        let (pk, pi, alpha) = (hex::<32>(pk), hex::<80>(pi), bytes(alpha));
        assert_eq!(
            verify(&pk, &pi, b"another input"),
            Err(VrfError::InvalidProof)
        );
        let other = SecretKey::from_bytes(&[7; 32]).public_key();
        assert_eq!(verify(&other, &pi, &alpha), Err(VrfError::InvalidProof));
        // Any flipped bit of the proof is refused, one way or another.
        for byte in 0..PROOF_LEN {
            let mut bad = pi;
            bad[byte] ^= 0x10;
            assert!(verify(&pk, &bad, &alpha).is_err(), "byte {byte}");
        }
        // s at or above the group order is not canonical.
        let mut unreduced = pi;
        unreduced[48..].copy_from_slice(&[0xff; 32]);
        assert_eq!(
            verify(&pk, &unreduced, &alpha),
            Err(VrfError::MalformedProof)
        );
        // The identity is not a valid key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            verify(&identity, &pi, &alpha),
            Err(VrfError::InvalidPublicKey)
        );
        let _ = sk;
    }
}
