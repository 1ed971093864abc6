-- Notifications (issue 15): email and SMS to the people behind a webhook endpoint.
--
-- An endpoint may name an email address and an E.164 number. When the relayer disables the
-- endpoint (every delivery failed for too long), one notification per contact is written in
-- the same transaction, so none is lost when a process dies; the delivery workers send them
-- through the configured notifiers and retry on the webhook schedule.
ALTER TABLE webhook_endpoints
    ADD COLUMN notify_email TEXT,
    ADD COLUMN notify_sms   TEXT;

CREATE TABLE notifications (
    id              UUID PRIMARY KEY,
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    -- What caused it (`endpoint.disabled:<endpoint id>:<failing since>`): one notification
    -- per cause and channel.
    cause           TEXT NOT NULL,
    api_key_id      TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- When it is due; while a worker holds it, when its lease ends.
    next_attempt_at TIMESTAMPTZ DEFAULT now(),
    -- The provider's id once it took the message.
    provider_id     TEXT,
    -- The last failure (recipients masked).
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at         TIMESTAMPTZ,
    UNIQUE (cause, channel)
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
