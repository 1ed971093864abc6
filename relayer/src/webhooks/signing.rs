//! Standard Webhooks signing (<https://www.standardwebhooks.com>): `webhook-signature` is
//! `v1,` and the base64 of HMAC-SHA256 over `"{webhook-id}.{webhook-timestamp}.{body}"`, keyed
//! with the bytes of the endpoint's secret (`whsec_` and their base64). Several signatures
//! are separated by spaces; a receiver accepts the message when any one verifies.
//!
//! An endpoint's secret is not stored: it is HMAC-SHA256(the relayer's HMAC master,
//! `"veil-webhook-v1" ‖ endpoint id ‖ generation`), so a copy of the database signs nothing.

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

/// The prefix of a secret's text form.
pub const SECRET_PREFIX: &str = "whsec_";

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length.
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key"))
}

/// The signing key of `endpoint`'s secret `generation`.
pub fn endpoint_key(master: &[u8; 32], endpoint: Uuid, generation: i32) -> [u8; 32] {
    let mut m = mac(master);
    m.update(b"veil-webhook-v1");
    m.update(endpoint.as_bytes());
    m.update(&generation.to_be_bytes());
    m.finalize().into_bytes().into()
}

/// `whsec_` and the key's base64: what the endpoint's owner is shown once.
pub fn secret_text(key: &[u8; 32]) -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The key bytes of a `whsec_…` secret.
pub fn parse_secret(text: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(text.strip_prefix(SECRET_PREFIX).unwrap_or(text))
        .ok()
}

/// One signature entry, `v1,<base64>`.
pub fn sign(key: &[u8], message_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut m = mac(key);
    m.update(message_id.as_bytes());
    m.update(b".");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    format!("v1,{}", STANDARD.encode(m.finalize().into_bytes()))
}

/// The `webhook-signature` header value: one entry per key, space-separated.
pub fn signature_header(
    keys: &[[u8; 32]],
    message_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    keys.iter()
        .map(|key| sign(key, message_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specifications_example_signature() {
        // The example in the Standard Webhooks specification (and every official library's
        // tests).
        let key = parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_derived_per_endpoint_and_generation() {
        let master = [7u8; 32];
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_ne!(endpoint_key(&master, a, 1), endpoint_key(&master, b, 1));
        assert_ne!(endpoint_key(&master, a, 1), endpoint_key(&master, a, 2));
        let key = endpoint_key(&master, a, 1);
        assert_eq!(parse_secret(&secret_text(&key)).unwrap(), key);
        let both = signature_header(&[key, endpoint_key(&master, a, 2)], "msg_1", 5, b"{}");
        assert_eq!(both.split(' ').count(), 2);
        assert!(both.split(' ').all(|s| s.starts_with("v1,")));
    }
}
