-- Audit finding 6: `anchor_id_batch` now refuses a batch whose range overlaps the namespace's
-- previous one, so a batch is anchored with the sequence number of its first ID among all IDs
-- batched (`first_seq`), no longer with its batch id (consecutive ids made overlapping
-- ranges [id, id + size)). The next free number lives in one row; a cut takes its range from
-- it in the cut's transaction, so ranges are assigned (and committed) in order, and the
-- anchorer anchors in `first_seq` order.
ALTER TABLE id_batches ADD COLUMN first_seq bigint;

CREATE TABLE id_batch_sequence (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    next_seq bigint NOT NULL CHECK (next_seq >= 0)
);

-- Batches anchored before keep the number they were anchored with (their id); every other
-- batch gets a fresh range past all of those.
UPDATE id_batches SET first_seq = id WHERE status = 'anchored';
INSERT INTO id_batch_sequence (next_seq)
    SELECT COALESCE(max(id + size), 0) FROM id_batches;
WITH pending AS (
    SELECT id, sum(size) OVER (ORDER BY id) - size AS offset_in_run
    FROM id_batches WHERE status = 'pending'
)
UPDATE id_batches b SET first_seq = s.next_seq + p.offset_in_run
    FROM pending p, id_batch_sequence s WHERE b.id = p.id;
UPDATE id_batch_sequence
    SET next_seq = next_seq + (SELECT COALESCE(sum(size), 0) FROM id_batches WHERE status = 'pending');

ALTER TABLE id_batches ALTER COLUMN first_seq SET NOT NULL;
CREATE UNIQUE INDEX id_batches_first_seq ON id_batches (first_seq);
