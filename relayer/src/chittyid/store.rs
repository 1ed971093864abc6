//! PostgreSQL persistence of minted IDs, batches and reconciliations. `migrations/` is the
//! single owner of the schema; every query here is written once.

use std::collections::HashSet;

use sqlx::{PgExecutor, PgPool, Row};

use crate::chittyid::mint::row::MintRow;
pub use crate::platform::db::StoreError;

/// Registers the VRF public key under its id (idempotent).
pub async fn ensure_vrf_key(
    pool: &PgPool,
    key_id: &str,
    public_key: &[u8; 32],
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO vrf_keys (key_id, public_key) VALUES ($1, $2) ON CONFLICT (key_id) DO NOTHING",
    )
    .bind(key_id)
    .bind(&public_key[..])
    .execute(pool)
    .await?;
    Ok(())
}

/// Records the `Idempotency-Key` of each of `rows` (all keyed), first come first kept
/// (within the statement too: a key's later rows are left out, so they are not kept); a key
/// whose earlier mint has expired is taken over. The IDs whose key was recorded.
pub async fn record_idempotency<'e>(
    executor: impl PgExecutor<'e>,
    rows: &[&MintRow],
) -> Result<HashSet<String>, StoreError> {
    let (mut requesters, mut keys, mut fingerprints, mut ids, mut ttls) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut seen = HashSet::new();
    for r in rows {
        if let Some(k) = &r.idempotency {
            if !seen.insert((k.requester.as_str(), k.key.as_str())) {
                continue;
            }
            requesters.push(k.requester.clone());
            keys.push(k.key.clone());
            fingerprints.push(k.fingerprint.to_vec());
            ids.push(r.id.clone());
            ttls.push(k.ttl_secs);
        }
    }
    let kept: Vec<String> = sqlx::query_scalar(
        "INSERT INTO mint_idempotency (requester, key, fingerprint, id, expires_at)
         SELECT r, k, f, i, now() + make_interval(secs => t)
         FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::text[], $5::int8[]) AS u(r, k, f, i, t)
         ON CONFLICT (requester, key) DO UPDATE
           SET fingerprint = EXCLUDED.fingerprint, id = EXCLUDED.id,
               created_at = now(), expires_at = EXCLUDED.expires_at
           WHERE mint_idempotency.expires_at <= now()
         RETURNING id",
    )
    .bind(&requesters)
    .bind(&keys)
    .bind(&fingerprints)
    .bind(&ids)
    .bind(&ttls)
    .fetch_all(executor)
    .await?;
    Ok(kept.into_iter().collect())
}

/// Deletes up to `limit` expired idempotency keys; how many.
pub async fn prune_idempotency(pool: &PgPool, limit: i64) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM mint_idempotency WHERE ctid IN (
           SELECT ctid FROM mint_idempotency WHERE expires_at <= now() LIMIT $1)",
    )
    .bind(limit)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Stores the metadata of `rows` (those that carry some).
pub async fn insert_metadata<'e>(
    executor: impl PgExecutor<'e>,
    rows: &[&MintRow],
) -> Result<(), StoreError> {
    let (mut ids, mut requesters, mut objects, mut public) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in rows {
        if let Some(m) = &r.metadata {
            ids.push(r.id.clone());
            requesters.push(r.api_key_id.clone());
            objects.push(m.json.clone());
            public.push(m.public);
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO chittyid_metadata (id, requester, metadata, public)
         SELECT i, r, m::jsonb, p FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bool[])
             AS u(i, r, m, p)",
    )
    .bind(&ids)
    .bind(&requesters)
    .bind(&objects)
    .bind(&public)
    .execute(executor)
    .await?;
    Ok(())
}

/// Stores one ID's metadata (a provisional ID, which has no row of its own here).
pub async fn insert_metadata_one(
    pool: &PgPool,
    id: &str,
    requester: Option<&str>,
    metadata: &crate::chittyid::mint::row::Metadata,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO chittyid_metadata (id, requester, metadata, public)
         VALUES ($1, $2, $3::jsonb, $4) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(requester)
    .bind(&metadata.json)
    .bind(metadata.public)
    .execute(pool)
    .await?;
    Ok(())
}

/// An ID's metadata: who minted it, the object (JSON text) and whether it is public.
pub async fn metadata<'e>(
    executor: impl PgExecutor<'e>,
    id: &str,
) -> Result<Option<(Option<String>, String, bool)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT requester, metadata::text, public FROM chittyid_metadata WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(executor)
    .await?)
}

/// Removes IDs inserted in the caller's transaction that lost their idempotency key.
pub async fn delete_ids<'e>(
    executor: impl PgExecutor<'e>,
    ids: &HashSet<String>,
) -> Result<(), StoreError> {
    let ids: Vec<&String> = ids.iter().collect();
    sqlx::query("DELETE FROM chittyids WHERE id = ANY($1)")
        .bind(&ids)
        .execute(executor)
        .await?;
    Ok(())
}

/// The ID and fingerprint recorded for `requester`'s `key`, unless it expired.
pub async fn idempotent_mint<'e>(
    executor: impl PgExecutor<'e>,
    requester: &str,
    key: &str,
) -> Result<Option<(String, Vec<u8>)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, fingerprint FROM mint_idempotency
         WHERE requester = $1 AND key = $2 AND expires_at > now()",
    )
    .bind(requester)
    .bind(key)
    .fetch_optional(executor)
    .await?)
}

/// Inserts minted IDs in one statement. Rows whose `(namespace, yymm, sequence)` (or id) is
/// taken are skipped; the ids actually inserted are returned.
pub async fn insert_ids<'e>(
    executor: impl PgExecutor<'e>,
    rows: &[&MintRow],
) -> Result<HashSet<String>, StoreError> {
    let n = rows.len();
    let mut ids = Vec::with_capacity(n);
    let mut namespaces = Vec::with_capacity(n);
    let mut entities = Vec::with_capacity(n);
    let mut yymms = Vec::with_capacity(n);
    let mut sequences = Vec::with_capacity(n);
    let mut trusts = Vec::with_capacity(n);
    let mut content_hashes = Vec::with_capacity(n);
    let mut nonces = Vec::with_capacity(n);
    let mut rounds = Vec::with_capacity(n);
    let mut randomness = Vec::with_capacity(n);
    let mut signatures = Vec::with_capacity(n);
    let mut key_ids = Vec::with_capacity(n);
    let mut counters = Vec::with_capacity(n);
    let mut betas = Vec::with_capacity(n);
    let mut proofs = Vec::with_capacity(n);
    let mut api_keys = Vec::with_capacity(n);
    for r in rows {
        ids.push(r.id.clone());
        namespaces.push(r.namespace.clone());
        entities.push(r.entity.letter().to_string());
        yymms.push(r.yymm.clone());
        sequences.push(r.sequence.clone());
        trusts.push(i16::from(r.trust));
        content_hashes.push(r.content_hash.to_vec());
        nonces.push(r.nonce.clone());
        rounds.push(i64::try_from(r.round).unwrap_or(i64::MAX));
        randomness.push(r.randomness.to_vec());
        signatures.push(r.signature.to_vec());
        key_ids.push(r.key_id.to_string());
        counters.push(i32::try_from(r.counter).unwrap_or(i32::MAX));
        betas.push(r.beta.to_vec());
        proofs.push(r.proof.to_vec());
        api_keys.push(r.api_key_id.clone());
    }
    let inserted: Vec<String> = sqlx::query_scalar(
        "INSERT INTO chittyids (id, namespace, entity_type, yymm, sequence, trust_level,
             content_hash, request_nonce, drand_round, drand_randomness, drand_signature,
             vrf_key_id, vrf_counter, vrf_beta, vrf_proof, api_key_id)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
             $6::int2[], $7::bytea[], $8::bytea[], $9::int8[], $10::bytea[], $11::bytea[],
             $12::text[], $13::int4[], $14::bytea[], $15::bytea[], $16::text[])
         ON CONFLICT DO NOTHING
         RETURNING id",
    )
    .bind(ids)
    .bind(namespaces)
    .bind(entities)
    .bind(yymms)
    .bind(sequences)
    .bind(trusts)
    .bind(content_hashes)
    .bind(nonces)
    .bind(rounds)
    .bind(randomness)
    .bind(signatures)
    .bind(key_ids)
    .bind(counters)
    .bind(betas)
    .bind(proofs)
    .bind(api_keys)
    .fetch_all(executor)
    .await?;
    Ok(inserted.into_iter().collect())
}

/// A stored ID with its evidence columns.
#[derive(Debug, Clone)]
pub struct StoredId {
    /// The ID.
    pub id: String,
    /// Namespace.
    pub namespace: String,
    /// Entity letter.
    pub entity_type: String,
    /// YYMM.
    pub yymm: String,
    /// Trust.
    pub trust_level: i16,
    /// Content hash.
    pub content_hash: Vec<u8>,
    /// Nonce.
    pub request_nonce: Vec<u8>,
    /// drand round.
    pub drand_round: i64,
    /// drand randomness.
    pub drand_randomness: Vec<u8>,
    /// drand signature.
    pub drand_signature: Vec<u8>,
    /// VRF key id.
    pub vrf_key_id: String,
    /// VRF public key.
    pub vrf_public_key: Vec<u8>,
    /// Counter.
    pub vrf_counter: i32,
    /// beta.
    pub vrf_beta: Vec<u8>,
    /// pi.
    pub vrf_proof: Vec<u8>,
    /// Status.
    pub status: String,
    /// Batch.
    pub batch_id: Option<i64>,
    /// Position in the batch.
    pub batch_index: Option<i32>,
    /// Batch root.
    pub batch_root: Option<Vec<u8>>,
    /// Batch size.
    pub batch_size: Option<i32>,
    /// Sequence number of the batch's first ID (`first_seq` of its on-chain record).
    pub batch_first_seq: Option<i64>,
    /// Batch status.
    pub batch_status: Option<String>,
    /// Anchor signature.
    pub anchor_signature: Option<String>,
    /// Anchor slot.
    pub anchor_slot: Option<i64>,
    /// Reconciled from.
    pub reconciled_from: Option<String>,
    /// Minted at.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Looks an ID up with everything its evidence needs.
pub async fn fetch_id(pool: &PgPool, id: &str) -> Result<Option<StoredId>, StoreError> {
    let row = sqlx::query(
        "SELECT c.id, c.namespace, c.entity_type, c.yymm, c.trust_level, c.content_hash,
                c.request_nonce, c.drand_round, c.drand_randomness, c.drand_signature,
                c.vrf_key_id, k.public_key, c.vrf_counter, c.vrf_beta, c.vrf_proof, c.status,
                c.batch_id, c.batch_index, b.root, b.size, b.status AS batch_status,
                b.anchor_signature, b.anchor_slot, r.provisional_id, c.created_at, b.first_seq
           FROM chittyids c
           JOIN vrf_keys k ON k.key_id = c.vrf_key_id
           LEFT JOIN id_batches b ON b.id = c.batch_id
           LEFT JOIN reconciliations r ON r.final_id = c.id
          WHERE c.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| StoredId {
        id: r.get(0),
        namespace: r.get(1),
        entity_type: r.get(2),
        yymm: r.get(3),
        trust_level: r.get(4),
        content_hash: r.get(5),
        request_nonce: r.get(6),
        drand_round: r.get(7),
        drand_randomness: r.get(8),
        drand_signature: r.get(9),
        vrf_key_id: r.get(10),
        vrf_public_key: r.get(11),
        vrf_counter: r.get(12),
        vrf_beta: r.get(13),
        vrf_proof: r.get(14),
        status: r.get(15),
        batch_id: r.get(16),
        batch_index: r.get(17),
        batch_root: r.get(18),
        batch_size: r.get(19),
        batch_status: r.get(20),
        anchor_signature: r.get(21),
        anchor_slot: r.get(22),
        reconciled_from: r.get(23),
        created_at: r.get(24),
        batch_first_seq: r.get(25),
    }))
}

/// The IDs of a batch, in batch order.
pub async fn batch_ids(pool: &PgPool, batch_id: i64) -> Result<Vec<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM chittyids WHERE batch_id = $1 ORDER BY batch_index")
            .bind(batch_id)
            .fetch_all(pool)
            .await?,
    )
}
