-- The gatekeeper's attestation records (relayer/src/challenges). Each row is the evidence
-- behind one `attest_verification`: the checks' results and a salted hash of the balance that
-- was checked (the balance itself is never stored). SHA-256 of the record is the
-- `attestation_hash` on chain. The row is written before the transaction is sent, so a retry
-- attests exactly what was recorded.
CREATE TABLE challenge_attestations (
    key              text PRIMARY KEY,
    challenge        text NOT NULL,
    party            text NOT NULL CHECK (party IN ('creator', 'counterparty')),
    wallet           text NOT NULL,
    wallet_ok        boolean NOT NULL,
    funds_ok         boolean NOT NULL,
    salt             bytea NOT NULL CHECK (octet_length(salt) = 16),
    balance_hash     bytea NOT NULL CHECK (octet_length(balance_hash) = 32),
    attestation_hash bytea NOT NULL CHECK (octet_length(attestation_hash) = 32),
    signature        text,
    slot             bigint,
    created_at       timestamptz NOT NULL DEFAULT now()
);
