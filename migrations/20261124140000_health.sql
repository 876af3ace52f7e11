-- Health check results, kept for the dashboard's trend and its last-known state offline.
-- One row per check per run. `subject` is an integration's id, or 'local' for the console's own
-- parts; no foreign key, so a run's record does not depend on the integration staying.
-- Times are UTC milliseconds since the epoch. Old runs are pruned per subject.
CREATE TABLE health_results (
    id                  INTEGER PRIMARY KEY,
    -- One health run (a UUIDv7: sorts by time).
    run_id              TEXT NOT NULL,
    checked_at          INTEGER NOT NULL,
    subject             TEXT NOT NULL,
    subject_name        TEXT NOT NULL,
    kind                TEXT NOT NULL CHECK (kind IN ('api', 'database', 'local')),
    -- The subject's overall status and latency in this run (the same on each of its rows).
    subject_status      TEXT NOT NULL CHECK (subject_status IN ('healthy', 'warning', 'error')),
    subject_latency_ms  INTEGER,
    -- The check's place in the subject's list.
    position            INTEGER NOT NULL,
    check_name          TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('healthy', 'warning', 'error')),
    latency_ms          INTEGER,
    -- Written by the console, never with a secret.
    reason              TEXT
);
CREATE INDEX health_results_subject ON health_results (subject, run_id DESC);
