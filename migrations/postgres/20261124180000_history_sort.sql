-- PostgreSQL twin of migrations/20261124180000_history_sort.sql: indexes for paging the attempt history by its sort columns.
-- The same columns as SQLite's. SQLite's indexes also carry the rowid, which its queries use as
-- the last tie-breaker; PostgreSQL has no rowid, so the PostgreSQL store's queries must break
-- ties on `id` instead (the store back end's concern, not this schema's).
CREATE INDEX attempts_started_id ON attempts (started_at, id);
CREATE INDEX attempts_duration ON attempts (duration_ms, started_at);
CREATE INDEX attempts_integration_name ON attempts (integration_name, started_at);
