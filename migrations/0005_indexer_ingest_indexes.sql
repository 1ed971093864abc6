-- Fewer, cheaper index entries per ingested event (docs/perf.md "Indexer: ingest"). Every
-- B-tree entry is paid on the ingest path, once per row and again by the ON CONFLICT check;
-- these were paid by every row and read by no query.

-- Slots grow with insertion order (a backfill inserts older ones, which only widens a few
-- ranges), and the only reader is the dead-slot rollback (`DELETE … WHERE slot = $1`), on
-- recent slots. A BRIN index answers it for next to nothing per insert; `autosummarize`
-- summarizes each range as it fills, and unsummarized ranges (the newest) are always scanned.
DROP INDEX indexer_events_slot;
CREATE INDEX indexer_events_slot ON indexer_events USING brin (slot) WITH (autosummarize = on);
DROP INDEX indexer_tracks_slot;
CREATE INDEX indexer_tracks_slot ON indexer_tracks USING brin (slot) WITH (autosummarize = on);
DROP INDEX indexer_merkle_roots_slot;
CREATE INDEX indexer_merkle_roots_slot ON indexer_merkle_roots
    USING brin (slot) WITH (autosummarize = on);
DROP INDEX indexer_verifications_slot;
CREATE INDEX indexer_verifications_slot ON indexer_verifications
    USING brin (slot) WITH (autosummarize = on);
DROP INDEX indexer_id_batches_slot;
CREATE INDEX indexer_id_batches_slot ON indexer_id_batches
    USING brin (slot) WITH (autosummarize = on);
DROP INDEX indexer_challenges_slot;
CREATE INDEX indexer_challenges_slot ON indexer_challenges
    USING brin (slot) WITH (autosummarize = on);
DROP INDEX indexer_challenge_status_slot;
CREATE INDEX indexer_challenge_status_slot ON indexer_challenge_status
    USING brin (slot) WITH (autosummarize = on);
DROP INDEX indexer_bond_releases_slot;
CREATE INDEX indexer_bond_releases_slot ON indexer_bond_releases
    USING brin (slot) WITH (autosummarize = on);

-- The raw feed is read by key and by slot only.
DROP INDEX indexer_events_kind_slot;

-- Superseded by indexer_verifications_time (block_time) INCLUDE (track_id) (0004).
DROP INDEX indexer_verifications_track_time;

-- A nullifier is derived per scope, so a lookup always knows its (track, scope, nullifier):
-- indexer_verifications_usage (0004) answers it. The authoritative set is on chain.
DROP INDEX indexer_verifications_nullifier;

-- Signatures are base58 (ASCII): byte order is their order. Under the "C" collation the
-- primary keys compare them with memcmp instead of the database's locale (strcoll). The view
-- over a status history column is recreated around the change, unchanged (0003).
DROP VIEW indexer_challenge_current;
ALTER TABLE indexer_events ALTER COLUMN signature TYPE text COLLATE "C";
ALTER TABLE indexer_tracks ALTER COLUMN signature TYPE text COLLATE "C";
ALTER TABLE indexer_merkle_roots ALTER COLUMN signature TYPE text COLLATE "C";
ALTER TABLE indexer_verifications ALTER COLUMN signature TYPE text COLLATE "C";
ALTER TABLE indexer_id_batches ALTER COLUMN signature TYPE text COLLATE "C";
ALTER TABLE indexer_challenges ALTER COLUMN signature TYPE text COLLATE "C";
ALTER TABLE indexer_challenge_status ALTER COLUMN signature TYPE text COLLATE "C";
ALTER TABLE indexer_bond_releases ALTER COLUMN signature TYPE text COLLATE "C";
CREATE VIEW indexer_challenge_current AS
SELECT DISTINCT ON (challenge)
       challenge, to_status AS status, at, slot, signature
FROM indexer_challenge_status
ORDER BY challenge, slot DESC, tx_index DESC, ix_index DESC, event_index DESC;
