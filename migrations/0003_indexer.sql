-- The indexer (veil-indexer): program events decoded from `emit_cpi!` inner instructions.
--
-- Every row, in every table here, is keyed by the event's idempotency key
-- (signature, ix_index, event_index): the transaction, its top-level instruction, and the
-- event's order among the events of that instruction. (slot, tx_index, ix_index,
-- event_index) is its chain order. Writes are `ON CONFLICT DO NOTHING`,
-- so a replay of any range changes nothing. Every row carries its slot, so a slot reported
-- dead is removed with one `DELETE … WHERE slot = $1` per table. Current states (a
-- challenge's status) are views over the history, never updated in place, so both replays
-- and rollbacks keep them right.

-- Every decoded event, whatever its kind: the raw feed the typed tables are projected from.
CREATE TABLE indexer_events (
    signature   TEXT     NOT NULL,
    ix_index    INTEGER  NOT NULL,
    event_index INTEGER  NOT NULL,
    slot        BIGINT   NOT NULL,
    tx_index    BIGINT   NOT NULL,
    block_time  BIGINT,
    program     TEXT     NOT NULL CHECK (program IN ('registry', 'challenge')),
    kind        TEXT     NOT NULL,
    payload     JSONB    NOT NULL,
    PRIMARY KEY (signature, ix_index, event_index)
);
CREATE INDEX indexer_events_slot ON indexer_events (slot);
CREATE INDEX indexer_events_kind_slot ON indexer_events (kind, slot);

-- Where a named pipeline stands: the last transaction whose rows are committed.
CREATE TABLE indexer_cursor (
    name          TEXT   PRIMARY KEY,
    slot          BIGINT NOT NULL,
    index_in_slot BIGINT NOT NULL,
    signature     TEXT,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Tracks (registry `TrackCreated`).
CREATE TABLE indexer_tracks (
    signature     TEXT     NOT NULL,
    ix_index      INTEGER  NOT NULL,
    event_index   INTEGER  NOT NULL,
    slot          BIGINT   NOT NULL,
    tx_index      BIGINT   NOT NULL,
    block_time    BIGINT,
    track_id      BYTEA    NOT NULL,
    depth         SMALLINT NOT NULL,
    epoch_seconds BIGINT   NOT NULL,
    PRIMARY KEY (signature, ix_index, event_index)
);
CREATE INDEX indexer_tracks_slot ON indexer_tracks (slot);

-- Merkle roots (registry `MerkleRootUpdated`).
CREATE TABLE indexer_merkle_roots (
    signature   TEXT    NOT NULL,
    ix_index    INTEGER NOT NULL,
    event_index INTEGER NOT NULL,
    slot        BIGINT  NOT NULL,
    tx_index    BIGINT  NOT NULL,
    block_time  BIGINT,
    track_id    BYTEA   NOT NULL,
    root        BYTEA   NOT NULL,
    leaf_count  BIGINT  NOT NULL,
    root_index  BIGINT  NOT NULL,
    PRIMARY KEY (signature, ix_index, event_index)
);
CREATE INDEX indexer_merkle_roots_slot ON indexer_merkle_roots (slot);
CREATE INDEX indexer_merkle_roots_track ON indexer_merkle_roots (track_id, root_index);

-- Verifications and the nullifiers they spent (registry `OwnershipVerified`). No wallet:
-- the event carries none.
CREATE TABLE indexer_verifications (
    signature   TEXT    NOT NULL,
    ix_index    INTEGER NOT NULL,
    event_index INTEGER NOT NULL,
    slot        BIGINT  NOT NULL,
    tx_index    BIGINT  NOT NULL,
    block_time  BIGINT,
    track_id    BYTEA   NOT NULL,
    scope       BYTEA   NOT NULL,
    nullifier   BYTEA   NOT NULL,
    root        BYTEA   NOT NULL,
    signal_hash BYTEA   NOT NULL,
    PRIMARY KEY (signature, ix_index, event_index)
);
CREATE INDEX indexer_verifications_slot ON indexer_verifications (slot);
CREATE INDEX indexer_verifications_track_time ON indexer_verifications (track_id, block_time);
CREATE INDEX indexer_verifications_nullifier ON indexer_verifications (track_id, nullifier);

-- ChittyID batch anchors (registry `IdBatchAnchored`).
CREATE TABLE indexer_id_batches (
    signature   TEXT    NOT NULL,
    ix_index    INTEGER NOT NULL,
    event_index INTEGER NOT NULL,
    slot        BIGINT  NOT NULL,
    tx_index    BIGINT  NOT NULL,
    block_time  BIGINT,
    namespace   BYTEA   NOT NULL,
    batch_root  BYTEA   NOT NULL,
    first_seq   BIGINT  NOT NULL,
    id_count    BIGINT  NOT NULL,
    PRIMARY KEY (signature, ix_index, event_index)
);
CREATE INDEX indexer_id_batches_slot ON indexer_id_batches (slot);
CREATE INDEX indexer_id_batches_time ON indexer_id_batches (block_time);

-- Challenges as created (challenge `ChallengeCreated`).
CREATE TABLE indexer_challenges (
    signature   TEXT    NOT NULL,
    ix_index    INTEGER NOT NULL,
    event_index INTEGER NOT NULL,
    slot        BIGINT  NOT NULL,
    tx_index    BIGINT  NOT NULL,
    block_time  BIGINT,
    challenge   BYTEA   NOT NULL,
    creator     BYTEA   NOT NULL,
    mode        TEXT    NOT NULL,
    terms_hash  BYTEA   NOT NULL,
    bond_mint   BYTEA   NOT NULL,
    bond_amount BIGINT  NOT NULL,
    PRIMARY KEY (signature, ix_index, event_index)
);
CREATE INDEX indexer_challenges_slot ON indexer_challenges (slot);
CREATE INDEX indexer_challenges_challenge ON indexer_challenges (challenge);

-- Every status change of every challenge (challenge `StatusChanged`).
CREATE TABLE indexer_challenge_status (
    signature   TEXT    NOT NULL,
    ix_index    INTEGER NOT NULL,
    event_index INTEGER NOT NULL,
    slot        BIGINT  NOT NULL,
    tx_index    BIGINT  NOT NULL,
    block_time  BIGINT,
    challenge   BYTEA   NOT NULL,
    from_status TEXT,
    to_status   TEXT    NOT NULL,
    at          BIGINT  NOT NULL,
    PRIMARY KEY (signature, ix_index, event_index)
);
CREATE INDEX indexer_challenge_status_slot ON indexer_challenge_status (slot);
CREATE INDEX indexer_challenge_status_challenge
    ON indexer_challenge_status (challenge, slot DESC, tx_index DESC, ix_index DESC, event_index DESC);

-- Bonds leaving the vault (challenge `BondsReleased`): payouts and slashes.
CREATE TABLE indexer_bond_releases (
    signature       TEXT    NOT NULL,
    ix_index        INTEGER NOT NULL,
    event_index     INTEGER NOT NULL,
    slot            BIGINT  NOT NULL,
    tx_index        BIGINT  NOT NULL,
    block_time      BIGINT,
    challenge       BYTEA   NOT NULL,
    mint            BYTEA   NOT NULL,
    to_creator      BIGINT  NOT NULL,
    to_counterparty BIGINT  NOT NULL,
    to_treasury     BIGINT  NOT NULL,
    slashed         BIGINT  NOT NULL,
    PRIMARY KEY (signature, ix_index, event_index)
);
CREATE INDEX indexer_bond_releases_slot ON indexer_bond_releases (slot);
CREATE INDEX indexer_bond_releases_mint ON indexer_bond_releases (mint, block_time);

-- The current status of each challenge: its latest status change, in chain order.
CREATE VIEW indexer_challenge_current AS
SELECT DISTINCT ON (challenge)
       challenge, to_status AS status, at, slot, signature
FROM indexer_challenge_status
ORDER BY challenge, slot DESC, tx_index DESC, ix_index DESC, event_index DESC;
