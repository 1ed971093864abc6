//! SQL over `registry_tracks` and `registry_members` (migration 0007).

use sqlx::{PgPool, Row};

/// A member row about to be added.
#[derive(Debug, Clone)]
pub struct NewMember<'a> {
    /// The track.
    pub track_id: &'a [u8; 32],
    /// The token mint (base58).
    pub mint: &'a str,
    /// The identity commitment.
    pub commitment: &'a [u8; 32],
    /// The token id.
    pub token_id: &'a [u8; 32],
    /// The leaf.
    pub leaf: &'a [u8; 32],
    /// The wallet (base58).
    pub wallet: &'a str,
    /// The token account checked (base58).
    pub token_account: &'a str,
}

/// What [`register`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    /// A new leaf at this index.
    Added {
        /// The leaf index.
        leaf_index: u64,
    },
    /// The same wallet registered the same commitment before: nothing changed.
    Existing {
        /// The leaf index.
        leaf_index: u64,
    },
    /// The wallet is registered on this track with another identity.
    WalletTaken {
        /// Its leaf index.
        leaf_index: u64,
    },
    /// Another wallet registered this identity on this track.
    CommitmentTaken,
    /// The track holds `capacity` leaves already.
    Full,
}

fn index(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Adds the member at the track's next index, once, unless the track holds `capacity` leaves:
/// the track row is locked, so indexes are dense and assigned in commit order.
pub async fn register(
    pool: &PgPool,
    capacity: u64,
    member: &NewMember<'_>,
) -> Result<Registration, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Creates the track row, or locks it.
    let next: i64 = sqlx::query_scalar(
        "INSERT INTO registry_tracks (track_id, mint) VALUES ($1, $2)
         ON CONFLICT (track_id) DO UPDATE SET mint = registry_tracks.mint
         RETURNING leaf_count",
    )
    .bind(member.track_id.as_slice())
    .bind(member.mint)
    .fetch_one(&mut *tx)
    .await?;
    let existing = sqlx::query(
        "SELECT leaf_index, commitment, wallet FROM registry_members
         WHERE track_id = $1 AND (commitment = $2 OR wallet = $3)",
    )
    .bind(member.track_id.as_slice())
    .bind(member.commitment.as_slice())
    .bind(member.wallet)
    .fetch_all(&mut *tx)
    .await?;
    if let Some(row) = existing.first() {
        let leaf_index = index(row.get("leaf_index"));
        let commitment: Vec<u8> = row.get("commitment");
        let wallet: String = row.get("wallet");
        let outcome = match (
            commitment == member.commitment.as_slice(),
            wallet == member.wallet,
        ) {
            (true, true) => Registration::Existing { leaf_index },
            (false, true) => Registration::WalletTaken { leaf_index },
            _ => Registration::CommitmentTaken,
        };
        return Ok(outcome);
    }
    if index(next) >= capacity {
        return Ok(Registration::Full);
    }
    sqlx::query(
        "INSERT INTO registry_members
           (track_id, leaf_index, commitment, token_id, leaf, wallet, token_account)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(member.track_id.as_slice())
    .bind(next)
    .bind(member.commitment.as_slice())
    .bind(member.token_id.as_slice())
    .bind(member.leaf.as_slice())
    .bind(member.wallet)
    .bind(member.token_account)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE registry_tracks SET leaf_count = leaf_count + 1 WHERE track_id = $1")
        .bind(member.track_id.as_slice())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Registration::Added {
        leaf_index: index(next),
    })
}

/// A track's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// The mint (base58).
    pub mint: String,
    /// Leaves registered.
    pub leaf_count: u64,
    /// The latest published root and the leaves it covers.
    pub published: Option<Published>,
}

/// A root on chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Leaves covered.
    pub leaves: u64,
    /// The root.
    pub root: [u8; 32],
    /// Where it landed.
    pub slot: u64,
    /// Its transaction.
    pub signature: String,
    /// The slot of the holdings snapshot the root was built from.
    pub snapshot_slot: u64,
}

/// The mints of the tracks with registrations their published root does not cover yet.
pub async fn tracks_behind(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT mint FROM registry_tracks
         WHERE published_leaves IS DISTINCT FROM leaf_count AND leaf_count > 0
         ORDER BY mint",
    )
    .fetch_all(pool)
    .await
}

/// The track, if anyone registered on it.
pub async fn track(pool: &PgPool, track_id: &[u8; 32]) -> Result<Option<Track>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT mint, leaf_count, published_leaves, published_root, published_slot,
                published_signature, published_snapshot_slot
         FROM registry_tracks WHERE track_id = $1",
    )
    .bind(track_id.as_slice())
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| {
        let root: Option<Vec<u8>> = row.get("published_root");
        Track {
            mint: row.get("mint"),
            leaf_count: index(row.get("leaf_count")),
            published: root
                .and_then(|r| <[u8; 32]>::try_from(r).ok())
                .map(|root| Published {
                    leaves: index(row.get::<Option<i64>, _>("published_leaves").unwrap_or(0)),
                    root,
                    slot: index(row.get::<Option<i64>, _>("published_slot").unwrap_or(0)),
                    signature: row
                        .get::<Option<String>, _>("published_signature")
                        .unwrap_or_default(),
                    snapshot_slot: index(
                        row.get::<Option<i64>, _>("published_snapshot_slot")
                            .unwrap_or(0),
                    ),
                }),
        }
    }))
}

/// The first `count` leaves, in index order.
pub async fn leaves(
    pool: &PgPool,
    track_id: &[u8; 32],
    count: u64,
) -> Result<Vec<[u8; 32]>, sqlx::Error> {
    // A member whose holding the latest snapshot did not find has the empty leaf (zero).
    let rows: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT CASE WHEN active THEN leaf ELSE decode(repeat('00', 32), 'hex') END
         FROM registry_members WHERE track_id = $1 AND leaf_index < $2
         ORDER BY leaf_index",
    )
    .bind(track_id.as_slice())
    .bind(i64::try_from(count).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|leaf| <[u8; 32]>::try_from(leaf).ok())
        .collect())
}

/// The member with `commitment`: its leaf index and token id.
pub async fn member(
    pool: &PgPool,
    track_id: &[u8; 32],
    commitment: &[u8; 32],
) -> Result<Option<(u64, [u8; 32])>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT leaf_index, token_id FROM registry_members
         WHERE track_id = $1 AND commitment = $2",
    )
    .bind(track_id.as_slice())
    .bind(commitment.as_slice())
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|row| {
        let token: Vec<u8> = row.get("token_id");
        Some((
            index(row.get("leaf_index")),
            <[u8; 32]>::try_from(token).ok()?,
        ))
    }))
}

/// Records `root` as the track's latest publication, and which members its snapshot found
/// holding (`holding[i]` for leaf `i`), in one transaction: the proving side rebuilds exactly
/// the published tree. An older publication never overwrites a newer one.
pub async fn published(
    pool: &PgPool,
    track_id: &[u8; 32],
    root: &Published,
    holding: &[bool],
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let updated = sqlx::query(
        "UPDATE registry_tracks
         SET published_leaves = $2, published_root = $3, published_slot = $4,
             published_signature = $5, published_snapshot_slot = $6
         WHERE track_id = $1
           AND (published_snapshot_slot IS NULL OR published_snapshot_slot <= $6)
           AND (published_leaves IS NULL OR published_leaves <= $2)",
    )
    .bind(track_id.as_slice())
    .bind(i64::try_from(root.leaves).unwrap_or(i64::MAX))
    .bind(root.root.as_slice())
    .bind(i64::try_from(root.slot).unwrap_or(i64::MAX))
    .bind(&root.signature)
    .bind(i64::try_from(root.snapshot_slot).unwrap_or(i64::MAX))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 1 {
        sqlx::query(
            "UPDATE registry_members m SET active = h.holds
             FROM UNNEST($2::bool[]) WITH ORDINALITY AS h(holds, n)
             WHERE m.track_id = $1 AND m.leaf_index = h.n - 1",
        )
        .bind(track_id.as_slice())
        .bind(holding)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A member as the holdings snapshot reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The registered leaf.
    pub leaf: [u8; 32],
    /// The wallet (base58).
    pub wallet: String,
    /// The token account checked at registration (base58).
    pub token_account: String,
}

/// The first `count` members of `track_id`, in leaf order.
pub async fn holders(
    pool: &PgPool,
    track_id: &[u8; 32],
    count: u64,
) -> Result<Vec<Holder>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT leaf, wallet, token_account FROM registry_members
         WHERE track_id = $1 AND leaf_index < $2 ORDER BY leaf_index",
    )
    .bind(track_id.as_slice())
    .bind(i64::try_from(count).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let leaf: Vec<u8> = row.get("leaf");
            Some(Holder {
                leaf: <[u8; 32]>::try_from(leaf).ok()?,
                wallet: row.get("wallet"),
                token_account: row.get("token_account"),
            })
        })
        .collect())
}

/// Whether the member of `commitment` held its token in the latest published snapshot.
pub async fn active(
    pool: &PgPool,
    track_id: &[u8; 32],
    commitment: &[u8; 32],
) -> Result<bool, sqlx::Error> {
    let active: Option<bool> = sqlx::query_scalar(
        "SELECT active FROM registry_members WHERE track_id = $1 AND commitment = $2",
    )
    .bind(track_id.as_slice())
    .bind(commitment.as_slice())
    .fetch_optional(pool)
    .await?;
    Ok(active.unwrap_or(false))
}
