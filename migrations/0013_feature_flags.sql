-- Feature flags changed at runtime (issue 13, SPEC §6). A flag without a row takes its value
-- from the environment (FF_*); a row, written by `PUT /admin/flags`, overrides it on every
-- relayer instance within the refresh interval.
CREATE TABLE feature_flags (
    name       TEXT PRIMARY KEY,
    rollout    TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Every change, with who made it.
CREATE TABLE feature_flag_changes (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL,
    previous   TEXT NOT NULL,
    rollout    TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX feature_flag_changes_by_name ON feature_flag_changes (name, changed_at);
