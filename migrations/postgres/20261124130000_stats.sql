-- PostgreSQL twin of migrations/20261124130000_stats.sql: statistics rollups kept by triggers on attempts.
-- Triggers on `attempts` keep them, so every write path keeps them right in the same
-- transaction, and `stats` reads a few thousand rows instead of every attempt. Days are UTC days
-- since the epoch (started_at / 86400000, integer division truncating toward zero as in
-- SQLite). An attempt counts where it started. Keep the five tables, and the triggers here and
-- in the SQLite twin, in step.

-- Duration buckets for percentiles: below 100 ms one bucket per millisecond (exact); from 100 ms
-- on, each bucket starts 2% after the last. `lo` is the smallest duration (ms) in `bucket`.
-- The same doubles as SQLite's REAL arithmetic (x is double precision, never numeric), rounded
-- up the same way: SQLite's CAST(x AS INTEGER) truncates, hence trunc(x), not x::bigint (which
-- rounds). `stats` computes the same table in Rust.
CREATE TABLE stats_buckets (
    lo      BIGINT PRIMARY KEY NOT NULL,
    bucket  BIGINT NOT NULL UNIQUE
);
WITH RECURSIVE b(k, x) AS (
    SELECT 0, 100.0::double precision
    UNION ALL
    SELECT k + 1, x * 1.02::double precision FROM b WHERE x < 1e11::double precision
)
INSERT INTO stats_buckets (lo, bucket)
SELECT trunc(x)::bigint + (x > trunc(x))::int, 100 + k FROM b;

-- Counts per UTC day, integration and trigger.
CREATE TABLE stats_daily (
    day             BIGINT NOT NULL,
    integration_id  TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    total           BIGINT NOT NULL DEFAULT 0,
    succeeded       BIGINT NOT NULL DEFAULT 0,
    failed          BIGINT NOT NULL DEFAULT 0,
    pending         BIGINT NOT NULL DEFAULT 0,
    -- Finished attempts with a duration, and the sum of their durations (ms).
    timed           BIGINT NOT NULL DEFAULT 0,
    duration_sum    BIGINT NOT NULL DEFAULT 0,
    -- Failed attempts by category.
    network         BIGINT NOT NULL DEFAULT 0,
    timeout         BIGINT NOT NULL DEFAULT 0,
    authentication  BIGINT NOT NULL DEFAULT 0,
    configuration   BIGINT NOT NULL DEFAULT 0,
    validation      BIGINT NOT NULL DEFAULT 0,
    server          BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, integration_id, trigger)
);
CREATE INDEX stats_daily_integration ON stats_daily (integration_id, day);

-- Finished attempts per duration bucket: per day (for time windows) and for all time.
CREATE TABLE stats_durations_daily (
    day             BIGINT NOT NULL,
    integration_id  TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    bucket          BIGINT NOT NULL,
    n               BIGINT NOT NULL,
    PRIMARY KEY (day, integration_id, trigger, bucket)
);
CREATE INDEX stats_durations_daily_integration ON stats_durations_daily (integration_id, day);
CREATE TABLE stats_durations (
    integration_id  TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    bucket          BIGINT NOT NULL,
    n               BIGINT NOT NULL,
    PRIMARY KEY (integration_id, trigger, bucket)
);

-- Failed attempts per message (its first 200 characters) and category ('' when none).
CREATE TABLE stats_errors_daily (
    day             BIGINT NOT NULL,
    integration_id  TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    category        TEXT NOT NULL,
    message         TEXT NOT NULL,
    n               BIGINT NOT NULL,
    PRIMARY KEY (day, integration_id, trigger, category, message)
);
CREATE INDEX stats_errors_daily_integration ON stats_errors_daily (integration_id, day);
CREATE TABLE stats_errors (
    integration_id  TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    category        TEXT NOT NULL,
    message         TEXT NOT NULL,
    n               BIGINT NOT NULL,
    PRIMARY KEY (integration_id, trigger, category, message)
);

-- Attempts recorded before this migration.
INSERT INTO stats_daily (day, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum,
    network, timeout, authentication, configuration, validation, server)
SELECT started_at / 86400000, integration_id, trigger, count(*),
    sum((status = 'succeeded')::int), sum((status = 'failed')::int), sum((status = 'pending')::int),
    sum((status <> 'pending' AND duration_ms IS NOT NULL)::int),
    coalesce(sum(CASE WHEN status <> 'pending' THEN duration_ms END), 0),
    sum((status = 'failed' AND category = 'network')::int),
    sum((status = 'failed' AND category = 'timeout')::int),
    sum((status = 'failed' AND category = 'authentication')::int),
    sum((status = 'failed' AND category = 'configuration')::int),
    sum((status = 'failed' AND category = 'validation')::int),
    sum((status = 'failed' AND category = 'server')::int)
FROM attempts GROUP BY 1, 2, 3;

INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n)
SELECT a.started_at / 86400000, a.integration_id, a.trigger, CASE WHEN a.duration_ms < 100 THEN greatest(a.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= a.duration_ms ORDER BY lo DESC LIMIT 1) END, count(*)
FROM attempts a WHERE a.status <> 'pending' AND a.duration_ms IS NOT NULL GROUP BY 1, 2, 3, 4;

INSERT INTO stats_durations (integration_id, trigger, bucket, n)
SELECT integration_id, trigger, bucket, sum(n) FROM stats_durations_daily GROUP BY 1, 2, 3;

INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n)
SELECT started_at / 86400000, integration_id, trigger, coalesce(category, ''), substr(message, 1, 200), count(*)
FROM attempts WHERE status = 'failed' GROUP BY 1, 2, 3, 4, 5;

INSERT INTO stats_errors (integration_id, trigger, category, message, n)
SELECT integration_id, trigger, category, message, sum(n) FROM stats_errors_daily GROUP BY 1, 2, 3, 4;

-- One PL/pgSQL function per SQLite trigger, named after it; row triggers on the same events.
CREATE FUNCTION stats_attempt_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_daily (day, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum,
        network, timeout, authentication, configuration, validation, server)
    VALUES (NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, 1,
        (NEW.status = 'succeeded')::int, (NEW.status = 'failed')::int, (NEW.status = 'pending')::int,
        (NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL)::int, (CASE WHEN NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL THEN NEW.duration_ms ELSE 0 END),
        (NEW.status = 'failed' AND NEW.category = 'network')::int,
        (NEW.status = 'failed' AND NEW.category = 'timeout')::int,
        (NEW.status = 'failed' AND NEW.category = 'authentication')::int,
        (NEW.status = 'failed' AND NEW.category = 'configuration')::int,
        (NEW.status = 'failed' AND NEW.category = 'validation')::int,
        (NEW.status = 'failed' AND NEW.category = 'server')::int)
    ON CONFLICT (day, integration_id, trigger) DO UPDATE SET
        total = stats_daily.total + excluded.total, succeeded = stats_daily.succeeded + excluded.succeeded,
        failed = stats_daily.failed + excluded.failed, pending = stats_daily.pending + excluded.pending,
        timed = stats_daily.timed + excluded.timed, duration_sum = stats_daily.duration_sum + excluded.duration_sum,
        network = stats_daily.network + excluded.network, timeout = stats_daily.timeout + excluded.timeout, authentication = stats_daily.authentication + excluded.authentication, configuration = stats_daily.configuration + excluded.configuration, validation = stats_daily.validation + excluded.validation, server = stats_daily.server + excluded.server;
    INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n)
    SELECT NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN greatest(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (day, integration_id, trigger, bucket) DO UPDATE SET n = stats_durations_daily.n + excluded.n;
    INSERT INTO stats_durations (integration_id, trigger, bucket, n)
    SELECT NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN greatest(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (integration_id, trigger, bucket) DO UPDATE SET n = stats_durations.n + excluded.n;
    INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n)
    SELECT NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1
    WHERE NEW.status = 'failed'
    ON CONFLICT (day, integration_id, trigger, category, message) DO UPDATE SET n = stats_errors_daily.n + excluded.n;
    INSERT INTO stats_errors (integration_id, trigger, category, message, n)
    SELECT NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1
    WHERE NEW.status = 'failed'
    ON CONFLICT (integration_id, trigger, category, message) DO UPDATE SET n = stats_errors.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE TRIGGER stats_attempt_inserted AFTER INSERT ON attempts
    FOR EACH ROW EXECUTE FUNCTION stats_attempt_inserted();

CREATE FUNCTION stats_attempt_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_daily (day, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum,
        network, timeout, authentication, configuration, validation, server)
    VALUES (OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, -1,
        -(OLD.status = 'succeeded')::int, -(OLD.status = 'failed')::int, -(OLD.status = 'pending')::int,
        -(OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL)::int, -(CASE WHEN OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL THEN OLD.duration_ms ELSE 0 END),
        -(OLD.status = 'failed' AND OLD.category = 'network')::int,
        -(OLD.status = 'failed' AND OLD.category = 'timeout')::int,
        -(OLD.status = 'failed' AND OLD.category = 'authentication')::int,
        -(OLD.status = 'failed' AND OLD.category = 'configuration')::int,
        -(OLD.status = 'failed' AND OLD.category = 'validation')::int,
        -(OLD.status = 'failed' AND OLD.category = 'server')::int)
    ON CONFLICT (day, integration_id, trigger) DO UPDATE SET
        total = stats_daily.total + excluded.total, succeeded = stats_daily.succeeded + excluded.succeeded,
        failed = stats_daily.failed + excluded.failed, pending = stats_daily.pending + excluded.pending,
        timed = stats_daily.timed + excluded.timed, duration_sum = stats_daily.duration_sum + excluded.duration_sum,
        network = stats_daily.network + excluded.network, timeout = stats_daily.timeout + excluded.timeout, authentication = stats_daily.authentication + excluded.authentication, configuration = stats_daily.configuration + excluded.configuration, validation = stats_daily.validation + excluded.validation, server = stats_daily.server + excluded.server;
    INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n)
    SELECT OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN greatest(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (day, integration_id, trigger, bucket) DO UPDATE SET n = stats_durations_daily.n + excluded.n;
    INSERT INTO stats_durations (integration_id, trigger, bucket, n)
    SELECT OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN greatest(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (integration_id, trigger, bucket) DO UPDATE SET n = stats_durations.n + excluded.n;
    INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n)
    SELECT OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, coalesce(OLD.category, ''), substr(OLD.message, 1, 200), -1
    WHERE OLD.status = 'failed'
    ON CONFLICT (day, integration_id, trigger, category, message) DO UPDATE SET n = stats_errors_daily.n + excluded.n;
    INSERT INTO stats_errors (integration_id, trigger, category, message, n)
    SELECT OLD.integration_id, OLD.trigger, coalesce(OLD.category, ''), substr(OLD.message, 1, 200), -1
    WHERE OLD.status = 'failed'
    ON CONFLICT (integration_id, trigger, category, message) DO UPDATE SET n = stats_errors.n + excluded.n;
    INSERT INTO stats_daily (day, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum,
        network, timeout, authentication, configuration, validation, server)
    VALUES (NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, 1,
        (NEW.status = 'succeeded')::int, (NEW.status = 'failed')::int, (NEW.status = 'pending')::int,
        (NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL)::int, (CASE WHEN NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL THEN NEW.duration_ms ELSE 0 END),
        (NEW.status = 'failed' AND NEW.category = 'network')::int,
        (NEW.status = 'failed' AND NEW.category = 'timeout')::int,
        (NEW.status = 'failed' AND NEW.category = 'authentication')::int,
        (NEW.status = 'failed' AND NEW.category = 'configuration')::int,
        (NEW.status = 'failed' AND NEW.category = 'validation')::int,
        (NEW.status = 'failed' AND NEW.category = 'server')::int)
    ON CONFLICT (day, integration_id, trigger) DO UPDATE SET
        total = stats_daily.total + excluded.total, succeeded = stats_daily.succeeded + excluded.succeeded,
        failed = stats_daily.failed + excluded.failed, pending = stats_daily.pending + excluded.pending,
        timed = stats_daily.timed + excluded.timed, duration_sum = stats_daily.duration_sum + excluded.duration_sum,
        network = stats_daily.network + excluded.network, timeout = stats_daily.timeout + excluded.timeout, authentication = stats_daily.authentication + excluded.authentication, configuration = stats_daily.configuration + excluded.configuration, validation = stats_daily.validation + excluded.validation, server = stats_daily.server + excluded.server;
    INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n)
    SELECT NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN greatest(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (day, integration_id, trigger, bucket) DO UPDATE SET n = stats_durations_daily.n + excluded.n;
    INSERT INTO stats_durations (integration_id, trigger, bucket, n)
    SELECT NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN greatest(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (integration_id, trigger, bucket) DO UPDATE SET n = stats_durations.n + excluded.n;
    INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n)
    SELECT NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1
    WHERE NEW.status = 'failed'
    ON CONFLICT (day, integration_id, trigger, category, message) DO UPDATE SET n = stats_errors_daily.n + excluded.n;
    INSERT INTO stats_errors (integration_id, trigger, category, message, n)
    SELECT NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1
    WHERE NEW.status = 'failed'
    ON CONFLICT (integration_id, trigger, category, message) DO UPDATE SET n = stats_errors.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE TRIGGER stats_attempt_updated AFTER UPDATE OF status, category, duration_ms, message, started_at, integration_id, trigger ON attempts
    FOR EACH ROW EXECUTE FUNCTION stats_attempt_updated();

CREATE FUNCTION stats_attempt_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_daily (day, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum,
        network, timeout, authentication, configuration, validation, server)
    VALUES (OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, -1,
        -(OLD.status = 'succeeded')::int, -(OLD.status = 'failed')::int, -(OLD.status = 'pending')::int,
        -(OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL)::int, -(CASE WHEN OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL THEN OLD.duration_ms ELSE 0 END),
        -(OLD.status = 'failed' AND OLD.category = 'network')::int,
        -(OLD.status = 'failed' AND OLD.category = 'timeout')::int,
        -(OLD.status = 'failed' AND OLD.category = 'authentication')::int,
        -(OLD.status = 'failed' AND OLD.category = 'configuration')::int,
        -(OLD.status = 'failed' AND OLD.category = 'validation')::int,
        -(OLD.status = 'failed' AND OLD.category = 'server')::int)
    ON CONFLICT (day, integration_id, trigger) DO UPDATE SET
        total = stats_daily.total + excluded.total, succeeded = stats_daily.succeeded + excluded.succeeded,
        failed = stats_daily.failed + excluded.failed, pending = stats_daily.pending + excluded.pending,
        timed = stats_daily.timed + excluded.timed, duration_sum = stats_daily.duration_sum + excluded.duration_sum,
        network = stats_daily.network + excluded.network, timeout = stats_daily.timeout + excluded.timeout, authentication = stats_daily.authentication + excluded.authentication, configuration = stats_daily.configuration + excluded.configuration, validation = stats_daily.validation + excluded.validation, server = stats_daily.server + excluded.server;
    INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n)
    SELECT OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN greatest(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (day, integration_id, trigger, bucket) DO UPDATE SET n = stats_durations_daily.n + excluded.n;
    INSERT INTO stats_durations (integration_id, trigger, bucket, n)
    SELECT OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN greatest(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (integration_id, trigger, bucket) DO UPDATE SET n = stats_durations.n + excluded.n;
    INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n)
    SELECT OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, coalesce(OLD.category, ''), substr(OLD.message, 1, 200), -1
    WHERE OLD.status = 'failed'
    ON CONFLICT (day, integration_id, trigger, category, message) DO UPDATE SET n = stats_errors_daily.n + excluded.n;
    INSERT INTO stats_errors (integration_id, trigger, category, message, n)
    SELECT OLD.integration_id, OLD.trigger, coalesce(OLD.category, ''), substr(OLD.message, 1, 200), -1
    WHERE OLD.status = 'failed'
    ON CONFLICT (integration_id, trigger, category, message) DO UPDATE SET n = stats_errors.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE TRIGGER stats_attempt_deleted AFTER DELETE ON attempts
    FOR EACH ROW EXECUTE FUNCTION stats_attempt_deleted();
