-- Audit finding 8: one transaction stopped indexing for good. `create_challenge` accepts any
-- `bond_amount` (with a self-made mint), and a u64 above i64::MAX did not fit the BIGINT
-- columns: the whole batch was refused, the cursor stayed, and every restart died on the same
-- transaction. Token amounts are now stored losslessly, and an event that still cannot be
-- decoded or projected goes to a dead-letter table while the events around it are indexed.

ALTER TABLE indexer_challenges ALTER COLUMN bond_amount TYPE NUMERIC(20, 0);

-- The partial covering index of GET /analytics/slashes names these columns; it is rebuilt by
-- the type change.
ALTER TABLE indexer_bond_releases
    ALTER COLUMN to_creator      TYPE NUMERIC(20, 0),
    ALTER COLUMN to_counterparty TYPE NUMERIC(20, 0),
    ALTER COLUMN to_treasury     TYPE NUMERIC(20, 0),
    ALTER COLUMN slashed         TYPE NUMERIC(20, 0);

-- Events that could not become rows: the raw event data after Anchor's event tag (or the
-- decoded event as JSON when only the projection failed), and why. Keyed and rolled back
-- like every event table.
CREATE TABLE indexer_dead_letters (
    signature   TEXT     NOT NULL,
    ix_index    INTEGER  NOT NULL,
    event_index INTEGER  NOT NULL,
    slot        BIGINT   NOT NULL,
    tx_index    BIGINT   NOT NULL,
    block_time  BIGINT,
    program     TEXT     NOT NULL,
    kind        TEXT     NOT NULL,
    raw         BYTEA    NOT NULL,
    reason      TEXT     NOT NULL,
    PRIMARY KEY (signature, ix_index, event_index)
);
CREATE INDEX indexer_dead_letters_slot ON indexer_dead_letters USING brin (slot);
