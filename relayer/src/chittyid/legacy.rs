//! IDs of the earlier ChittyOS services (`CT-A-CHI-1234-I-24-A-0`,
//! `01-C-PROD-0001-P-2501-A-X`): `veil-relayer legacy import` mints a current ID for each and
//! records the pair (migration 0020). `GET /api/v2/chittyid/{legacy}` then answers with the new
//! ID.
//!
//! **Evidence.** The new ID's content hash is `SHA-256("chittyid-legacy:" ‖ old ID)` and its
//! request nonce the first 16 bytes of `SHA-256(old ID)`: both sit in the VRF input, so anyone
//! holding the new ID's evidence can recompute that it was minted for that old ID.
//!
//! **All or nothing per file, one row per line.** Every line is checked before anything is
//! minted; a file with any bad line imports nothing and lists every bad line. Each old ID is
//! reserved before its mint and completed after it; an import cut off between the two is
//! finished by the next run, which finds the ID already minted for that old ID (by its content
//! hash and nonce) instead of minting a second one.

use std::collections::HashSet;

use sha2::{Digest, Sha256};
use sqlx::PgPool;
use veil_chittyid::{ChittyId, ChittyIdError, EntityType};

use super::{
    drand::DrandClient,
    mint::{MintError, MintRequest, Minter},
};

/// One line to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyLine {
    /// The line number (1-based).
    pub line: usize,
    /// The old ID.
    pub legacy_id: String,
    /// Its entity type.
    pub entity: EntityType,
    /// Its namespace (the old ID's third field).
    pub namespace: String,
}

/// A line that cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// The line number (1-based).
    pub line: usize,
    /// Why.
    pub reason: String,
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Lines that cannot be imported; nothing was.
    #[error("{} line(s) cannot be imported; nothing was imported", .0.len())]
    BadLines(Vec<BadLine>),
    /// drand is unavailable (imports mint authoritative IDs only).
    #[error("drand is unavailable: {0}")]
    Drand(String),
    /// Minting failed.
    #[error("minting for line {line} failed: {source}")]
    Mint {
        /// The line.
        line: usize,
        /// Why.
        #[source]
        source: MintError,
    },
    /// PostgreSQL failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Newly imported: (old ID, new ID).
    pub imported: Vec<(String, String)>,
    /// Already imported by an earlier run.
    pub already: usize,
}

/// The content hash a legacy ID's new ID is minted with.
pub fn content_hash(legacy_id: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"chittyid-legacy:")
        .chain_update(legacy_id.as_bytes())
        .finalize()
        .into()
}

fn nonce(legacy_id: &str) -> Vec<u8> {
    Sha256::digest(legacy_id.as_bytes())[..16].to_vec()
}

/// Why a string is not a legacy ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotLegacy {
    /// It is a valid current ChittyID.
    Current,
    /// It is neither shape; the grammar's reason.
    Malformed(ChittyIdError),
}

/// Whether `id` is one of the legacy shapes (one parse), and if not, why.
pub fn legacy_shape(id: &str) -> Result<(), NotLegacy> {
    match id.parse::<ChittyId>() {
        Err(ChittyIdError::LegacyShape(_)) => Ok(()),
        Ok(_) => Err(NotLegacy::Current),
        Err(e) => Err(NotLegacy::Malformed(e)),
    }
}

/// Parses a file: one `<old ID>,<entity type letter>` per line; blank lines and `#` comments
/// are skipped. Every bad line is reported.
pub fn parse(text: &str) -> Result<Vec<LegacyLine>, Vec<BadLine>> {
    let mut lines = Vec::new();
    let mut bad = Vec::new();
    let mut seen = HashSet::new();
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let raw = raw.trim();
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        let mut reject = |reason: String| bad.push(BadLine { line, reason });
        let Some((id, letter)) = raw.split_once(',') else {
            reject("expected `<old ID>,<entity type>`".into());
            continue;
        };
        let (id, letter) = (id.trim(), letter.trim());
        if let Err(not) = legacy_shape(id) {
            reject(match not {
                NotLegacy::Current => format!("`{id}` is a current ChittyID, not a legacy one"),
                NotLegacy::Malformed(e) => format!("`{id}` is not a legacy ChittyID ({e})"),
            });
            continue;
        }
        let Some(entity) = EntityType::from_letter(letter) else {
            reject(format!("entity type `{letter}` is not one of P L T E A I"));
            continue;
        };
        let namespace = id.split('-').nth(2).unwrap_or_default().to_owned();
        if !(3..=4).contains(&namespace.len()) || !namespace.bytes().all(|b| b.is_ascii_uppercase())
        {
            reject(format!(
                "namespace `{namespace}` is not 3 or 4 uppercase letters"
            ));
            continue;
        }
        if !seen.insert(id.to_owned()) {
            reject(format!("`{id}` appears twice"));
            continue;
        }
        lines.push(LegacyLine {
            line,
            legacy_id: id.to_owned(),
            entity,
            namespace,
        });
    }
    if bad.is_empty() {
        Ok(lines)
    } else {
        Err(bad)
    }
}

/// Imports `text` (see [`parse`]): mints an authoritative ID for each old ID not yet imported.
pub async fn import(
    pool: &PgPool,
    minter: &Minter,
    drand: &DrandClient,
    text: &str,
    mut progress: impl FnMut(usize, usize),
) -> Result<ImportReport, ImportError> {
    let lines = parse(text).map_err(ImportError::BadLines)?;
    let mut report = ImportReport::default();
    let total = lines.len();
    for (done, line) in lines.iter().enumerate() {
        progress(done, total);
        // Reserve the old ID (or find it reserved or done).
        sqlx::query(
            "INSERT INTO legacy_ids (legacy_id, entity_type) VALUES ($1, $2)
             ON CONFLICT (legacy_id) DO NOTHING",
        )
        .bind(&line.legacy_id)
        .bind(line.entity.letter().to_string())
        .execute(pool)
        .await?;
        let existing: Option<String> =
            sqlx::query_scalar("SELECT new_id FROM legacy_ids WHERE legacy_id = $1")
                .bind(&line.legacy_id)
                .fetch_one(pool)
                .await?;
        if existing.is_some() {
            report.already += 1;
            continue;
        }
        let hash = content_hash(&line.legacy_id);
        let nonce = nonce(&line.legacy_id);
        // A run cut off after the mint: the ID is there, under this content hash and nonce.
        let minted: Option<String> = sqlx::query_scalar(
            "SELECT id FROM chittyids WHERE content_hash = $1 AND request_nonce = $2 LIMIT 1",
        )
        .bind(hash.as_slice())
        .bind(&nonce)
        .fetch_optional(pool)
        .await?;
        let new_id = match minted {
            Some(id) => id,
            None => {
                let beacon = drand
                    .latest()
                    .await
                    .map_err(|e| ImportError::Drand(e.to_string()))?;
                let request = MintRequest {
                    namespace: line.namespace.clone(),
                    entity: line.entity,
                    trust: 0,
                    content_hash: hash,
                    nonce,
                    api_key_id: Some("legacy-import".into()),
                    idempotency: None,
                    metadata: None,
                };
                minter
                    .mint(&beacon, &request)
                    .await
                    .map_err(|source| ImportError::Mint {
                        line: line.line,
                        source,
                    })?
                    .id
            }
        };
        sqlx::query("UPDATE legacy_ids SET new_id = $2, imported_at = now() WHERE legacy_id = $1")
            .bind(&line.legacy_id)
            .bind(&new_id)
            .execute(pool)
            .await?;
        report.imported.push((line.legacy_id.clone(), new_id));
    }
    progress(total, total);
    Ok(report)
}

/// A completed import of `legacy_id`: the new ID, the entity type and when.
pub async fn lookup(
    pool: &PgPool,
    legacy_id: &str,
) -> Result<Option<(String, String, chrono::DateTime<chrono::Utc>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT new_id, entity_type, imported_at FROM legacy_ids
         WHERE legacy_id = $1 AND new_id IS NOT NULL",
    )
    .bind(legacy_id)
    .fetch_optional(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_shapes_parse_and_every_bad_line_is_named() {
        let ok =
            parse("# old IDs\nCT-A-CHI-1234-I-24-A-0, I\n\n01-C-PROD-0001-P-2501-A-X,P\n").unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].namespace, "CHI");
        assert_eq!(ok[1].namespace, "PROD");
        assert_eq!(ok[1].line, 4);
        let bad = parse(
            "CT-A-CHI-1234-I-24-A-0,I\nnonsense\nCT-A-CHI-1234-I-24-A-0,I\nCT-A-CHI-1235-I-24-A-0,Q\n01-A-CHI-7K3M9QXP-I-2611-Z-0,I\n",
        )
        .unwrap_err();
        let lines: Vec<usize> = bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, [2, 3, 4, 5], "{bad:?}");
        assert!(bad[1].reason.contains("twice"));
        assert!(bad[2].reason.contains("entity type"));
    }
}
