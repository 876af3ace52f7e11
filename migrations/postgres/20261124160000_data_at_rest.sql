-- PostgreSQL twin of migrations/20261124160000_data_at_rest.sql: data keys for encryption at rest, and handoffs' masked data.
-- The data keys live in the secrets backend (as `data-key/<id>`); the store records which key
-- seals new data. At most one key is current (retired_at NULL): the partial unique index makes a
-- second "current" insert fail, so two processes creating the first key at once agree on one.
CREATE TABLE data_keys (
    id          TEXT PRIMARY KEY NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT
);
CREATE UNIQUE INDEX data_keys_current ON data_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;

-- The masked copy of a handoff's data, for display (the data itself is sealed).
ALTER TABLE handoffs ADD COLUMN data_masked TEXT;
