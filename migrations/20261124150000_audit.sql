-- The audit trail: who did what, when, to which object. Rows are only ever added: the triggers
-- below refuse every UPDATE and DELETE, so no code path (ours or a mistaken statement) can
-- change or drop an entry. They guard against mistakes, not against someone who can write the
-- file itself (they could drop the triggers).
-- `at` is ms since the epoch (UTC); `details` is JSON, secrets redacted before it is written.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    object_type  TEXT,
    object_id    TEXT,
    object_name  TEXT,
    details      TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_action ON audit_log (action, at);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id, at);
CREATE INDEX audit_log_actor ON audit_log (actor, at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
