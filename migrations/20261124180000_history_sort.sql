-- The Stats panel's history table sorts by these columns over 100 000+ attempts; without an
-- index each page would sort every matching attempt. (Status and session id sorts use the
-- indexes of the initial migration; started_at, then id, break ties, see `Store::history`.)
CREATE INDEX attempts_duration ON attempts (duration_ms, started_at);
CREATE INDEX attempts_integration_name ON attempts (integration_name, started_at);
