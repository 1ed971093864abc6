-- Wake the delivery workers when there is work (issue 15): every statement that inserts into
-- the outbox (a mint's group commit, an anchoring, the indexer's chain events) or into
-- `notifications` sends a NOTIFY on `veil_outbox`, delivered when its transaction commits. The
-- workers LISTEN and start a round at once instead of waiting out RELAYER_WEBHOOK_POLL_MS; the
-- poll stays as the fallback when the listening connection is lost. The channel name is
-- `platform::outbox::WAKE_CHANNEL` in the relayer.
CREATE FUNCTION veil_outbox_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('veil_outbox', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_events_wake AFTER INSERT ON outbox_events
    FOR EACH STATEMENT EXECUTE FUNCTION veil_outbox_wake();
CREATE TRIGGER notifications_wake AFTER INSERT ON notifications
    FOR EACH STATEMENT EXECUTE FUNCTION veil_outbox_wake();
