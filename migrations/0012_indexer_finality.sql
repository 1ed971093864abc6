-- Audit finding 12: rows are indexed at `confirmed`, and nothing said which of them can no
-- longer be rolled back. Each pipeline records the newest finalized slot its source reported
-- (a watermark that only moves forward); rows with `slot <= finalized_slot` are final, so
-- consumers that need finality filter on it:
--   ... WHERE slot <= (SELECT finalized_slot FROM indexer_finality WHERE name = 'geyser')
CREATE TABLE indexer_finality (
    name           text PRIMARY KEY,
    finalized_slot bigint NOT NULL CHECK (finalized_slot >= 0),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
