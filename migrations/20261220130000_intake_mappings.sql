-- Intake mappings: which of a source's messages become handoffs to which integration, and how
-- a message's fields become the integration's fields. And what the inbox keeps of a message's
-- headers (for mappings that read the event type from one).

CREATE TABLE intake_mappings (
    id              TEXT PRIMARY KEY NOT NULL,
    source_id       TEXT NOT NULL REFERENCES intake_sources (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    -- `intake::mappings::EventMatch` as JSON: where the event type is read (a JSON pointer
    -- into the body, or a header) and the value it must have. NULL: every message of the source
    -- no other mapping takes.
    event           TEXT,
    integration_id  TEXT NOT NULL,
    -- `intake::mappings::FieldMapping`s as JSON (pointers, constants, transforms).
    fields          TEXT NOT NULL,
    -- Where the handoff's session id comes from (`ValueSource` as JSON); NULL: the message id.
    session         TEXT,
    -- realtime: delivered at once; manual: waits in the inbox for a person to release it.
    sync            TEXT NOT NULL CHECK (sync IN ('realtime', 'manual')),
    enabled         INTEGER NOT NULL DEFAULT 1,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (source_id, name)
);
CREATE INDEX intake_mappings_source ON intake_mappings (source_id, created_at);

-- The message's headers as received, credentials left out (JSON object, sealed like the body):
-- a mapping may read its event type from one.
ALTER TABLE intake_messages ADD COLUMN headers TEXT;
-- The mapping that took it (kept when the mapping is removed: the name says which it was).
ALTER TABLE intake_messages ADD COLUMN mapping_id TEXT;
ALTER TABLE intake_messages ADD COLUMN mapping_name TEXT;
