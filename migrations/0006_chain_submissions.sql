-- The relayer's transactions, one row per idempotency key (relayer/src/chain/store.rs).
--
-- A key names an effect, not a transaction: `anchor_id_batch:42` is "batch 42 is anchored".
-- The row is written before anything is sent and follows the effect to its end, so a
-- restarted or concurrent relayer resumes the same submission instead of sending a second
-- one. A transaction is only rebuilt (new blockhash, new signature) once the chain's block
-- height has passed the `last_valid_block_height` of the one in flight: from then on the
-- old one can never land, so the effect is applied at most once.
CREATE TABLE chain_submissions (
    key                     text PRIMARY KEY,
    -- sending: `signature` is in flight; landed / failed: it landed (and failed, with
    -- `error`); rejected: the node refused it before it could land (`error`), so the next
    -- submit under this key builds a new one.
    status                  text NOT NULL
                            CHECK (status IN ('sending', 'landed', 'failed', 'rejected')),
    signature               text NOT NULL,
    last_valid_block_height bigint NOT NULL,
    -- Every signature sent under this key, oldest first (at most one of them landed).
    signatures              text[] NOT NULL,
    slot                    bigint,
    error                   text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT chain_submissions_outcome
        CHECK ((status IN ('landed', 'failed')) = (slot IS NOT NULL))
);
