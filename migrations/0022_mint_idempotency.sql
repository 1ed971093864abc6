-- Idempotent mints (issue 24): a mint sent with an `Idempotency-Key` records the key, scoped to
-- who asked (an API key, or `wallet:<chain>:<address>` for a session), with a SHA-256 of the
-- request, in the same transaction as the ID. The same key again answers the same ID; the
-- same key with another request is refused.
CREATE TABLE mint_idempotency (
    requester   TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint BYTEA NOT NULL CHECK (length(fingerprint) = 32),
    id          TEXT NOT NULL REFERENCES chittyids (id),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (requester, key)
);
