-- An attestation made with the gatekeeper's evidence (relayer/src/challenges, issue 14) cites
-- the party's wallet verification and the funds attestations it asked for; the on-chain
-- attestation hash (domain chitty-veil/attestation/v2) covers their ids and commitments.
-- Attestations made from the on-chain signature alone keep both NULL (domain .../v1). The ids
-- are checked through the gatekeeper service, not by a foreign key: the domains keep their own
-- tables.
ALTER TABLE challenge_attestations
    ADD COLUMN wallet_verification_id uuid,
    ADD COLUMN funds_attestation_ids  uuid[];
