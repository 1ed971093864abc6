-- Indexes for the indexer's analytics API (indexer/src/api/, docs/indexer.md "Analytics API").
-- Each fits exactly one endpoint's query; the indexes laid by 0003 serve the others.

-- GET /api/v1/analytics/verifications: a block_time range, grouped by track and bucket.
-- Index-only scan over the range (track_id is carried in the leaf).
CREATE INDEX indexer_verifications_time ON indexer_verifications (block_time) INCLUDE (track_id);

-- GET /api/v1/analytics/nullifiers: per track, spent nullifiers and distinct scopes.
-- Index-only scan in track order; scopes arrive sorted within a track.
CREATE INDEX indexer_verifications_usage ON indexer_verifications (track_id, scope, nullifier);

-- GET /api/v1/analytics/slashes: slashed volume per mint. Partial and covering: only the
-- releases that slashed something, in mint order, with the amounts summed.
CREATE INDEX indexer_bond_releases_slashed ON indexer_bond_releases (mint)
    INCLUDE (slashed, to_treasury) WHERE slashed > 0;

-- GET /api/v1/analytics/id-mints: the relayer's ChittyIDs per hour. BRIN, not B-tree:
-- created_at grows with insertion order, and a BRIN index costs the relayer's mint path
-- (group commits of thousands of rows per second) next to nothing.
CREATE INDEX chittyids_created_brin ON chittyids USING brin (created_at);
