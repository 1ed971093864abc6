-- The relayer's off-chain mirror of the registry's membership sets (relayer/src/registry).
--
-- A track is a token mint's membership set: `track_id = veil_zk::track_id_for(mint)`. Each
-- registered wallet adds one leaf, `Poseidon(identity_commitment, token_id, track_id)`, at
-- the next index. The tree is rebuilt from these rows in `leaf_index` order, so its root
-- equals the one published on chain; a proof is made against the latest published root,
-- which covers the first `published_leaves` leaves.
CREATE TABLE registry_tracks (
    track_id            bytea PRIMARY KEY CHECK (octet_length(track_id) = 32),
    mint                text NOT NULL,
    -- The next leaf index (= leaves registered).
    leaf_count          bigint NOT NULL DEFAULT 0 CHECK (leaf_count >= 0),
    published_leaves    bigint,
    published_root      bytea,
    published_slot      bigint,
    published_signature text,
    CONSTRAINT registry_tracks_published
        CHECK ((published_leaves IS NULL) = (published_root IS NULL)
               AND published_leaves <= leaf_count)
);

-- One leaf per wallet and per identity per track: a wallet cannot take a second identity
-- (a second nullifier) on the same track, and an identity belongs to one wallet.
CREATE TABLE registry_members (
    track_id      bytea NOT NULL REFERENCES registry_tracks (track_id),
    leaf_index    bigint NOT NULL CHECK (leaf_index >= 0),
    commitment    bytea NOT NULL CHECK (octet_length(commitment) = 32),
    token_id      bytea NOT NULL CHECK (octet_length(token_id) = 32),
    leaf          bytea NOT NULL CHECK (octet_length(leaf) = 32),
    wallet        text NOT NULL,
    token_account text NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (track_id, leaf_index),
    UNIQUE (track_id, commitment),
    UNIQUE (track_id, wallet)
);
