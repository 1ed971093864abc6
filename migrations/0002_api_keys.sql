-- API keys (SPEC §6 "Auth"). A key is `cvk_<key_id>_<secret>`; only SHA-256(pepper ‖ secret)
-- is stored, the pepper living outside the database. The HMAC signing secret is derived from
-- a master secret and the key id, so it is not stored either.

CREATE TABLE api_keys (
    key_id        text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
    key_hash      bytea NOT NULL CHECK (length(key_hash) = 32),
    label         text NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
    -- Scope names (`chittyid:mint`, `chittyid:verify`, `admin`); unknown names are ignored
    -- with a warning by the relayer, so a newer scope can be granted before every instance
    -- knows it.
    scopes        text[] NOT NULL DEFAULT '{}',
    -- The key's GCRA quota: sustained requests per second, and requests allowed at once.
    rate_per_sec  integer NOT NULL CHECK (rate_per_sec > 0),
    burst         integer NOT NULL CHECK (burst > 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);

-- Admin listings of live keys, newest first.
CREATE INDEX api_keys_live ON api_keys (created_at DESC) WHERE revoked_at IS NULL;
