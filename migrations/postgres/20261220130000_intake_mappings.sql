-- PostgreSQL twin of migrations/20261220130000_intake_mappings.sql: intake mappings, and the inbox's headers and mapping.

CREATE TABLE intake_mappings (
    id              TEXT PRIMARY KEY NOT NULL,
    source_id       TEXT NOT NULL REFERENCES intake_sources (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    -- `intake::mappings::EventMatch` as JSON; NULL: every message of the source no other
    -- mapping takes.
    event           TEXT,
    integration_id  TEXT NOT NULL,
    -- `intake::mappings::FieldMapping`s as JSON (pointers, constants, transforms).
    fields          TEXT NOT NULL,
    -- Where the handoff's session id comes from (`ValueSource` as JSON); NULL: the message id.
    session         TEXT,
    -- realtime: delivered at once; manual: waits in the inbox for a person to release it.
    sync            TEXT NOT NULL CHECK (sync IN ('realtime', 'manual')),
    enabled         BOOLEAN NOT NULL DEFAULT true,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (source_id, name)
);
CREATE INDEX intake_mappings_source ON intake_mappings (source_id, created_at);

-- The message's headers as received, credentials left out (JSON object, sealed like the body).
ALTER TABLE intake_messages ADD COLUMN headers TEXT;
-- The mapping that took it (kept when the mapping is removed: the name says which it was).
ALTER TABLE intake_messages ADD COLUMN mapping_id TEXT;
ALTER TABLE intake_messages ADD COLUMN mapping_name TEXT;
