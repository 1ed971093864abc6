-- Idempotency keys expire (issue 24): each key answers its ID until `expires_at`
-- (RELAYER_IDEMPOTENCY_TTL_HOURS after the mint, 7 days by default); after that the key is
-- free again and a mint under it makes a new ID. Expired rows are pruned hourly; a lookup
-- never answers from an expired row, and a new mint under an expired key replaces it.
-- Keys recorded before this migration expire 7 days after it.
ALTER TABLE mint_idempotency
    ADD COLUMN expires_at TIMESTAMPTZ NOT NULL DEFAULT now() + interval '7 days';
ALTER TABLE mint_idempotency ALTER COLUMN expires_at DROP DEFAULT;
CREATE INDEX mint_idempotency_expires ON mint_idempotency (expires_at);
