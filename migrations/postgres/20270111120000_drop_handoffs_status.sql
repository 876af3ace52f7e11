-- PostgreSQL twin of migrations/20270111120000_drop_handoffs_status.sql: the bulk retry's list
-- of failed handoffs finds them by the state index, as on SQLite; the status index is dropped
-- so that a handoff's writes no longer keep it.
DROP INDEX handoffs_status;
