-- Chain events for webhooks (issue 15): the indexer records an outbox event beside each
-- challenge, status change, bond release and ownership verification it writes, in the same
-- statement (only while some enabled endpoint subscribes to its type), and a `….undone` event
-- for each one a rolled-back slot removes. Addresses travel in base58, as the API shows them.
CREATE FUNCTION veil_base58(b bytea) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    alphabet CONSTANT text := '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
    n numeric := 0;
    out text := '';
BEGIN
    FOR i IN 0 .. length(b) - 1 LOOP
        n := n * 256 + get_byte(b, i);
    END LOOP;
    WHILE n > 0 LOOP
        out := substr(alphabet, mod(n, 58)::int + 1, 1) || out;
        n := div(n, 58);
    END LOOP;
    FOR i IN 0 .. length(b) - 1 LOOP
        EXIT WHEN get_byte(b, i) <> 0;
        out := '1' || out;
    END LOOP;
    RETURN out;
END
$$;
