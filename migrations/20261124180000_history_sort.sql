-- The Stats panel pages through 100 000+ attempts sorted by these columns. Each index holds the
-- sort column, then the tie-breakers (started_at, then id or the rowid every index carries), so
-- a page deep into the history is found from the index alone instead of reading and sorting
-- every attempt it skips (see `Store::history`). Status and session id sorts use the indexes of
-- the initial migration.
CREATE INDEX attempts_started_id ON attempts (started_at, id);
CREATE INDEX attempts_duration ON attempts (duration_ms, started_at);
CREATE INDEX attempts_integration_name ON attempts (integration_name, started_at);
