-- ChittyIDs with all of their evidence (SPEC §5.2), their batches (§5.4) and the
-- provisional-to-final mapping of reconciliation (§5.5).

CREATE TABLE vrf_keys (
    key_id      text PRIMARY KEY,               -- hex of the first 8 bytes of SHA-256(public_key)
    public_key  bytea NOT NULL UNIQUE CHECK (length(public_key) = 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE id_batches (
    id               bigserial PRIMARY KEY,
    root             bytea NOT NULL CHECK (length(root) = 32),   -- RFC 6962 root over the IDs
    size             integer NOT NULL CHECK (size > 0),
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'anchored')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    anchor_signature text,
    anchor_slot      bigint,
    anchored_at      timestamptz
);

CREATE TABLE chittyids (
    id                text PRIMARY KEY,
    namespace         text NOT NULL,
    entity_type       char(1) NOT NULL,
    yymm              char(4) NOT NULL,
    sequence          char(8) NOT NULL,
    trust_level       smallint NOT NULL CHECK (trust_level BETWEEN 0 AND 9),
    content_hash      bytea NOT NULL CHECK (length(content_hash) = 32),
    request_nonce     bytea NOT NULL,
    drand_round       bigint NOT NULL,
    drand_randomness  bytea NOT NULL CHECK (length(drand_randomness) = 32),
    drand_signature   bytea NOT NULL,
    -- Not a foreign key on purpose: vrf_keys rows are registered before a key mints and never
    -- deleted, and the per-row FOR KEY SHARE lock of a foreign key, taken by every group commit
    -- on the same parent row, cost more PostgreSQL CPU than the insert itself (docs/perf.md).
    vrf_key_id        text NOT NULL,
    vrf_counter       integer NOT NULL CHECK (vrf_counter >= 0),
    vrf_beta          bytea NOT NULL CHECK (length(vrf_beta) = 64),
    vrf_proof         bytea NOT NULL CHECK (length(vrf_proof) = 80),
    api_key_id        text,
    status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'anchored')),
    batch_id          bigint REFERENCES id_batches (id),
    batch_index       integer,
    created_at        timestamptz NOT NULL DEFAULT now(),
    -- A collision in (namespace, YYMM, sequence) is retried with the next counter.
    CONSTRAINT chittyids_sequence_unique UNIQUE (namespace, yymm, sequence),
    CONSTRAINT chittyids_batch_position CHECK ((batch_id IS NULL) = (batch_index IS NULL))
);

-- The batcher takes unbatched IDs oldest first.
CREATE INDEX chittyids_unbatched ON chittyids (created_at, id) WHERE batch_id IS NULL;
CREATE INDEX chittyids_batch ON chittyids (batch_id, batch_index) WHERE batch_id IS NOT NULL;

CREATE TABLE reconciliations (
    provisional_id  text PRIMARY KEY,
    final_id        text NOT NULL UNIQUE REFERENCES chittyids (id),
    fallback_seq    bigint NOT NULL,
    record          jsonb NOT NULL,               -- the signed provisional record, as received
    reconciled_at   timestamptz NOT NULL DEFAULT now()
);
