-- PostgreSQL twin of migrations/20261220120000_intake.sql: intake sources and the inbox of accepted messages.
-- Times are UTC milliseconds since the epoch.

-- Who may send and how each proves it. Its secrets live in the secrets backend (keys
-- `source/<id>/current` and `source/<id>/previous`), never here.
CREATE TABLE intake_sources (
    id              TEXT PRIMARY KEY NOT NULL,
    -- The URL segment: /intake/v1/<name>.
    name            TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('voice', 'ehr', 'other')),
    -- `intake::verify::Verification` as JSON (the mode and its header names; no secret).
    verification    TEXT NOT NULL,
    enabled         BOOLEAN NOT NULL DEFAULT true,
    -- Messages accepted per minute, at most; more are answered 429.
    rate_per_minute BIGINT NOT NULL,
    -- The integrations it may name (JSON array of ids).
    integrations    TEXT NOT NULL DEFAULT '[]',
    -- Until when the secret a rotation replaced is still accepted (NULL: no previous secret).
    previous_until  BIGINT,
    created_at      BIGINT NOT NULL,
    -- Only grows: it versions the keys other processes keep in memory.
    updated_at      BIGINT NOT NULL
);

-- Every accepted message. The row is committed before the sender is answered, so an answered
-- message is never lost. No foreign key to the sources: the inbox outlives a removed source.
CREATE TABLE intake_messages (
    id              TEXT PRIMARY KEY NOT NULL,
    source_id       TEXT NOT NULL,
    source_name     TEXT NOT NULL,
    -- Which route took it. Named, so that the intake_seed_routes twin can replace it.
    endpoint        TEXT NOT NULL CONSTRAINT intake_messages_endpoint_check CHECK (endpoint IN ('webhook', 'handoff')),
    -- The sender's message id: a repeat is answered with the first message's answer.
    message_key     TEXT,
    -- The body as received, sealed like handoff data.
    body            TEXT NOT NULL,
    body_bytes      BIGINT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('received', 'mapped', 'ignored', 'failed')),
    -- The handoff it becomes; chosen when it is accepted.
    handoff_id      TEXT,
    integration_id  TEXT,
    session_id      TEXT,
    error           TEXT,
    received_at     BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX intake_messages_key ON intake_messages (source_id, message_key) WHERE message_key IS NOT NULL;
CREATE INDEX intake_messages_received ON intake_messages (received_at);
CREATE INDEX intake_messages_source ON intake_messages (source_id, received_at);
CREATE INDEX intake_messages_status ON intake_messages (status, received_at);
CREATE INDEX intake_messages_handoff ON intake_messages (handoff_id) WHERE handoff_id IS NOT NULL;
