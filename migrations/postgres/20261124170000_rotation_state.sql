-- PostgreSQL twin of migrations/20261124170000_rotation_state.sql: a key rotation in progress.
-- Set when `keys rotate` makes a key current, cleared when a pass has re-sealed everything it
-- can. A 0/1 flag in SQLite, bound and read as a bool: BOOLEAN here.
ALTER TABLE data_keys ADD COLUMN rotation_pending BOOLEAN NOT NULL DEFAULT false;
