//! ChittyID namespaces: 3 or 4 uppercase ASCII letters (`CHI`, `ACME`).
//!
//! On-chain a namespace is stored as 4 bytes, zero-padded on the right for 3-letter names, so
//! PDA seeds have a fixed width.

use core::fmt;

/// A namespace in its fixed 4-byte on-chain encoding.
pub type NamespaceBytes = [u8; 4];

/// Why a namespace was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceError {
    /// Fewer than 3 or more than 4 letters.
    BadLength,
    /// A byte that is not `A`..=`Z` (or a non-zero byte after zero padding).
    NotUppercaseLetter,
}

impl fmt::Display for NamespaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadLength => f.write_str("a namespace has 3 or 4 letters"),
            Self::NotUppercaseLetter => f.write_str("a namespace uses only the letters A to Z"),
        }
    }
}

/// Encodes `name` (3 or 4 uppercase letters) into its 4-byte form.
pub fn encode(name: &str) -> Result<NamespaceBytes, NamespaceError> {
    let bytes = name.as_bytes();
    if !(3..=4).contains(&bytes.len()) {
        return Err(NamespaceError::BadLength);
    }
    let mut out = [0u8; 4];
    for (slot, byte) in out.iter_mut().zip(bytes) {
        if !byte.is_ascii_uppercase() {
            return Err(NamespaceError::NotUppercaseLetter);
        }
        *slot = *byte;
    }
    Ok(out)
}

/// Checks a 4-byte encoded namespace: 3 or 4 letters, then zero padding.
pub fn validate(bytes: &NamespaceBytes) -> Result<(), NamespaceError> {
    let letters = bytes.iter().take_while(|b| **b != 0).count();
    if letters < 3 {
        return Err(NamespaceError::BadLength);
    }
    let (head, tail) = bytes.split_at(letters);
    if !head.iter().all(u8::is_ascii_uppercase) || tail.iter().any(|b| *b != 0) {
        return Err(NamespaceError::NotUppercaseLetter);
    }
    Ok(())
}

/// The letters of a valid encoded namespace, without padding.
pub fn as_str(bytes: &NamespaceBytes) -> Result<&str, NamespaceError> {
    validate(bytes)?;
    let letters = bytes.iter().take_while(|b| **b != 0).count();
    core::str::from_utf8(&bytes[..letters]).map_err(|_| NamespaceError::NotUppercaseLetter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_and_four_letters_round_trip() {
        assert_eq!(encode("CHI"), Ok(*b"CHI\0"));
        assert_eq!(encode("ACME"), Ok(*b"ACME"));
        assert_eq!(as_str(b"CHI\0"), Ok("CHI"));
        assert_eq!(as_str(b"ACME"), Ok("ACME"));
    }

    #[test]
    fn malformed_names_are_rejected() {
        assert_eq!(encode("CH"), Err(NamespaceError::BadLength));
        assert_eq!(encode("CHIPS"), Err(NamespaceError::BadLength));
        assert_eq!(encode("chi"), Err(NamespaceError::NotUppercaseLetter));
        assert_eq!(validate(b"CH\0I"), Err(NamespaceError::BadLength));
        assert_eq!(validate(b"C1I\0"), Err(NamespaceError::NotUppercaseLetter));
        assert_eq!(validate(&[0; 4]), Err(NamespaceError::BadLength));
    }
}
