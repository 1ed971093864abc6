-- Audit finding 7: ownership was a registration-time snapshot, so a sold token kept proving
-- forever. Each publication now re-reads every registered wallet's holding at one slot and
-- builds the tree from current holders only: a member that no longer holds keeps its leaf
-- index (the leaf count never decreases) but its leaf is the empty leaf (zero) under that
-- root. `active` says whether the member's leaf was in the latest published tree, and the
-- track records the slot of that snapshot, which the root carries on chain; proofs against it
-- are accepted while that slot is within the track's freshness window.
ALTER TABLE registry_members ADD COLUMN active boolean NOT NULL DEFAULT true;
ALTER TABLE registry_tracks ADD COLUMN published_snapshot_slot bigint;
