//! The signed provisional record: what the fallback minter issues and what the relayer's
//! reconciliation imports (SPEC §5.5).
//!
//! A [`ProvisionalRecord`] is plain JSON on the wire. Every field but `signature` is covered by
//! an Ed25519 signature of the fallback's own key over [`ProvisionalRecord::signing_bytes`], a
//! domain-separated, length-prefixed encoding:
//!
//! ```text
//! lp(SIGNING_DOMAIN)
//! ‖ u64be(seq_no)
//! ‖ lp(provisional_id) ‖ lp(namespace) ‖ lp(entity_type)
//! ‖ u8(trust_level)
//! ‖ lp(content_hash) ‖ lp(request_nonce)
//! ‖ i64be(issued_at)
//! ‖ lp(public_key)
//!
//! lp(s) = u64be(byte length of s) ‖ the UTF-8 bytes of s
//! ```
//!
//! Strings are signed exactly as they travel (hex fields in lowercase), so a change to any
//! character of any field breaks the signature.
//!
//! Records are made only by [`ProvisionalRecord::sign`], which refuses a draft that could not
//! verify, and checked by [`ProvisionalRecord::verify`] against a **pinned** public key: the key
//! in the record is never trusted on its own.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::{ChittyId, ChittyIdError, IssuerClass};

/// The domain separator that opens [`ProvisionalRecord::signing_bytes`]; a signature over a
/// record can never pass for a signature over anything else.
pub const SIGNING_DOMAIN: &[u8] = b"chitty-veil/fallback/provisional-record/v1";

/// The longest request nonce, in bytes.
pub const MAX_NONCE_LEN: usize = 64;

/// Why a provisional record was refused. Each variant names the rule broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvisionalError {
    /// `public_key` is not the pinned fallback key.
    #[error("the record's public_key is not the pinned fallback key")]
    WrongKey,
    /// `signature` is not an Ed25519 signature of the signing bytes under the pinned key.
    #[error("the signature does not verify over the record's signing bytes under the pinned key")]
    BadSignature,
    /// A field is not in its canonical encoding (lowercase hex of the right length, `seq_no`
    /// at least 1).
    #[error("field `{field}` is not in its canonical encoding")]
    BadEncoding {
        /// The field.
        field: &'static str,
    },
    /// `provisional_id` is a valid ChittyID but not of issuer class `F`.
    #[error("provisional_id is not a provisional (issuer `F`) ChittyID")]
    NotProvisional,
    /// A field disagrees with what `provisional_id` encodes (`issued_at` with its YYMM).
    #[error("field `{field}` does not match the provisional_id")]
    FieldMismatch {
        /// The field.
        field: &'static str,
    },
    /// `provisional_id` is not a valid ChittyID.
    #[error("provisional_id is not a valid ChittyID: {0}")]
    Id(#[from] ChittyIdError),
}

impl ProvisionalError {
    /// A stable name for the rule broken, for logs and API `details`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongKey => "PROVISIONAL_WRONG_KEY",
            Self::BadSignature => "PROVISIONAL_BAD_SIGNATURE",
            Self::BadEncoding { .. } => "PROVISIONAL_BAD_ENCODING",
            Self::NotProvisional => "PROVISIONAL_NOT_PROVISIONAL",
            Self::FieldMismatch { .. } => "PROVISIONAL_FIELD_MISMATCH",
            Self::Id(_) => "PROVISIONAL_INVALID_ID",
        }
    }
}

/// A provisional ChittyID as issued and signed by the fallback minter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionalRecord {
    /// The fallback's own monotonic counter, from 1; the export cursor.
    pub seq_no: u64,
    /// The provisional ID, `01-F-NNN-SSSSSSSS-T-YYMM-C-X`.
    pub provisional_id: String,
    /// The namespace (as in the ID).
    pub namespace: String,
    /// The entity type letter, one of `P L T E A I` (as in the ID).
    pub entity_type: String,
    /// The trust level, 0–9 (as in the ID).
    pub trust_level: u8,
    /// Lowercase hex of the 32-byte SHA-256 of the content.
    pub content_hash: String,
    /// Lowercase hex of the caller's nonce, 1–64 bytes.
    pub request_nonce: String,
    /// Unix seconds of issuance; its UTC month is the ID's YYMM.
    pub issued_at: i64,
    /// Lowercase hex of the fallback's Ed25519 verifying key (32 bytes).
    pub public_key: String,
    /// Lowercase hex of the Ed25519 signature (64 bytes) over [`Self::signing_bytes`].
    pub signature: String,
}

/// The fields of a record before it is signed; [`ProvisionalRecord::sign`] derives the rest
/// (namespace, entity type and trust level from the ID, the public key from the signing key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionalDraft {
    /// The fallback's counter, from 1.
    pub seq_no: u64,
    /// The provisional ID (issuer `F`).
    pub provisional_id: ChittyId,
    /// SHA-256 of the content.
    pub content_hash: [u8; 32],
    /// The caller's nonce, 1–64 bytes.
    pub request_nonce: Vec<u8>,
    /// Unix seconds; must fall in the ID's YYMM (UTC).
    pub issued_at: i64,
}

impl ProvisionalRecord {
    /// The canonical bytes the signature covers (see the module documentation).
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            SIGNING_DOMAIN.len()
                + self.provisional_id.len()
                + self.namespace.len()
                + self.entity_type.len()
                + self.content_hash.len()
                + self.request_nonce.len()
                + self.public_key.len()
                + 7 * 8
                + 8
                + 1
                + 8,
        );
        put_bytes(&mut out, SIGNING_DOMAIN);
        out.extend_from_slice(&self.seq_no.to_be_bytes());
        put_bytes(&mut out, self.provisional_id.as_bytes());
        put_bytes(&mut out, self.namespace.as_bytes());
        put_bytes(&mut out, self.entity_type.as_bytes());
        out.push(self.trust_level);
        put_bytes(&mut out, self.content_hash.as_bytes());
        put_bytes(&mut out, self.request_nonce.as_bytes());
        out.extend_from_slice(&self.issued_at.to_be_bytes());
        put_bytes(&mut out, self.public_key.as_bytes());
        out
    }

    /// Signs a draft with the fallback's key.
    ///
    /// Refuses, with the error [`Self::verify`] would give, a draft whose record could not
    /// verify: an ID not of issuer `F`, a `seq_no` of 0, a nonce outside 1–64 bytes, or an
    /// `issued_at` outside the ID's UTC month.
    pub fn sign(draft: ProvisionalDraft, key: &SigningKey) -> Result<Self, ProvisionalError> {
        let id = &draft.provisional_id;
        // The fallback issues only provisional IDs.
        if id.issuer() != IssuerClass::Fallback {
            return Err(ProvisionalError::NotProvisional);
        }
        // The export cursor starts after 0, so the first record is 1.
        if draft.seq_no == 0 {
            return Err(ProvisionalError::BadEncoding { field: "seq_no" });
        }
        if !(1..=MAX_NONCE_LEN).contains(&draft.request_nonce.len()) {
            return Err(ProvisionalError::BadEncoding {
                field: "request_nonce",
            });
        }
        // The ID's YYMM is the UTC month of issuance.
        if utc_year_month(draft.issued_at) != (id.year(), id.month()) {
            return Err(ProvisionalError::FieldMismatch { field: "issued_at" });
        }
        let mut record = Self {
            seq_no: draft.seq_no,
            provisional_id: id.to_string(),
            namespace: id.namespace().to_owned(),
            entity_type: id.entity().letter().to_string(),
            trust_level: id.trust(),
            content_hash: hex::encode(draft.content_hash),
            request_nonce: hex::encode(&draft.request_nonce),
            issued_at: draft.issued_at,
            public_key: hex::encode(key.verifying_key().as_bytes()),
            signature: String::new(),
        };
        record.signature = hex::encode(key.sign(&record.signing_bytes()).to_bytes());
        Ok(record)
    }

    /// Checks the record against the **pinned** fallback key and returns its parsed ID.
    ///
    /// In order: `public_key` is canonical hex and equals `pinned`; `signature` is canonical
    /// hex and verifies (strictly) over [`Self::signing_bytes`]; `seq_no`, `content_hash` and
    /// `request_nonce` are canonical; `provisional_id` parses, is of issuer `F`, and its
    /// namespace, entity type, trust level and YYMM match `namespace`, `entity_type`,
    /// `trust_level` and `issued_at`.
    pub fn verify(&self, pinned: &VerifyingKey) -> Result<ChittyId, ProvisionalError> {
        let public_key = decode_hex("public_key", &self.public_key, 32..=32)?;
        // Only the pinned key is trusted; the key the record carries is just a claim.
        if public_key.as_slice() != pinned.as_bytes() {
            return Err(ProvisionalError::WrongKey);
        }
        let signature = decode_hex("signature", &self.signature, 64..=64)?;
        let signature = Signature::from_slice(&signature)
            .map_err(|_| ProvisionalError::BadEncoding { field: "signature" })?;
        pinned
            .verify_strict(&self.signing_bytes(), &signature)
            .map_err(|_| ProvisionalError::BadSignature)?;

        if self.seq_no == 0 {
            return Err(ProvisionalError::BadEncoding { field: "seq_no" });
        }
        decode_hex("content_hash", &self.content_hash, 32..=32)?;
        decode_hex("request_nonce", &self.request_nonce, 1..=MAX_NONCE_LEN)?;

        let id: ChittyId = self.provisional_id.parse()?;
        if id.issuer() != IssuerClass::Fallback {
            return Err(ProvisionalError::NotProvisional);
        }
        // The denormalised fields restate the ID; they may not contradict it.
        if self.namespace != id.namespace() {
            return Err(ProvisionalError::FieldMismatch { field: "namespace" });
        }
        let mut letter = [0u8; 4];
        if self.entity_type.as_str() != id.entity().letter().encode_utf8(&mut letter) {
            return Err(ProvisionalError::FieldMismatch {
                field: "entity_type",
            });
        }
        if self.trust_level != id.trust() {
            return Err(ProvisionalError::FieldMismatch {
                field: "trust_level",
            });
        }
        if utc_year_month(self.issued_at) != (id.year(), id.month()) {
            return Err(ProvisionalError::FieldMismatch { field: "issued_at" });
        }
        Ok(id)
    }

    /// The content hash as bytes, if canonical.
    pub fn content_hash_bytes(&self) -> Result<[u8; 32], ProvisionalError> {
        let bytes = decode_hex("content_hash", &self.content_hash, 32..=32)?;
        let mut out = [0u8; 32];
        out.copy_from_slice(&bytes);
        Ok(out)
    }

    /// The request nonce as bytes, if canonical.
    pub fn request_nonce_bytes(&self) -> Result<Vec<u8>, ProvisionalError> {
        decode_hex("request_nonce", &self.request_nonce, 1..=MAX_NONCE_LEN)
    }
}

/// The `(year % 100, month)` of the UTC calendar month a unix time falls in: the ID's `YYMM`.
pub fn utc_year_month(unix_seconds: i64) -> (u8, u8) {
    // Civil-from-days (H. Hinnant), with March-based years so leap days fall last. Every step
    // stays far inside i64 for any input, because days = seconds / 86400.
    let days = unix_seconds.div_euclid(86_400) + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both values are in range by construction: 0..=99 and 1..=12.
    (year.rem_euclid(100) as u8, month as u8)
}

/// Appends `u64be(len) ‖ bytes`.
fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Decodes canonical (lowercase, even-length) hex whose byte length lies in `len`.
fn decode_hex(
    field: &'static str,
    s: &str,
    len: std::ops::RangeInclusive<usize>,
) -> Result<Vec<u8>, ProvisionalError> {
    let canonical = s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match hex::decode(s) {
        Ok(bytes) if canonical && len.contains(&bytes.len()) => Ok(bytes),
        _ => Err(ProvisionalError::BadEncoding { field }),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::EntityType;

    /// 2026-11-15T12:00:00Z.
    const NOV_2026: i64 = 1_794_744_000;

    /// An edit to a record, named by the field it touches.
    type Tamper = Box<dyn Fn(&mut ProvisionalRecord)>;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn id(issuer: IssuerClass, namespace: &str, entity: EntityType, trust: u8) -> ChittyId {
        ChittyId::new(issuer, namespace, "7K3M9QXP", entity, 26, 11, trust).expect("valid id")
    }

    fn draft() -> ProvisionalDraft {
        ProvisionalDraft {
            seq_no: 7,
            provisional_id: id(IssuerClass::Fallback, "CHI", EntityType::Info, 3),
            content_hash: [0xab; 32],
            request_nonce: vec![1, 2, 3],
            issued_at: NOV_2026,
        }
    }

    fn record() -> ProvisionalRecord {
        ProvisionalRecord::sign(draft(), &key(1)).expect("signs")
    }

    /// Re-signs a record after an edit, as a holder of the key would.
    fn resign(mut r: ProvisionalRecord, k: &SigningKey) -> ProvisionalRecord {
        r.signature = hex::encode(k.sign(&r.signing_bytes()).to_bytes());
        r
    }

    #[test]
    fn sign_then_verify_returns_the_id() {
        let r = record();
        let parsed = r.verify(&key(1).verifying_key()).expect("verifies");
        assert_eq!(parsed.to_string(), r.provisional_id);
        assert_eq!(parsed.issuer(), IssuerClass::Fallback);
        assert_eq!(r.namespace, "CHI");
        assert_eq!(r.entity_type, "I");
        assert_eq!(r.trust_level, 3);
        assert_eq!(r.content_hash, "ab".repeat(32));
        assert_eq!(r.request_nonce, "010203");
        assert_eq!(r.public_key, hex::encode(key(1).verifying_key().as_bytes()));
        assert_eq!(r.content_hash_bytes(), Ok([0xab; 32]));
        assert_eq!(r.request_nonce_bytes(), Ok(vec![1, 2, 3]));
    }

    #[test]
    fn signing_bytes_open_with_the_domain_and_are_length_prefixed() {
        let r = record();
        let bytes = r.signing_bytes();
        assert_eq!(&bytes[..8], &(SIGNING_DOMAIN.len() as u64).to_be_bytes());
        assert_eq!(&bytes[8..8 + SIGNING_DOMAIN.len()], SIGNING_DOMAIN);
        // Moving a character from one string field to the next changes the encoding.
        let mut shifted = r.clone();
        shifted.namespace = "CH".into();
        shifted.entity_type = "II".into();
        let mut base = r;
        base.namespace = "CHI".into();
        base.entity_type = "I".into();
        assert_ne!(shifted.signing_bytes(), base.signing_bytes());
    }

    #[test]
    fn tampering_any_signed_field_breaks_the_signature() {
        let pinned = key(1).verifying_key();
        let other_f = id(IssuerClass::Fallback, "CHI", EntityType::Info, 4).to_string();
        let tampers: Vec<(&str, Tamper)> = vec![
            ("seq_no", Box::new(|r| r.seq_no += 1)),
            (
                "provisional_id",
                Box::new(move |r| r.provisional_id = other_f.clone()),
            ),
            ("namespace", Box::new(|r| r.namespace = "CHX".into())),
            ("entity_type", Box::new(|r| r.entity_type = "P".into())),
            ("trust_level", Box::new(|r| r.trust_level = 4)),
            (
                "content_hash",
                Box::new(|r| r.content_hash = "cd".repeat(32)),
            ),
            (
                "request_nonce",
                Box::new(|r| r.request_nonce = "010204".into()),
            ),
            ("issued_at", Box::new(|r| r.issued_at += 1)),
        ];
        for (field, tamper) in tampers {
            let mut r = record();
            tamper(&mut r);
            assert_eq!(
                r.verify(&pinned),
                Err(ProvisionalError::BadSignature),
                "tampered {field}"
            );
        }
    }

    #[test]
    fn a_flipped_signature_bit_is_a_bad_signature() {
        let mut r = record();
        let mut sig = hex::decode(&r.signature).expect("hex");
        sig[10] ^= 1;
        r.signature = hex::encode(sig);
        assert_eq!(
            r.verify(&key(1).verifying_key()),
            Err(ProvisionalError::BadSignature)
        );
    }

    #[test]
    fn another_key_is_refused_even_when_its_signature_is_valid() {
        let other = key(2);
        let mut r = record();
        r.public_key = hex::encode(other.verifying_key().as_bytes());
        let r = resign(r, &other);
        // Valid under its own key, but not the pinned one.
        assert!(r.verify(&other.verifying_key()).is_ok());
        assert_eq!(
            r.verify(&key(1).verifying_key()),
            Err(ProvisionalError::WrongKey)
        );
        // The pinned key in the record, another key's signature.
        let mut forged = record();
        forged.signature = hex::encode(other.sign(&forged.signing_bytes()).to_bytes());
        assert_eq!(
            forged.verify(&key(1).verifying_key()),
            Err(ProvisionalError::BadSignature)
        );
    }

    #[test]
    fn non_canonical_encodings_are_named() {
        let k = key(1);
        let pinned = k.verifying_key();
        let cases: Vec<(&str, Tamper)> = vec![
            (
                "public_key",
                Box::new(|r| r.public_key = r.public_key.to_uppercase()),
            ),
            ("public_key", Box::new(|r| r.public_key.truncate(62))),
            ("signature", Box::new(|r| r.signature.truncate(126))),
            (
                "signature",
                Box::new(|r| r.signature.replace_range(..2, "zz")),
            ),
            ("seq_no", Box::new(|r| r.seq_no = 0)),
            (
                "content_hash",
                Box::new(|r| r.content_hash = r.content_hash.to_uppercase()),
            ),
            ("content_hash", Box::new(|r| r.content_hash = "ab".into())),
            (
                "request_nonce",
                Box::new(|r| r.request_nonce = String::new()),
            ),
            ("request_nonce", Box::new(|r| r.request_nonce = "0".into())),
            (
                "request_nonce",
                Box::new(|r| r.request_nonce = "00".repeat(65)),
            ),
        ];
        for (field, tamper) in cases {
            let mut r = record();
            tamper(&mut r);
            // Re-signed, so only the encoding rule can refuse it (a bad signature field
            // stays bad).
            let r = if field == "signature" {
                r
            } else {
                resign(r, &k)
            };
            assert_eq!(
                r.verify(&pinned),
                Err(ProvisionalError::BadEncoding { field }),
                "{field}"
            );
        }
    }

    #[test]
    fn signed_but_inconsistent_fields_are_mismatches() {
        let k = key(1);
        let pinned = k.verifying_key();
        let cases: Vec<(&str, Tamper)> = vec![
            ("namespace", Box::new(|r| r.namespace = "ABC".into())),
            ("entity_type", Box::new(|r| r.entity_type = "P".into())),
            ("entity_type", Box::new(|r| r.entity_type = "i".into())),
            ("trust_level", Box::new(|r| r.trust_level = 9)),
            // One second before November 2026 (UTC).
            ("issued_at", Box::new(|r| r.issued_at = 1_793_491_199)),
        ];
        for (field, tamper) in cases {
            let mut r = record();
            tamper(&mut r);
            assert_eq!(
                resign(r, &k).verify(&pinned),
                Err(ProvisionalError::FieldMismatch { field }),
                "{field}"
            );
        }
    }

    #[test]
    fn ids_that_are_not_provisional_or_not_ids_are_refused() {
        let k = key(1);
        let pinned = k.verifying_key();
        let mut r = record();
        r.provisional_id = id(IssuerClass::Authoritative, "CHI", EntityType::Info, 3).to_string();
        assert_eq!(
            resign(r, &k).verify(&pinned),
            Err(ProvisionalError::NotProvisional)
        );
        let mut r = record();
        r.provisional_id = "01-F-CHI-7K3M9QXP-I-2611-0-3".into();
        let err = resign(r, &k).verify(&pinned).unwrap_err();
        assert!(matches!(
            err,
            ProvisionalError::Id(ChittyIdError::ChecksumMismatch { .. })
        ));
        assert_eq!(err.code(), "PROVISIONAL_INVALID_ID");
    }

    #[test]
    fn sign_refuses_drafts_that_could_not_verify() {
        let k = key(1);
        let mut d = draft();
        d.provisional_id = id(IssuerClass::Authoritative, "CHI", EntityType::Info, 3);
        assert_eq!(
            ProvisionalRecord::sign(d, &k),
            Err(ProvisionalError::NotProvisional)
        );
        let mut d = draft();
        d.seq_no = 0;
        assert_eq!(
            ProvisionalRecord::sign(d, &k),
            Err(ProvisionalError::BadEncoding { field: "seq_no" })
        );
        for nonce in [vec![], vec![0; MAX_NONCE_LEN + 1]] {
            let mut d = draft();
            d.request_nonce = nonce;
            assert_eq!(
                ProvisionalRecord::sign(d, &k),
                Err(ProvisionalError::BadEncoding {
                    field: "request_nonce"
                })
            );
        }
        let mut d = draft();
        d.request_nonce = vec![0; MAX_NONCE_LEN];
        assert!(ProvisionalRecord::sign(d, &k).is_ok());
        let mut d = draft();
        d.issued_at = 0;
        assert_eq!(
            ProvisionalRecord::sign(d, &k),
            Err(ProvisionalError::FieldMismatch { field: "issued_at" })
        );
    }

    #[test]
    fn the_json_shape_is_the_wire_contract() {
        let r = record();
        let json = serde_json::to_value(&r).expect("serialises");
        let keys: Vec<&str> = json
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = vec![
            "seq_no",
            "provisional_id",
            "namespace",
            "entity_type",
            "trust_level",
            "content_hash",
            "request_nonce",
            "issued_at",
            "public_key",
            "signature",
        ];
        expected.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, expected);
        let back: ProvisionalRecord = serde_json::from_value(json).expect("deserialises");
        assert_eq!(back, r);
    }

    #[test]
    fn utc_year_month_of_known_instants() {
        assert_eq!(utc_year_month(0), (70, 1));
        assert_eq!(utc_year_month(-1), (69, 12));
        assert_eq!(utc_year_month(951_782_400), (0, 2)); // 2000-02-29
        assert_eq!(utc_year_month(951_868_799), (0, 2)); // 2000-02-29T23:59:59
        assert_eq!(utc_year_month(951_868_800), (0, 3)); // 2000-03-01
        assert_eq!(utc_year_month(NOV_2026), (26, 11));
        assert_eq!(utc_year_month(1_793_491_200), (26, 11)); // 2026-11-01T00:00:00
        assert_eq!(utc_year_month(1_793_491_199), (26, 10));
        // Every input is defined.
        let _ = utc_year_month(i64::MIN);
        let _ = utc_year_month(i64::MAX);
    }

    proptest! {
        #[test]
        fn utc_year_month_agrees_with_chrono(secs in -62_000_000_000i64..250_000_000_000i64) {
            use chrono::Datelike;
            let t = chrono::DateTime::from_timestamp(secs, 0).expect("in chrono's range");
            let expected = (t.year().rem_euclid(100) as u8, t.month() as u8);
            prop_assert_eq!(utc_year_month(secs), expected);
        }
    }
}
