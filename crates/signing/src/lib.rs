//! HMAC request signing of the relayer's API: the canonical request, an API key's signing
//! secret, and the signature, shared by the relayer (which checks) and every client (which
//! signs), so that both sides build the same bytes (`docs/api-auth.md`).
//!
//! The canonical request is five lines joined by `\n` (no trailing newline):
//!
//! ```text
//! METHOD            upper case, e.g. POST
//! PATH_AND_QUERY    exactly as sent in the request line, e.g. /api/v2/chittyid/mint?x=1
//! TIMESTAMP         X-Timestamp: unix seconds, decimal, no sign or leading zeros
//! NONCE             X-Nonce: 16–128 characters of [A-Za-z0-9_-]
//! BODY_SHA256       lower-case hex SHA-256 of the body bytes (of the empty string if none)
//! ```
//!
//! and `X-Signature` is the lower-case hex HMAC-SHA256 of it under the signing secret.

use std::fmt;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

/// The timestamp header.
pub const HEADER_TIMESTAMP: &str = "x-timestamp";
/// The nonce header.
pub const HEADER_NONCE: &str = "x-nonce";
/// The signature header.
pub const HEADER_SIGNATURE: &str = "x-signature";
/// The API-key header (alternative to `Authorization: Bearer`).
pub const HEADER_API_KEY: &str = "x-api-key";
/// Shortest accepted nonce.
pub const NONCE_MIN_LEN: usize = 16;
/// Longest accepted nonce.
pub const NONCE_MAX_LEN: usize = 128;
/// The nonce grammar, as stated in errors.
pub const NONCE_RULE: &str = "16–128 characters of [A-Za-z0-9_-]";

/// One API key's HMAC signing secret. Redacted when formatted, zeroed on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Zeroizing<[u8; 32]>);

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret([redacted])")
    }
}

/// A signing secret that is not 64 hex characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a signing secret is 64 hex characters (32 bytes)")]
pub struct MalformedSigningSecret;

impl SigningSecret {
    /// Wraps 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Parses the hex form handed out by `keys create`.
    pub fn from_hex(hex_text: &str) -> Result<Self, MalformedSigningSecret> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(hex_text.trim(), &mut bytes[..])
            .map_err(|_| MalformedSigningSecret)?;
        Ok(Self(bytes))
    }

    /// The hex form (show it once, to the key's owner).
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0[..])
    }

    /// The bytes. Callers must not log them.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.0[..]).expect("HMAC takes any key length")
    }
}

/// The headers a signed request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `X-Timestamp`.
    pub timestamp: String,
    /// `X-Nonce`.
    pub nonce: String,
    /// `X-Signature`.
    pub signature: String,
}

impl SignedHeaders {
    /// `(name, value)` pairs, for any HTTP client.
    pub fn pairs(&self) -> [(&'static str, &str); 3] {
        [
            (HEADER_TIMESTAMP, &self.timestamp),
            (HEADER_NONCE, &self.nonce),
            (HEADER_SIGNATURE, &self.signature),
        ]
    }
}

/// The canonical request string that is signed (see the module docs).
pub fn canonical_request(
    method: &str,
    path_and_query: &str,
    timestamp: u64,
    nonce: &str,
    body: &[u8],
) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        path_and_query,
        timestamp,
        nonce,
        hex::encode(Sha256::digest(body)),
    )
}

/// Signs a request the way the relayer verifies it; returns the three headers to send.
///
/// `path_and_query` is the request target exactly as sent (`/api/v2/x?a=1`), `timestamp` is the
/// current unix time in seconds, and `nonce` must be fresh per request (see [`generate_nonce`]).
pub fn sign_request(
    method: &str,
    path_and_query: &str,
    body: &[u8],
    secret: &SigningSecret,
    timestamp: u64,
    nonce: &str,
) -> SignedHeaders {
    let mut mac = secret.mac();
    mac.update(canonical_request(method, path_and_query, timestamp, nonce, body).as_bytes());
    SignedHeaders {
        timestamp: timestamp.to_string(),
        nonce: nonce.to_owned(),
        signature: hex::encode(mac.finalize().into_bytes()),
    }
}

/// Whether `signature_hex` is the HMAC of this request under `secret`, compared in constant
/// time. Upper- or lower-case hex is accepted.
pub fn verify_signature(
    secret: &SigningSecret,
    method: &str,
    path_and_query: &str,
    timestamp: u64,
    nonce: &str,
    body: &[u8],
    signature_hex: &str,
) -> bool {
    let mut presented = [0u8; 32];
    if hex::decode_to_slice(signature_hex, &mut presented).is_err() {
        return false;
    }
    let mut mac = secret.mac();
    mac.update(canonical_request(method, path_and_query, timestamp, nonce, body).as_bytes());
    mac.verify_slice(&presented).is_ok()
}

/// Whether `nonce` is 16–128 characters of `[A-Za-z0-9_-]`.
pub fn is_valid_nonce(nonce: &str) -> bool {
    (NONCE_MIN_LEN..=NONCE_MAX_LEN).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Parses `X-Timestamp`: decimal unix seconds, no sign, no leading zeros (so that the server
/// signs back exactly the text the client signed).
pub fn parse_timestamp(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.len() <= 20
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical {
        text.parse().ok()
    } else {
        None
    }
}

/// A fresh random nonce: 32 hex characters (128 bits).
pub fn generate_nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SigningSecret {
        SigningSecret::from_bytes([7u8; 32])
    }

    #[test]
    fn signature_canonical_request_layout() {
        let c = canonical_request(
            "post",
            "/api/v2/x?a=1",
            1_700_000_000,
            "nonce-0123456789",
            b"",
        );
        assert_eq!(
            c,
            "POST\n/api/v2/x?a=1\n1700000000\nnonce-0123456789\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn signature_secrets_parse_from_hex_and_stay_redacted() {
        let a = secret();
        assert_eq!(SigningSecret::from_hex(&a.to_hex()).unwrap(), a);
        assert!(SigningSecret::from_hex("abcd").is_err());
        assert_eq!(format!("{a:?}"), "SigningSecret([redacted])");
    }

    #[test]
    fn signature_round_trip_and_tamper_detection() {
        let s = secret();
        let h = sign_request("POST", "/p?q=1", b"{}", &s, 100, "abcdefghijklmnop");
        assert_eq!(h.signature.len(), 64);
        let ok = |m: &str, p: &str, t: u64, n: &str, b: &[u8], sig: &str| {
            verify_signature(&s, m, p, t, n, b, sig)
        };
        assert!(ok(
            "POST",
            "/p?q=1",
            100,
            "abcdefghijklmnop",
            b"{}",
            &h.signature
        ));
        assert!(ok(
            "POST",
            "/p?q=1",
            100,
            "abcdefghijklmnop",
            b"{}",
            &h.signature.to_uppercase()
        ));
        assert!(!ok(
            "PUT",
            "/p?q=1",
            100,
            "abcdefghijklmnop",
            b"{}",
            &h.signature
        ));
        assert!(!ok(
            "POST",
            "/p?q=2",
            100,
            "abcdefghijklmnop",
            b"{}",
            &h.signature
        ));
        assert!(!ok(
            "POST",
            "/p?q=1",
            101,
            "abcdefghijklmnop",
            b"{}",
            &h.signature
        ));
        assert!(!ok(
            "POST",
            "/p?q=1",
            100,
            "abcdefghijklmnoq",
            b"{}",
            &h.signature
        ));
        assert!(!ok(
            "POST",
            "/p?q=1",
            100,
            "abcdefghijklmnop",
            b"{ }",
            &h.signature
        ));
        assert!(!ok("POST", "/p?q=1", 100, "abcdefghijklmnop", b"{}", "zz"));
        let other = SigningSecret::from_bytes([8u8; 32]);
        assert!(!verify_signature(
            &other,
            "POST",
            "/p?q=1",
            100,
            "abcdefghijklmnop",
            b"{}",
            &h.signature
        ));
    }

    #[test]
    fn signature_nonce_and_timestamp_grammar() {
        assert!(is_valid_nonce(&"a".repeat(16)));
        assert!(is_valid_nonce(&"Z9_-".repeat(32)));
        assert!(!is_valid_nonce(&"a".repeat(15)));
        assert!(!is_valid_nonce(&"a".repeat(129)));
        assert!(!is_valid_nonce("abcdefghijklmno="));
        assert!(!is_valid_nonce("abcdefghijklmn o"));
        assert!(is_valid_nonce(&generate_nonce()));
        assert_eq!(parse_timestamp("1700000000"), Some(1_700_000_000));
        assert_eq!(parse_timestamp("0"), Some(0));
        for bad in ["", "+1", "-1", "01", "1.5", " 1", "99999999999999999999999"] {
            assert_eq!(parse_timestamp(bad), None, "{bad:?}");
        }
    }
}
