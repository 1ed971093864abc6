-- Sessions for people (issue 24): a wallet signs in (Sign-In With Solana or EIP-4361, through
-- the gatekeeper, with a nonce issued for this purpose) and gets a short-lived token and a
-- refresh token. Only their SHA-256 is stored; a refresh replaces both; sign-out revokes.
ALTER TABLE gatekeeper_nonces
    ADD COLUMN purpose TEXT NOT NULL DEFAULT 'verification'
        CHECK (purpose IN ('verification', 'session'));

CREATE TABLE auth_sessions (
    id                 UUID PRIMARY KEY,
    token_sha256       BYTEA NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    refresh_sha256     BYTEA NOT NULL UNIQUE CHECK (length(refresh_sha256) = 32),
    chain_id           TEXT NOT NULL,
    address            TEXT NOT NULL,
    -- The wallet verification that started it.
    verification_id    UUID NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at         TIMESTAMPTZ NOT NULL,
    refresh_expires_at TIMESTAMPTZ NOT NULL,
    revoked_at         TIMESTAMPTZ
);
CREATE INDEX auth_sessions_by_wallet ON auth_sessions (address, chain_id);
