-- The gatekeeper's wallet sign-ins (issue 14, SPEC §6 "Gatekeeper"). A nonce is issued with
-- the exact message the wallet must sign, and used at most once; a successful verification is
-- a record the funds check and the challenge attestation cite by id. Times are Unix seconds
-- from the relayer's clock.
CREATE TABLE gatekeeper_nonces (
    nonce           TEXT PRIMARY KEY CHECK (nonce ~ '^[0-9a-f]{32}$'),
    chain_id        TEXT NOT NULL,
    address         TEXT NOT NULL,
    domain          TEXT NOT NULL,
    message         TEXT NOT NULL,
    api_key_id      TEXT,
    issued_at_unix  BIGINT NOT NULL,
    expires_at_unix BIGINT NOT NULL,
    used_at_unix    BIGINT
);
CREATE INDEX gatekeeper_nonces_unused_by_expiry ON gatekeeper_nonces (expires_at_unix)
    WHERE used_at_unix IS NULL;

CREATE TABLE gatekeeper_wallet_verifications (
    id               UUID PRIMARY KEY,
    chain_id         TEXT NOT NULL,
    address          TEXT NOT NULL,
    nonce            TEXT NOT NULL UNIQUE REFERENCES gatekeeper_nonces (nonce),
    message_sha256   BYTEA NOT NULL CHECK (length(message_sha256) = 32),
    api_key_id       TEXT,
    verified_at_unix BIGINT NOT NULL
);
CREATE INDEX gatekeeper_wallet_verifications_by_wallet
    ON gatekeeper_wallet_verifications (address, chain_id);

-- Proof of funds: PASSED or FAILED against a threshold, for a verified wallet. The balance
-- itself is never stored: only SHA-256(salt ‖ balance as 32 bytes big-endian) with a random
-- per-attestation salt, and the slot (or block) it was read at.
CREATE TABLE gatekeeper_funds_attestations (
    id               UUID PRIMARY KEY,
    verification_id  UUID NOT NULL REFERENCES gatekeeper_wallet_verifications (id),
    chain_id         TEXT NOT NULL,
    address          TEXT NOT NULL,
    asset            TEXT NOT NULL,
    threshold        TEXT NOT NULL,
    decimals         SMALLINT NOT NULL,
    passed           BOOLEAN NOT NULL,
    salt             BYTEA NOT NULL CHECK (length(salt) = 16),
    balance_hash     BYTEA NOT NULL CHECK (length(balance_hash) = 32),
    read_at          BIGINT NOT NULL,
    api_key_id       TEXT,
    created_at_unix  BIGINT NOT NULL
);
CREATE INDEX gatekeeper_funds_attestations_by_verification
    ON gatekeeper_funds_attestations (verification_id);
