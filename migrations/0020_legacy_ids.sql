-- IDs of the earlier ChittyOS services (issue 24): `veil-relayer legacy import` reserves each
-- old ID here, mints a current ID for it and records that ID. `new_id` is NULL only between the
-- two (a run cut off there is finished by the next run).
CREATE TABLE legacy_ids (
    legacy_id   TEXT PRIMARY KEY,
    entity_type TEXT NOT NULL CHECK (entity_type IN ('P', 'L', 'T', 'E', 'A', 'I')),
    new_id      TEXT UNIQUE REFERENCES chittyids (id),
    reserved_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    imported_at TIMESTAMPTZ
);
