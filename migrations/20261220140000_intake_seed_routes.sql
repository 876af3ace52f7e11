-- The seed's routes on a source: `database` (POST /intake/v1/<source>/data-handoff/database,
-- {dbConfig, data}: the source's database integration that dbConfig names) and `push`
-- (POST /intake/v1/<source>/integrations/push, {system, mapping, data}: the mapping named).
-- SQLite cannot change a CHECK constraint: the table is rebuilt with the wider one, rows kept.
CREATE TABLE intake_messages_new (
    id              TEXT PRIMARY KEY NOT NULL,
    source_id       TEXT NOT NULL,
    source_name     TEXT NOT NULL,
    endpoint        TEXT NOT NULL CHECK (endpoint IN ('webhook', 'handoff', 'database', 'push')),
    message_key     TEXT,
    body            TEXT NOT NULL,
    body_bytes      INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('received', 'mapped', 'ignored', 'failed')),
    handoff_id      TEXT,
    integration_id  TEXT,
    session_id      TEXT,
    error           TEXT,
    received_at     INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    headers         TEXT,
    mapping_id      TEXT,
    mapping_name    TEXT
);
INSERT INTO intake_messages_new (id, source_id, source_name, endpoint, message_key, body, body_bytes,
                                 status, handoff_id, integration_id, session_id, error, received_at,
                                 updated_at, headers, mapping_id, mapping_name)
    SELECT id, source_id, source_name, endpoint, message_key, body, body_bytes, status, handoff_id,
           integration_id, session_id, error, received_at, updated_at, headers, mapping_id,
           mapping_name
    FROM intake_messages;
DROP TABLE intake_messages;
ALTER TABLE intake_messages_new RENAME TO intake_messages;
CREATE UNIQUE INDEX intake_messages_key ON intake_messages (source_id, message_key) WHERE message_key IS NOT NULL;
CREATE INDEX intake_messages_received ON intake_messages (received_at);
CREATE INDEX intake_messages_source ON intake_messages (source_id, received_at);
CREATE INDEX intake_messages_status ON intake_messages (status, received_at);
CREATE INDEX intake_messages_handoff ON intake_messages (handoff_id) WHERE handoff_id IS NOT NULL;
