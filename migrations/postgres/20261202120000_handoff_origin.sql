-- PostgreSQL twin of migrations/20261202120000_handoff_origin.sql: handoffs' origin and name, their list indexes and daily rollups.
--
-- A handoff's state is one expression, used by the index, the triggers and the queries alike
-- (`attempts::HandoffState::SQL` in Rust), the same text as in the SQLite twin:
--   CASE WHEN status = 'succeeded' THEN 'delivered'
--        WHEN status = 'pending' AND in_flight_until IS NOT NULL THEN 'pending'
--        ELSE 'undelivered' END

-- Where a handoff came from: a live send, a configuration test, or a webhook. Every writer of a
-- new handoff sets it; the default fills existing rows, which the backfill below then sets.
ALTER TABLE handoffs ADD COLUMN origin TEXT NOT NULL DEFAULT 'live'
    CHECK (origin IN ('live', 'test', 'webhook'));
-- The integration's name as the handoff's last attempt recorded it (claims keep it current).
ALTER TABLE handoffs ADD COLUMN integration_name TEXT NOT NULL DEFAULT '';

-- Handoffs recorded before: the origin is the trigger of their attempt number 1, the name their
-- last attempt's. LIMIT 1: SQLite takes a scalar subquery's first row where PostgreSQL would
-- fail on a second one (nothing makes attempt numbers unique per handoff).
UPDATE handoffs SET
    origin = coalesce((SELECT CASE a.trigger WHEN 'test' THEN 'test' WHEN 'webhook' THEN 'webhook' ELSE 'live' END
                       FROM attempts a WHERE a.handoff_id = handoffs.id AND a.attempt_number = 1 LIMIT 1), 'live'),
    integration_name = coalesce((SELECT a.integration_name FROM attempts a WHERE a.id = handoffs.last_attempt_id),
                                (SELECT i.name FROM integrations i WHERE i.id = handoffs.integration_id), '');

-- The handoff list pages by these columns; configuration tests are never listed nor counted, so
-- the indexes leave them out. SQLite's also carry the rowid as the last tie-breaker, which
-- PostgreSQL has not (see the history_sort twin).
CREATE INDEX handoffs_updated ON handoffs (updated_at, created_at) WHERE origin <> 'test';
CREATE INDEX handoffs_created ON handoffs (created_at) WHERE origin <> 'test';
CREATE INDEX handoffs_integration_updated ON handoffs (integration_id, updated_at, created_at) WHERE origin <> 'test';
CREATE INDEX handoffs_integration_name ON handoffs (integration_name, created_at) WHERE origin <> 'test';
CREATE INDEX handoffs_session ON handoffs (session_id, created_at) WHERE origin <> 'test';
CREATE INDEX handoffs_attempts ON handoffs (attempts, created_at) WHERE origin <> 'test';
CREATE INDEX handoffs_state ON handoffs (
    (CASE WHEN status = 'succeeded' THEN 'delivered' WHEN status = 'pending' AND in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END),
    updated_at, created_at) WHERE origin <> 'test';

-- Handoffs per UTC day of creation (created_at / 86400000), integration, origin, whether they
-- were retried (more than one attempt; a 0/1 flag in SQLite, BOOLEAN here) and state; kept by
-- the triggers below in the same transaction as every change of a handoff.
CREATE TABLE stats_handoffs_daily (
    day             BIGINT NOT NULL,
    integration_id  TEXT NOT NULL,
    origin          TEXT NOT NULL,
    retried         BOOLEAN NOT NULL,
    state           TEXT NOT NULL,
    n               BIGINT NOT NULL,
    PRIMARY KEY (day, integration_id, origin, retried, state)
);
CREATE INDEX stats_handoffs_daily_integration ON stats_handoffs_daily (integration_id, day);

INSERT INTO stats_handoffs_daily (day, integration_id, origin, retried, state, n)
SELECT created_at / 86400000, integration_id, origin, attempts > 1,
    CASE WHEN status = 'succeeded' THEN 'delivered' WHEN status = 'pending' AND in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
    count(*)
FROM handoffs GROUP BY 1, 2, 3, 4, 5;

CREATE FUNCTION stats_handoff_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_handoffs_daily (day, integration_id, origin, retried, state, n)
    VALUES (NEW.created_at / 86400000, NEW.integration_id, NEW.origin, NEW.attempts > 1,
        CASE WHEN NEW.status = 'succeeded' THEN 'delivered' WHEN NEW.status = 'pending' AND NEW.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        1)
    ON CONFLICT (day, integration_id, origin, retried, state) DO UPDATE SET n = stats_handoffs_daily.n + excluded.n;
    RETURN NULL;
END
$$;
CREATE TRIGGER stats_handoff_inserted AFTER INSERT ON handoffs
    FOR EACH ROW EXECUTE FUNCTION stats_handoff_inserted();

-- Only when the row moves to another rollup key: a claim or a finish changes the state, a
-- retry's claim may make it retried; other updates (updated_at, data, the schedule) do not.
CREATE FUNCTION stats_handoff_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_handoffs_daily (day, integration_id, origin, retried, state, n)
    VALUES (OLD.created_at / 86400000, OLD.integration_id, OLD.origin, OLD.attempts > 1,
        CASE WHEN OLD.status = 'succeeded' THEN 'delivered' WHEN OLD.status = 'pending' AND OLD.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        -1)
    ON CONFLICT (day, integration_id, origin, retried, state) DO UPDATE SET n = stats_handoffs_daily.n + excluded.n;
    INSERT INTO stats_handoffs_daily (day, integration_id, origin, retried, state, n)
    VALUES (NEW.created_at / 86400000, NEW.integration_id, NEW.origin, NEW.attempts > 1,
        CASE WHEN NEW.status = 'succeeded' THEN 'delivered' WHEN NEW.status = 'pending' AND NEW.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        1)
    ON CONFLICT (day, integration_id, origin, retried, state) DO UPDATE SET n = stats_handoffs_daily.n + excluded.n;
    RETURN NULL;
END
$$;
CREATE TRIGGER stats_handoff_updated AFTER UPDATE OF status, in_flight_until, attempts, origin, integration_id, created_at ON handoffs
    FOR EACH ROW
    WHEN ((OLD.created_at / 86400000, OLD.integration_id, OLD.origin, OLD.attempts > 1,
           CASE WHEN OLD.status = 'succeeded' THEN 'delivered' WHEN OLD.status = 'pending' AND OLD.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END)
       <> (NEW.created_at / 86400000, NEW.integration_id, NEW.origin, NEW.attempts > 1,
           CASE WHEN NEW.status = 'succeeded' THEN 'delivered' WHEN NEW.status = 'pending' AND NEW.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END))
    EXECUTE FUNCTION stats_handoff_updated();

CREATE FUNCTION stats_handoff_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_handoffs_daily (day, integration_id, origin, retried, state, n)
    VALUES (OLD.created_at / 86400000, OLD.integration_id, OLD.origin, OLD.attempts > 1,
        CASE WHEN OLD.status = 'succeeded' THEN 'delivered' WHEN OLD.status = 'pending' AND OLD.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        -1)
    ON CONFLICT (day, integration_id, origin, retried, state) DO UPDATE SET n = stats_handoffs_daily.n + excluded.n;
    RETURN NULL;
END
$$;
CREATE TRIGGER stats_handoff_deleted AFTER DELETE ON handoffs
    FOR EACH ROW EXECUTE FUNCTION stats_handoff_deleted();
