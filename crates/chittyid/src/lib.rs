//! The one ChittyID grammar, shared by the relayer, the CLI, the client and the tests (SPEC §5.1):
//!
//! ```text
//! VV-R-NNN-SSSSSSSS-T-YYMM-C-X        e.g. 01-A-CHI-7K3M9QXP-I-2611-Z-0
//! ```
//!
//! | field | meaning |
//! |---|---|
//! | `VV` | format version, `01` |
//! | `R` | issuer class: `A` authoritative (drand + VRF), `F` provisional fallback |
//! | `NNN` | namespace, 3 or 4 uppercase letters |
//! | `S…` | 8 Crockford base-32 characters from the VRF output |
//! | `T` | entity type: `P` person, `L` place, `T` thing, `E` event, `A` authority, `I` info |
//! | `YYMM` | UTC month of minting |
//! | `C` | ISO 7064 MOD 37-36 check character over every other character, in order, without separators (the trust level included) |
//! | `X` | trust level, `0`–`9` |
//!
//! Legacy shapes from older clients are refused with [`ChittyIdError::LegacyShape`], which names
//! what differs. Every error has a stable API code ([`ChittyIdError::code`]).

use std::{fmt, str::FromStr};

pub mod batch;
pub mod checksum;
pub mod provisional;

/// The only format version.
pub const VERSION: &str = "01";

/// Crockford's base-32 alphabet (no I, L, O, U).
pub const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Who issued an ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssuerClass {
    /// Minted from a drand beacon and the relayer's VRF.
    Authoritative,
    /// Issued provisionally by the fallback minter; reconciled later.
    Fallback,
}

impl IssuerClass {
    /// The grammar letter.
    pub fn letter(self) -> char {
        match self {
            Self::Authoritative => 'A',
            Self::Fallback => 'F',
        }
    }

    fn from_letter(s: &str) -> Option<Self> {
        match s {
            "A" => Some(Self::Authoritative),
            "F" => Some(Self::Fallback),
            _ => None,
        }
    }
}

/// What an ID names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityType {
    /// `P`
    Person,
    /// `L`
    Place,
    /// `T`
    Thing,
    /// `E`
    Event,
    /// `A`
    Authority,
    /// `I`
    Info,
}

impl EntityType {
    /// Every entity type.
    pub const ALL: [EntityType; 6] = [
        Self::Person,
        Self::Place,
        Self::Thing,
        Self::Event,
        Self::Authority,
        Self::Info,
    ];

    /// The grammar letter.
    pub fn letter(self) -> char {
        match self {
            Self::Person => 'P',
            Self::Place => 'L',
            Self::Thing => 'T',
            Self::Event => 'E',
            Self::Authority => 'A',
            Self::Info => 'I',
        }
    }

    /// The entity type of a grammar letter.
    pub fn from_letter(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| s.len() == 1 && s.starts_with(t.letter()))
    }
}

/// A legacy ID shape, refused by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyShape {
    /// `CT-A-CHI-1234-I-24-A-0`: the `CT` prefix instead of a version, a 2-digit year and a
    /// 4-character sequence.
    CtPrefix,
    /// `01-A-CHI-1234-I-2409-5-0`: a 4-character numeric sequence instead of 8 Crockford
    /// characters.
    ShortSequence,
}

/// Why a string is not a valid ChittyID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChittyIdError {
    /// Not 8 hyphen-separated fields.
    #[error(
        "a ChittyID has 8 hyphen-separated fields (VV-R-NNN-SSSSSSSS-T-YYMM-C-X), found {found}"
    )]
    WrongFieldCount {
        /// Fields found.
        found: usize,
    },
    /// A known older shape.
    #[error("legacy ChittyID shape: {}", legacy_message(*.0))]
    LegacyShape(LegacyShape),
    /// Not version `01`.
    #[error("unsupported version `{found}`: the version field is `01`")]
    UnsupportedVersion {
        /// The field found.
        found: String,
    },
    /// Not `A` or `F`.
    #[error("issuer class `{found}` is not `A` (authoritative) or `F` (fallback)")]
    InvalidIssuerClass {
        /// The field found.
        found: String,
    },
    /// Not 3 or 4 uppercase letters.
    #[error("namespace `{found}` is not 3 or 4 uppercase letters")]
    InvalidNamespace {
        /// The field found.
        found: String,
    },
    /// Not 8 Crockford base-32 characters.
    #[error(
        "sequence `{found}` is not 8 Crockford base-32 characters (0-9, A-Z without I, L, O, U)"
    )]
    InvalidSequence {
        /// The field found.
        found: String,
    },
    /// Not one of `P L T E A I`.
    #[error("entity type `{found}` is not one of P, L, T, E, A, I")]
    InvalidEntityType {
        /// The field found.
        found: String,
    },
    /// Not `YYMM` with a month 01–12.
    #[error("`{found}` is not a YYMM month (4 digits, month 01-12)")]
    InvalidYearMonth {
        /// The field found.
        found: String,
    },
    /// Not a single digit.
    #[error("trust level `{found}` is not a digit 0-9")]
    InvalidTrustLevel {
        /// The field found.
        found: String,
    },
    /// Not a single character of `0-9A-Z`.
    #[error("check character `{found}` is not one character of 0-9, A-Z")]
    InvalidCheckCharacter {
        /// The field found.
        found: String,
    },
    /// The check character does not match.
    #[error("check character `{found}` does not match: expected `{expected}`")]
    ChecksumMismatch {
        /// The check character the other fields give.
        expected: char,
        /// The check character found.
        found: char,
    },
}

fn legacy_message(shape: LegacyShape) -> &'static str {
    match shape {
        LegacyShape::CtPrefix => "`CT` prefix with a 2-digit year (expected version `01` and YYMM)",
        LegacyShape::ShortSequence => {
            "4-character sequence (expected 8 Crockford base-32 characters)"
        }
    }
}

impl ChittyIdError {
    /// The stable, documented API error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongFieldCount { .. } => "CHITTYID_MALFORMED",
            Self::LegacyShape(_) => "CHITTYID_LEGACY_FORMAT",
            Self::UnsupportedVersion { .. } => "CHITTYID_UNSUPPORTED_VERSION",
            Self::InvalidIssuerClass { .. } => "CHITTYID_INVALID_ISSUER",
            Self::InvalidNamespace { .. } => "CHITTYID_INVALID_NAMESPACE",
            Self::InvalidSequence { .. } => "CHITTYID_INVALID_SEQUENCE",
            Self::InvalidEntityType { .. } => "CHITTYID_INVALID_ENTITY_TYPE",
            Self::InvalidYearMonth { .. } => "CHITTYID_INVALID_YEAR_MONTH",
            Self::InvalidTrustLevel { .. } => "CHITTYID_INVALID_TRUST_LEVEL",
            Self::InvalidCheckCharacter { .. } => "CHITTYID_MALFORMED",
            Self::ChecksumMismatch { .. } => "CHITTYID_CHECKSUM_MISMATCH",
        }
    }
}

/// A valid ChittyID. Construct with [`ChittyId::new`] or by parsing; display to format.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChittyId {
    issuer: IssuerClass,
    namespace: String,
    sequence: [u8; 8],
    entity: EntityType,
    year: u8,
    month: u8,
    trust: u8,
}

fn is_namespace(s: &str) -> bool {
    (3..=4).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase())
}

fn is_sequence(s: &str) -> bool {
    s.len() == 8 && s.bytes().all(|b| CROCKFORD.contains(&b))
}

impl ChittyId {
    /// A ChittyID from its fields.
    pub fn new(
        issuer: IssuerClass,
        namespace: &str,
        sequence: &str,
        entity: EntityType,
        year: u8,
        month: u8,
        trust: u8,
    ) -> Result<Self, ChittyIdError> {
        if !is_namespace(namespace) {
            return Err(ChittyIdError::InvalidNamespace {
                found: namespace.into(),
            });
        }
        if !is_sequence(sequence) {
            return Err(ChittyIdError::InvalidSequence {
                found: sequence.into(),
            });
        }
        if year > 99 || !(1..=12).contains(&month) {
            return Err(ChittyIdError::InvalidYearMonth {
                found: format!("{year:02}{month:02}"),
            });
        }
        if trust > 9 {
            return Err(ChittyIdError::InvalidTrustLevel {
                found: trust.to_string(),
            });
        }
        let mut seq = [0u8; 8];
        seq.copy_from_slice(sequence.as_bytes());
        Ok(Self {
            issuer,
            namespace: namespace.into(),
            sequence: seq,
            entity,
            year,
            month,
            trust,
        })
    }

    /// Issuer class.
    pub fn issuer(&self) -> IssuerClass {
        self.issuer
    }

    /// Namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Sequence (8 Crockford characters).
    pub fn sequence(&self) -> &str {
        std::str::from_utf8(&self.sequence).unwrap_or_default()
    }

    /// Entity type.
    pub fn entity(&self) -> EntityType {
        self.entity
    }

    /// Year of minting, 0–99 (20YY).
    pub fn year(&self) -> u8 {
        self.year
    }

    /// Month of minting, 1–12.
    pub fn month(&self) -> u8 {
        self.month
    }

    /// Trust level, 0–9.
    pub fn trust(&self) -> u8 {
        self.trust
    }

    /// The fields before the check character, in grammar order: `VV R NNN S T YYMM`.
    fn head(&self) -> [String; 6] {
        [
            VERSION.to_string(),
            self.issuer.letter().to_string(),
            self.namespace.clone(),
            self.sequence().to_string(),
            self.entity.letter().to_string(),
            format!("{:02}{:02}", self.year, self.month),
        ]
    }

    /// The check character: MOD 37-36 over every other field, in order, without separators.
    pub fn check_char(&self) -> char {
        let data = format!("{}{}", self.head().concat(), self.trust);
        // Every field is drawn from 0-9A-Z, so a check character always exists.
        char::from(checksum::check_char(data.as_bytes()).unwrap_or(b'0'))
    }
}

impl fmt::Display for ChittyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = self.head().join("-");
        write!(f, "{head}-{}-{}", self.check_char(), self.trust)
    }
}

impl FromStr for ChittyId {
    type Err = ChittyIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fields: Vec<&str> = s.split('-').collect();
        let [vv, r, nnn, seq, t, yymm, c, x] = fields[..] else {
            return Err(ChittyIdError::WrongFieldCount {
                found: fields.len(),
            });
        };
        // Older shapes first, so their error names what changed.
        if vv == "CT" {
            return Err(ChittyIdError::LegacyShape(LegacyShape::CtPrefix));
        }
        if vv == VERSION && seq.len() == 4 && seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ChittyIdError::LegacyShape(LegacyShape::ShortSequence));
        }
        if vv != VERSION {
            return Err(ChittyIdError::UnsupportedVersion { found: vv.into() });
        }
        let issuer = IssuerClass::from_letter(r)
            .ok_or_else(|| ChittyIdError::InvalidIssuerClass { found: r.into() })?;
        let entity = EntityType::from_letter(t)
            .ok_or_else(|| ChittyIdError::InvalidEntityType { found: t.into() })?;
        if yymm.len() != 4 || !yymm.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ChittyIdError::InvalidYearMonth { found: yymm.into() });
        }
        let year: u8 = yymm[..2]
            .parse()
            .map_err(|_| ChittyIdError::InvalidYearMonth { found: yymm.into() })?;
        let month: u8 = yymm[2..]
            .parse()
            .map_err(|_| ChittyIdError::InvalidYearMonth { found: yymm.into() })?;
        let trust = match x.as_bytes() {
            [d @ b'0'..=b'9'] => d - b'0',
            _ => return Err(ChittyIdError::InvalidTrustLevel { found: x.into() }),
        };
        let found = match c.as_bytes() {
            [b @ (b'0'..=b'9' | b'A'..=b'Z')] => char::from(*b),
            _ => return Err(ChittyIdError::InvalidCheckCharacter { found: c.into() }),
        };
        let id = ChittyId::new(issuer, nnn, seq, entity, year, month, trust)?;
        let expected = id.check_char();
        if found != expected {
            return Err(ChittyIdError::ChecksumMismatch { expected, found });
        }
        Ok(id)
    }
}

/// The 8 sequence characters from (the first 40 bits of) a VRF output.
pub fn sequence_from_bytes(bytes: &[u8; 5]) -> String {
    let bits = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    (0..8)
        .rev()
        .map(|i| char::from(CROCKFORD[((bits >> (i * 5)) & 31) as usize]))
        .collect()
}

#[cfg(test)]
mod tests;
