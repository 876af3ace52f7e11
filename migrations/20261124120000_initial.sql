-- Integrations, handoffs and attempts. Times are UTC milliseconds since the epoch.

CREATE TABLE integrations (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    kind         TEXT NOT NULL CHECK (kind IN ('api', 'database')),
    -- The config as JSON, with every secret replaced by the mask; secrets live in the keyring.
    config       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- One delivery of one session's data to one integration; the same across its retries.
-- No foreign key to integrations: history outlives a removed integration.
CREATE TABLE handoffs (
    id               TEXT PRIMARY KEY NOT NULL,
    integration_id   TEXT NOT NULL,
    session_id       TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    -- The collected data (JSON), kept so a retry can resend it.
    data             TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- Set while an automatic retry is scheduled.
    next_attempt_at  INTEGER,
    -- Set while an attempt runs: if the process dies, the handoff is due again after it.
    in_flight_until  INTEGER,
    last_attempt_id  TEXT,
    submission_id    TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX handoffs_due ON handoffs (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX handoffs_in_flight ON handoffs (in_flight_until) WHERE in_flight_until IS NOT NULL;
CREATE INDEX handoffs_status ON handoffs (status, integration_id);

CREATE TABLE attempts (
    id                   TEXT PRIMARY KEY NOT NULL,
    handoff_id           TEXT NOT NULL REFERENCES handoffs (id),
    integration_id       TEXT NOT NULL,
    integration_name     TEXT NOT NULL,
    session_id           TEXT NOT NULL,
    trigger              TEXT NOT NULL CHECK (trigger IN ('live', 'test', 'retry', 'webhook')),
    -- 1 when the retry worker made this attempt, 0 when a person or a caller did.
    automatic            INTEGER NOT NULL DEFAULT 0,
    attempt_number       INTEGER NOT NULL,
    previous_attempt_id  TEXT,
    status               TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    category             TEXT CHECK (category IN ('network', 'timeout', 'authentication', 'configuration', 'validation', 'server')),
    retryable            INTEGER NOT NULL DEFAULT 0,
    status_code          INTEGER,
    message              TEXT NOT NULL DEFAULT '',
    submission_id        TEXT,
    -- What was sent, secrets redacted (JSON).
    request              TEXT,
    response_excerpt     TEXT,
    -- When the automatic retry of this failure is due, if one was scheduled.
    next_retry_at        INTEGER,
    started_at           INTEGER NOT NULL,
    finished_at          INTEGER,
    duration_ms          INTEGER
);
CREATE INDEX attempts_started ON attempts (started_at DESC);
CREATE INDEX attempts_integration ON attempts (integration_id, started_at DESC);
CREATE INDEX attempts_session ON attempts (session_id, started_at DESC);
CREATE INDEX attempts_handoff ON attempts (handoff_id, attempt_number);
CREATE INDEX attempts_status ON attempts (status, started_at DESC);
