-- Metadata on a mint (issue 24): an optional object of scalar values, kept off chain, shown to
-- whoever minted the ID and to others only when the minter marked it public. An authoritative
-- ID's metadata is written in its mint's transaction. `id` carries no foreign key because a
-- provisional ID (from the fallback minter) has no `chittyids` row here.
CREATE TABLE chittyid_metadata (
    id         TEXT PRIMARY KEY,
    requester  TEXT,
    metadata   JSONB NOT NULL,
    public     BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
