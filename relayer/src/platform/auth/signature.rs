//! HMAC request signing: the per-key signing secret's derivation, over [`veil_signing`] (the
//! canonical request, signing and checking, shared with the clients).
//!
//! Each API key's signing secret is *derived*, never stored:
//! `signing_secret = HMAC-SHA256(hmac_master, "veil-signing-v1" ‖ key_id)`. Rotating the master
//! rotates every signing secret at once.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

pub use veil_signing::*;

use crate::platform::secrets::{SecretError, SecretName, SecretProvider};

type HmacSha256 = Hmac<Sha256>;

/// Domain separation of the signing-secret derivation.
pub const SIGNING_CONTEXT: &[u8] = b"veil-signing-v1";

/// The master secret from which every key's signing secret is derived (`HmacMaster`).
#[derive(Clone)]
pub struct SigningMaster(Zeroizing<[u8; 32]>);

impl fmt::Debug for SigningMaster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningMaster([redacted])")
    }
}

impl SigningMaster {
    /// Wraps a 32-byte master secret.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Reads `HmacMaster` (32 bytes, hex) from a provider.
    pub fn from_provider(secrets: &dyn SecretProvider) -> Result<Self, SecretError> {
        let secret = secrets.get(SecretName::HmacMaster)?;
        Ok(Self::new(
            secret.to_array::<32>(SecretName::HmacMaster.as_str())?,
        ))
    }

    /// The signing secret of `key_id`.
    pub fn derive(&self, key_id: &str) -> SigningSecret {
        let mut mac = HmacSha256::new_from_slice(&self.0[..]).expect("HMAC takes any key length");
        mac.update(SIGNING_CONTEXT);
        mac.update(key_id.as_bytes());
        SigningSecret::from_bytes(mac.finalize().into_bytes().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_derivation_is_per_key_and_matches_the_definition() {
        let master = SigningMaster::new([7u8; 32]);
        let a = master.derive("0123456789abcdef");
        let b = master.derive("fedcba9876543210");
        assert_ne!(a, b);
        let mut mac = HmacSha256::new_from_slice(&[7u8; 32]).unwrap();
        mac.update(b"veil-signing-v10123456789abcdef");
        assert_eq!(a.expose()[..], mac.finalize().into_bytes()[..]);
        assert_eq!(SigningSecret::from_hex(&a.to_hex()).unwrap(), a);
        assert!(SigningSecret::from_hex("abcd").is_err());
        assert_eq!(format!("{a:?}"), "SigningSecret([redacted])");
    }

    /// The worked example of `docs/api-auth.md`, byte for byte.
    #[test]
    fn signature_docs_worked_example() {
        let master: [u8; 32] = std::array::from_fn(|i| i as u8);
        let secret = SigningMaster::new(master).derive("0123456789abcdef");
        assert_eq!(
            secret.to_hex(),
            "80a0eab51db03e93c74a6be55dbe9e6cca44361de23b053d07592d9820ab71d7"
        );
        let body = br#"{"namespace":"CHI","entity_type":"I","trust_level":0,"content_hash":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}"#;
        assert_eq!(body.len(), 135);
        let nonce = "4f1c2a9e8b7d6c5a4f1c2a9e8b7d6c5a";
        let path = "/api/v2/chittyid/mint";
        assert_eq!(
            canonical_request("POST", path, 1_750_000_000, nonce, body),
            "POST\n/api/v2/chittyid/mint\n1750000000\n4f1c2a9e8b7d6c5a4f1c2a9e8b7d6c5a\n\
             feb675b0a933fc2c90daa9387ee73c6c5a65001fa12aa4231c624c4e92297f53"
        );
        let headers = sign_request("POST", path, body, &secret, 1_750_000_000, nonce);
        assert_eq!(
            headers.signature,
            "7e7799d4dbadbd86a084e01b88462d1659e7a3e67c69056b8f46678a88efc424"
        );
        assert_eq!(headers.timestamp, "1750000000");
    }
}
