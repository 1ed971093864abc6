//! EVM wallet signatures: EIP-191 `personal_sign` over a message, the signer recovered with
//! `k256` (RustCrypto's secp256k1) and Keccak-256 from `sha3`; addresses in EIP-55 form.

use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};
use sha3::{Digest, Keccak256};

/// A 20-byte EVM address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Address(pub [u8; 20]);

/// Why an address or a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EvmError {
    /// Not `0x` and 40 hex characters.
    #[error("not an EVM address: 0x and 40 hex characters")]
    BadAddress,
    /// Mixed case that is not the address's EIP-55 checksum.
    #[error("the address's mixed case is not its EIP-55 checksum")]
    BadChecksum,
    /// Not 65 bytes of hex (r ‖ s ‖ v), a `v` other than 0, 1, 27 or 28, or a high `s`.
    #[error("not an EIP-191 signature: 0x and 130 hex characters (r, s, v), with a low s")]
    BadSignature,
    /// No public key recovers from this signature and message.
    #[error("no signer recovers from this signature")]
    Unrecoverable,
}

/// Keccak-256.
pub fn keccak256(bytes: &[u8]) -> [u8; 32] {
    Keccak256::digest(bytes).into()
}

/// The EIP-191 (version 0x45) digest `personal_sign` signs:
/// Keccak-256("\x19Ethereum Signed Message:\n" ‖ decimal length ‖ message).
pub fn eip191_digest(message: &[u8]) -> [u8; 32] {
    let mut hasher = Keccak256::new();
    hasher.update(b"\x19Ethereum Signed Message:\n");
    hasher.update(message.len().to_string().as_bytes());
    hasher.update(message);
    hasher.finalize().into()
}

impl Address {
    /// The address of an uncompressed public key: the last 20 bytes of its Keccak-256.
    pub fn of(key: &VerifyingKey) -> Self {
        let point = key.to_encoded_point(false);
        let hash = keccak256(&point.as_bytes()[1..]);
        let mut out = [0u8; 20];
        out.copy_from_slice(&hash[12..]);
        Self(out)
    }

    /// Parses `0x…`: all-lowercase and all-uppercase hex are accepted as is (compared
    /// case-insensitively); mixed case must be the EIP-55 checksum.
    pub fn parse(text: &str) -> Result<Self, EvmError> {
        let hex_part = text
            .strip_prefix("0x")
            .filter(|h| h.len() == 40)
            .ok_or(EvmError::BadAddress)?;
        let bytes: [u8; 20] = hex::decode(hex_part)
            .map_err(|_| EvmError::BadAddress)?
            .try_into()
            .map_err(|_| EvmError::BadAddress)?;
        let address = Self(bytes);
        let mixed = hex_part.bytes().any(|b| b.is_ascii_lowercase())
            && hex_part.bytes().any(|b| b.is_ascii_uppercase());
        if mixed && address.checksummed() != text {
            return Err(EvmError::BadChecksum);
        }
        Ok(address)
    }

    /// EIP-55: each hex letter upper-cased where the matching nibble of Keccak-256 of the
    /// lowercase hex is 8 or more.
    pub fn checksummed(&self) -> String {
        let lower = hex::encode(self.0);
        let hash = keccak256(lower.as_bytes());
        let mut out = String::with_capacity(42);
        out.push_str("0x");
        for (i, c) in lower.chars().enumerate() {
            let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
            if c.is_ascii_alphabetic() && nibble >= 8 {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
        }
        out
    }
}

/// The signer of an EIP-191 `personal_sign` signature (`0x` ‖ r ‖ s ‖ v) over `message`.
pub fn recover(message: &[u8], signature_hex: &str) -> Result<Address, EvmError> {
    let bytes = signature_hex
        .strip_prefix("0x")
        .and_then(|h| hex::decode(h).ok())
        .filter(|b| b.len() == 65)
        .ok_or(EvmError::BadSignature)?;
    let signature = Signature::from_slice(&bytes[..64]).map_err(|_| EvmError::BadSignature)?;
    // EIP-2: a high s is the malleable twin of a valid signature; wallets never make one.
    if signature.normalize_s().is_some() {
        return Err(EvmError::BadSignature);
    }
    let v = match bytes[64] {
        v @ (0 | 1) => v,
        v @ (27 | 28) => v - 27,
        _ => return Err(EvmError::BadSignature),
    };
    let recovery = RecoveryId::from_byte(v).ok_or(EvmError::BadSignature)?;
    let key = VerifyingKey::recover_from_prehash(&eip191_digest(message), &signature, recovery)
        .map_err(|_| EvmError::Unrecoverable)?;
    Ok(Address::of(&key))
}

/// Signs `message` as `personal_sign` does (tests and the local demo).
pub fn sign(key: &k256::ecdsa::SigningKey, message: &[u8]) -> String {
    let (signature, recovery) = key
        .sign_prehash_recoverable(&eip191_digest(message))
        .expect("a 32-byte prehash always signs");
    let mut out = signature.to_bytes().to_vec();
    out.push(27 + recovery.to_byte());
    format!("0x{}", hex::encode(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eip55_vectors_from_the_eip() {
        for checksummed in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        ] {
            let address = Address::parse(checksummed).unwrap();
            assert_eq!(address.checksummed(), checksummed);
            assert_eq!(
                Address::parse(&checksummed.to_lowercase()).unwrap(),
                address
            );
        }
        assert_eq!(
            Address::parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"),
            Err(EvmError::BadChecksum)
        );
        for bad in [
            "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
            "0x5aae",
            "0xzzaeb6053f3e94c9b9a09f33669435e7ef1beaed",
        ] {
            assert_eq!(Address::parse(bad), Err(EvmError::BadAddress), "{bad}");
        }
    }

    #[test]
    fn a_signature_recovers_its_signer_and_nothing_else() {
        let key = k256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let me = Address::of(key.verifying_key());
        let signature = sign(&key, b"hello");
        assert_eq!(recover(b"hello", &signature).unwrap(), me);
        assert_ne!(recover(b"hellO", &signature).unwrap(), me);
        // v as 0/1 is accepted too.
        let mut raw = hex::decode(&signature[2..]).unwrap();
        raw[64] -= 27;
        assert_eq!(
            recover(b"hello", &format!("0x{}", hex::encode(&raw))).unwrap(),
            me
        );
        raw[64] = 29;
        assert_eq!(
            recover(b"hello", &format!("0x{}", hex::encode(&raw))),
            Err(EvmError::BadSignature)
        );
        assert_eq!(recover(b"hello", "0x1234"), Err(EvmError::BadSignature));
    }
}
