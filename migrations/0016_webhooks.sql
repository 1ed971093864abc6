-- Webhooks (issue 15, SPEC §6 "Webhooks").
--
-- `outbox_events` is the platform's outbox: a domain writes its events here in the same
-- transaction as the state change that causes them (a mint's rows, the indexer's rows for a
-- chain event), so no event is lost when a process dies. The webhooks domain fans each event out
-- to the endpoints that want it and marks it dispatched.
CREATE TABLE outbox_events (
    seq           BIGSERIAL PRIMARY KEY,
    -- The Standard Webhooks message id (`msg_…`), the same for every delivery and retry.
    id            TEXT NOT NULL UNIQUE,
    type          TEXT NOT NULL,
    -- The API key the event belongs to; NULL: every endpoint that subscribes to the type.
    audience      TEXT,
    -- What the event is about (an ID, a challenge, an endpoint).
    subject       TEXT NOT NULL,
    data          JSONB NOT NULL,
    -- Chain events: the transaction and its slot.
    signature     TEXT,
    slot          BIGINT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    dispatched_at TIMESTAMPTZ
);
CREATE INDEX outbox_events_undispatched ON outbox_events (seq) WHERE dispatched_at IS NULL;

-- An endpoint belongs to one API key. Its signing secret is never stored: it is derived from
-- the relayer's HMAC master, the endpoint id and `secret_generation`; rotating bumps the
-- generation and keeps the previous one valid until `previous_until`.
CREATE TABLE webhook_endpoints (
    id                UUID PRIMARY KEY,
    api_key_id        TEXT NOT NULL,
    url               TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    event_types       TEXT[] NOT NULL,
    enabled           BOOLEAN NOT NULL DEFAULT true,
    secret_generation INTEGER NOT NULL DEFAULT 1,
    previous_until    TIMESTAMPTZ,
    -- Since when every delivery has failed (NULL after any success).
    failing_since     TIMESTAMPTZ,
    disabled_reason   TEXT,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_by_key ON webhook_endpoints (api_key_id);

CREATE TABLE webhook_deliveries (
    id              UUID PRIMARY KEY,
    event_seq       BIGINT NOT NULL REFERENCES outbox_events (seq),
    endpoint_id     UUID NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    -- Attempts in the current schedule (a replay starts a new one).
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- When it is due; while a worker holds it, when its lease ends.
    next_attempt_at TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at    TIMESTAMPTZ,
    UNIQUE (event_seq, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, created_at);

CREATE TABLE webhook_attempts (
    id            BIGSERIAL PRIMARY KEY,
    delivery_id   UUID NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- NULL when no answer came (refused, timed out, forbidden target).
    status_code   INTEGER,
    latency_ms    INTEGER NOT NULL,
    -- The first 1 KiB of the answer.
    response_body TEXT NOT NULL DEFAULT '',
    error         TEXT
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, id);
