-- Listing and reading challenges (issue 24, part 3).
--
-- `indexer_challenge_parties`: the challenge program's `CounterpartySet` events, a named
-- counterparty at creation (`accepted` false) or the wallet that accepted (`accepted` true).
-- Keyed and rolled back like every indexer table (0003).
CREATE TABLE indexer_challenge_parties (
    signature    TEXT    NOT NULL,
    ix_index     INTEGER NOT NULL,
    event_index  INTEGER NOT NULL,
    slot         BIGINT  NOT NULL,
    tx_index     BIGINT  NOT NULL,
    block_time   BIGINT,
    challenge    BYTEA   NOT NULL,
    counterparty BYTEA   NOT NULL,
    accepted     BOOLEAN NOT NULL,
    PRIMARY KEY (signature, ix_index, event_index)
);
CREATE INDEX indexer_challenge_parties_slot ON indexer_challenge_parties (slot);
CREATE INDEX indexer_challenge_parties_counterparty
    ON indexer_challenge_parties (counterparty, challenge);
CREATE INDEX indexer_challenge_parties_challenge
    ON indexer_challenge_parties (challenge, slot DESC, tx_index DESC, ix_index DESC, event_index DESC);

-- `GET /api/v2/challenges` pages newest first by the creation event's chain order.
CREATE INDEX indexer_challenges_order
    ON indexer_challenges (slot DESC, tx_index DESC, ix_index DESC, event_index DESC);
CREATE INDEX indexer_challenges_creator
    ON indexer_challenges (creator, slot DESC, tx_index DESC, ix_index DESC, event_index DESC);

-- Which API key built a challenge's `create` (the relayer's own record; a challenge built
-- and never signed has a row here and none in `indexer_challenges`, so it is never listed).
CREATE TABLE challenge_origins (
    challenge  BYTEA       NOT NULL,
    key_id     TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (key_id, challenge)
);

-- The relayer's challenge read cache drops an entry when the indexer records (or rolls back)
-- an event of that challenge: a NOTIFY on `veil_challenge` with `<address> <slot>`, delivered
-- at commit. Only challenge-program rows fire it, so registry ingest pays a WHEN test per
-- row. The channel is `challenges::reads::CHANNEL` in the relayer.
CREATE FUNCTION veil_challenge_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r indexer_events;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF r.payload ? 'challenge' THEN
        PERFORM pg_notify('veil_challenge', (r.payload->>'challenge') || ' ' || r.slot::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER indexer_events_challenge_added AFTER INSERT ON indexer_events
    FOR EACH ROW WHEN (NEW.program = 'challenge') EXECUTE FUNCTION veil_challenge_changed();
CREATE TRIGGER indexer_events_challenge_removed AFTER DELETE ON indexer_events
    FOR EACH ROW WHEN (OLD.program = 'challenge') EXECUTE FUNCTION veil_challenge_changed();
