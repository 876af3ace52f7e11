-- PostgreSQL twin of migrations/20270107120000_stats_hourly.sql. Hourly statistics rollups, beside the daily ones. A time window rarely starts or ends at
-- midnight UTC ("the last 7 days" starts at this hour a week ago): its whole days come from
-- the daily rollups, and until now the partial days at its edges were counted from `attempts`
-- itself: up to a day of attempts, 55,000 of them in a store of ten million over half a year
-- (BENCHMARKS.md, stats). Now whole hours come from these tables and only the partial hours at
-- the edges (at most two) from `attempts`. The triggers below are the daily ones with the same
-- statements for the hours beside them, kept in the same transaction as every change of an
-- attempt or handoff. Hours are UTC hours since the epoch (started_at / 3600000; a handoff's
-- created_at / 3600000).

CREATE TABLE stats_hourly (
    hour            BIGINT NOT NULL,
    integration_id  TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    total           BIGINT NOT NULL DEFAULT 0,
    succeeded       BIGINT NOT NULL DEFAULT 0,
    failed          BIGINT NOT NULL DEFAULT 0,
    pending         BIGINT NOT NULL DEFAULT 0,
    timed           BIGINT NOT NULL DEFAULT 0,
    duration_sum    BIGINT NOT NULL DEFAULT 0,
    network         BIGINT NOT NULL DEFAULT 0,
    timeout         BIGINT NOT NULL DEFAULT 0,
    authentication  BIGINT NOT NULL DEFAULT 0,
    configuration   BIGINT NOT NULL DEFAULT 0,
    validation      BIGINT NOT NULL DEFAULT 0,
    server          BIGINT NOT NULL DEFAULT 0,
    spread          SMALLINT NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, integration_id, trigger, spread)
);
CREATE INDEX stats_hourly_integration ON stats_hourly (integration_id, hour);

CREATE TABLE stats_durations_hourly (
    hour            BIGINT NOT NULL,
    integration_id  TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    bucket          BIGINT NOT NULL,
    n               BIGINT NOT NULL,
    spread          SMALLINT NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, integration_id, trigger, bucket, spread)
);
CREATE INDEX stats_durations_hourly_integration ON stats_durations_hourly (integration_id, hour);

CREATE TABLE stats_errors_hourly (
    hour            BIGINT NOT NULL,
    integration_id  TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    category        TEXT NOT NULL,
    message         TEXT NOT NULL,
    n               BIGINT NOT NULL,
    spread          SMALLINT NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, integration_id, trigger, category, message, spread)
);
CREATE INDEX stats_errors_hourly_integration ON stats_errors_hourly (integration_id, hour);

CREATE TABLE stats_handoffs_hourly (
    hour            BIGINT NOT NULL,
    integration_id  TEXT NOT NULL,
    origin          TEXT NOT NULL,
    retried         BOOLEAN NOT NULL,
    state           TEXT NOT NULL,
    n               BIGINT NOT NULL,
    spread          SMALLINT NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, integration_id, origin, retried, state, spread)
);
CREATE INDEX stats_handoffs_hourly_integration ON stats_handoffs_hourly (integration_id, hour);

-- What was recorded before this migration.
INSERT INTO stats_hourly (hour, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum,
    network, timeout, authentication, configuration, validation, server)
SELECT started_at / 3600000, integration_id, trigger, count(*),
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

INSERT INTO stats_durations_hourly (hour, integration_id, trigger, bucket, n)
SELECT a.started_at / 3600000, a.integration_id, a.trigger, CASE WHEN a.duration_ms < 100 THEN greatest(a.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= a.duration_ms ORDER BY lo DESC LIMIT 1) END, count(*)
FROM attempts a WHERE a.status <> 'pending' AND a.duration_ms IS NOT NULL GROUP BY 1, 2, 3, 4;

INSERT INTO stats_errors_hourly (hour, integration_id, trigger, category, message, n)
SELECT started_at / 3600000, integration_id, trigger, coalesce(category, ''), substr(message, 1, 200), count(*)
FROM attempts WHERE status = 'failed' GROUP BY 1, 2, 3, 4, 5;

INSERT INTO stats_handoffs_hourly (hour, integration_id, origin, retried, state, n)
SELECT created_at / 3600000, integration_id, origin, attempts > 1,
    CASE WHEN status = 'succeeded' THEN 'delivered' WHEN status = 'pending' AND in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
    count(*)
FROM handoffs GROUP BY 1, 2, 3, 4, 5;

-- Spread and stored as the daily ones (migrations ..._rollup_spread.sql, ..._rollup_storage.sql);
-- the worker folds past hours as it folds past days (`stats::fold`).
DO $$
DECLARE rollup TEXT;
BEGIN
    FOREACH rollup IN ARRAY ARRAY['stats_hourly', 'stats_durations_hourly', 'stats_errors_hourly',
                                  'stats_handoffs_hourly']
    LOOP
        EXECUTE format('ALTER TABLE %I SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0, '
                       'autovacuum_vacuum_threshold = 20000, autovacuum_vacuum_cost_delay = 0, '
                       'autovacuum_analyze_scale_factor = 0.05)', rollup);
    END LOOP;
END
$$;

-- The trigger functions again, each daily statement followed by its hourly twin.
CREATE OR REPLACE FUNCTION stats_attempt_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_daily (day, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum,
        network, timeout, authentication, configuration, validation, server, spread)
    VALUES (NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, 1,
        (NEW.status = 'succeeded')::int, (NEW.status = 'failed')::int, (NEW.status = 'pending')::int,
        (NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL)::int, (CASE WHEN NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL THEN NEW.duration_ms ELSE 0 END),
        (NEW.status = 'failed' AND NEW.category = 'network')::int,
        (NEW.status = 'failed' AND NEW.category = 'timeout')::int,
        (NEW.status = 'failed' AND NEW.category = 'authentication')::int,
        (NEW.status = 'failed' AND NEW.category = 'configuration')::int,
        (NEW.status = 'failed' AND NEW.category = 'validation')::int,
        (NEW.status = 'failed' AND NEW.category = 'server')::int, (hashtext(NEW.id) & 7)::smallint)
    ON CONFLICT (day, integration_id, trigger, spread) DO UPDATE SET
        total = stats_daily.total + excluded.total, succeeded = stats_daily.succeeded + excluded.succeeded,
        failed = stats_daily.failed + excluded.failed, pending = stats_daily.pending + excluded.pending,
        timed = stats_daily.timed + excluded.timed, duration_sum = stats_daily.duration_sum + excluded.duration_sum,
        network = stats_daily.network + excluded.network, timeout = stats_daily.timeout + excluded.timeout, authentication = stats_daily.authentication + excluded.authentication, configuration = stats_daily.configuration + excluded.configuration, validation = stats_daily.validation + excluded.validation, server = stats_daily.server + excluded.server;
    INSERT INTO stats_hourly (hour, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum,
        network, timeout, authentication, configuration, validation, server, spread)
    VALUES (NEW.started_at / 3600000, NEW.integration_id, NEW.trigger, 1,
        (NEW.status = 'succeeded')::int, (NEW.status = 'failed')::int, (NEW.status = 'pending')::int,
        (NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL)::int, (CASE WHEN NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL THEN NEW.duration_ms ELSE 0 END),
        (NEW.status = 'failed' AND NEW.category = 'network')::int,
        (NEW.status = 'failed' AND NEW.category = 'timeout')::int,
        (NEW.status = 'failed' AND NEW.category = 'authentication')::int,
        (NEW.status = 'failed' AND NEW.category = 'configuration')::int,
        (NEW.status = 'failed' AND NEW.category = 'validation')::int,
        (NEW.status = 'failed' AND NEW.category = 'server')::int, (hashtext(NEW.id) & 7)::smallint)
    ON CONFLICT (hour, integration_id, trigger, spread) DO UPDATE SET
        total = stats_hourly.total + excluded.total, succeeded = stats_hourly.succeeded + excluded.succeeded,
        failed = stats_hourly.failed + excluded.failed, pending = stats_hourly.pending + excluded.pending,
        timed = stats_hourly.timed + excluded.timed, duration_sum = stats_hourly.duration_sum + excluded.duration_sum,
        network = stats_hourly.network + excluded.network, timeout = stats_hourly.timeout + excluded.timeout, authentication = stats_hourly.authentication + excluded.authentication, configuration = stats_hourly.configuration + excluded.configuration, validation = stats_hourly.validation + excluded.validation, server = stats_hourly.server + excluded.server;
    INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n, spread)
    SELECT NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN greatest(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (day, integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations_daily.n + excluded.n;
    INSERT INTO stats_durations_hourly (hour, integration_id, trigger, bucket, n, spread)
    SELECT NEW.started_at / 3600000, NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN greatest(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (hour, integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations_hourly.n + excluded.n;
    INSERT INTO stats_durations (integration_id, trigger, bucket, n, spread)
    SELECT NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN greatest(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations.n + excluded.n;
    INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n, spread)
    SELECT NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status = 'failed'
    ON CONFLICT (day, integration_id, trigger, category, message, spread) DO UPDATE SET n = stats_errors_daily.n + excluded.n;
    INSERT INTO stats_errors_hourly (hour, integration_id, trigger, category, message, n, spread)
    SELECT NEW.started_at / 3600000, NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status = 'failed'
    ON CONFLICT (hour, integration_id, trigger, category, message, spread) DO UPDATE SET n = stats_errors_hourly.n + excluded.n;
    INSERT INTO stats_errors (integration_id, trigger, category, message, n, spread)
    SELECT NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status = 'failed'
    ON CONFLICT (integration_id, trigger, category, message, spread) DO UPDATE SET n = stats_errors.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION stats_attempt_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_daily (day, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum,
        network, timeout, authentication, configuration, validation, server, spread)
    VALUES (OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, -1,
        -(OLD.status = 'succeeded')::int, -(OLD.status = 'failed')::int, -(OLD.status = 'pending')::int,
        -(OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL)::int, -(CASE WHEN OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL THEN OLD.duration_ms ELSE 0 END),
        -(OLD.status = 'failed' AND OLD.category = 'network')::int,
        -(OLD.status = 'failed' AND OLD.category = 'timeout')::int,
        -(OLD.status = 'failed' AND OLD.category = 'authentication')::int,
        -(OLD.status = 'failed' AND OLD.category = 'configuration')::int,
        -(OLD.status = 'failed' AND OLD.category = 'validation')::int,
        -(OLD.status = 'failed' AND OLD.category = 'server')::int, (hashtext(OLD.id) & 7)::smallint)
    ON CONFLICT (day, integration_id, trigger, spread) DO UPDATE SET
        total = stats_daily.total + excluded.total, succeeded = stats_daily.succeeded + excluded.succeeded,
        failed = stats_daily.failed + excluded.failed, pending = stats_daily.pending + excluded.pending,
        timed = stats_daily.timed + excluded.timed, duration_sum = stats_daily.duration_sum + excluded.duration_sum,
        network = stats_daily.network + excluded.network, timeout = stats_daily.timeout + excluded.timeout, authentication = stats_daily.authentication + excluded.authentication, configuration = stats_daily.configuration + excluded.configuration, validation = stats_daily.validation + excluded.validation, server = stats_daily.server + excluded.server;
    INSERT INTO stats_hourly (hour, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum,
        network, timeout, authentication, configuration, validation, server, spread)
    VALUES (OLD.started_at / 3600000, OLD.integration_id, OLD.trigger, -1,
        -(OLD.status = 'succeeded')::int, -(OLD.status = 'failed')::int, -(OLD.status = 'pending')::int,
        -(OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL)::int, -(CASE WHEN OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL THEN OLD.duration_ms ELSE 0 END),
        -(OLD.status = 'failed' AND OLD.category = 'network')::int,
        -(OLD.status = 'failed' AND OLD.category = 'timeout')::int,
        -(OLD.status = 'failed' AND OLD.category = 'authentication')::int,
        -(OLD.status = 'failed' AND OLD.category = 'configuration')::int,
        -(OLD.status = 'failed' AND OLD.category = 'validation')::int,
        -(OLD.status = 'failed' AND OLD.category = 'server')::int, (hashtext(OLD.id) & 7)::smallint)
    ON CONFLICT (hour, integration_id, trigger, spread) DO UPDATE SET
        total = stats_hourly.total + excluded.total, succeeded = stats_hourly.succeeded + excluded.succeeded,
        failed = stats_hourly.failed + excluded.failed, pending = stats_hourly.pending + excluded.pending,
        timed = stats_hourly.timed + excluded.timed, duration_sum = stats_hourly.duration_sum + excluded.duration_sum,
        network = stats_hourly.network + excluded.network, timeout = stats_hourly.timeout + excluded.timeout, authentication = stats_hourly.authentication + excluded.authentication, configuration = stats_hourly.configuration + excluded.configuration, validation = stats_hourly.validation + excluded.validation, server = stats_hourly.server + excluded.server;
    INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n, spread)
    SELECT OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN greatest(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (day, integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations_daily.n + excluded.n;
    INSERT INTO stats_durations_hourly (hour, integration_id, trigger, bucket, n, spread)
    SELECT OLD.started_at / 3600000, OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN greatest(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (hour, integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations_hourly.n + excluded.n;
    INSERT INTO stats_durations (integration_id, trigger, bucket, n, spread)
    SELECT OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN greatest(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations.n + excluded.n;
    INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n, spread)
    SELECT OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, coalesce(OLD.category, ''), substr(OLD.message, 1, 200), -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status = 'failed'
    ON CONFLICT (day, integration_id, trigger, category, message, spread) DO UPDATE SET n = stats_errors_daily.n + excluded.n;
    INSERT INTO stats_errors_hourly (hour, integration_id, trigger, category, message, n, spread)
    SELECT OLD.started_at / 3600000, OLD.integration_id, OLD.trigger, coalesce(OLD.category, ''), substr(OLD.message, 1, 200), -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status = 'failed'
    ON CONFLICT (hour, integration_id, trigger, category, message, spread) DO UPDATE SET n = stats_errors_hourly.n + excluded.n;
    INSERT INTO stats_errors (integration_id, trigger, category, message, n, spread)
    SELECT OLD.integration_id, OLD.trigger, coalesce(OLD.category, ''), substr(OLD.message, 1, 200), -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status = 'failed'
    ON CONFLICT (integration_id, trigger, category, message, spread) DO UPDATE SET n = stats_errors.n + excluded.n;
    INSERT INTO stats_daily (day, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum,
        network, timeout, authentication, configuration, validation, server, spread)
    VALUES (NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, 1,
        (NEW.status = 'succeeded')::int, (NEW.status = 'failed')::int, (NEW.status = 'pending')::int,
        (NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL)::int, (CASE WHEN NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL THEN NEW.duration_ms ELSE 0 END),
        (NEW.status = 'failed' AND NEW.category = 'network')::int,
        (NEW.status = 'failed' AND NEW.category = 'timeout')::int,
        (NEW.status = 'failed' AND NEW.category = 'authentication')::int,
        (NEW.status = 'failed' AND NEW.category = 'configuration')::int,
        (NEW.status = 'failed' AND NEW.category = 'validation')::int,
        (NEW.status = 'failed' AND NEW.category = 'server')::int, (hashtext(NEW.id) & 7)::smallint)
    ON CONFLICT (day, integration_id, trigger, spread) DO UPDATE SET
        total = stats_daily.total + excluded.total, succeeded = stats_daily.succeeded + excluded.succeeded,
        failed = stats_daily.failed + excluded.failed, pending = stats_daily.pending + excluded.pending,
        timed = stats_daily.timed + excluded.timed, duration_sum = stats_daily.duration_sum + excluded.duration_sum,
        network = stats_daily.network + excluded.network, timeout = stats_daily.timeout + excluded.timeout, authentication = stats_daily.authentication + excluded.authentication, configuration = stats_daily.configuration + excluded.configuration, validation = stats_daily.validation + excluded.validation, server = stats_daily.server + excluded.server;
    INSERT INTO stats_hourly (hour, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum,
        network, timeout, authentication, configuration, validation, server, spread)
    VALUES (NEW.started_at / 3600000, NEW.integration_id, NEW.trigger, 1,
        (NEW.status = 'succeeded')::int, (NEW.status = 'failed')::int, (NEW.status = 'pending')::int,
        (NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL)::int, (CASE WHEN NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL THEN NEW.duration_ms ELSE 0 END),
        (NEW.status = 'failed' AND NEW.category = 'network')::int,
        (NEW.status = 'failed' AND NEW.category = 'timeout')::int,
        (NEW.status = 'failed' AND NEW.category = 'authentication')::int,
        (NEW.status = 'failed' AND NEW.category = 'configuration')::int,
        (NEW.status = 'failed' AND NEW.category = 'validation')::int,
        (NEW.status = 'failed' AND NEW.category = 'server')::int, (hashtext(NEW.id) & 7)::smallint)
    ON CONFLICT (hour, integration_id, trigger, spread) DO UPDATE SET
        total = stats_hourly.total + excluded.total, succeeded = stats_hourly.succeeded + excluded.succeeded,
        failed = stats_hourly.failed + excluded.failed, pending = stats_hourly.pending + excluded.pending,
        timed = stats_hourly.timed + excluded.timed, duration_sum = stats_hourly.duration_sum + excluded.duration_sum,
        network = stats_hourly.network + excluded.network, timeout = stats_hourly.timeout + excluded.timeout, authentication = stats_hourly.authentication + excluded.authentication, configuration = stats_hourly.configuration + excluded.configuration, validation = stats_hourly.validation + excluded.validation, server = stats_hourly.server + excluded.server;
    INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n, spread)
    SELECT NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN greatest(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (day, integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations_daily.n + excluded.n;
    INSERT INTO stats_durations_hourly (hour, integration_id, trigger, bucket, n, spread)
    SELECT NEW.started_at / 3600000, NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN greatest(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (hour, integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations_hourly.n + excluded.n;
    INSERT INTO stats_durations (integration_id, trigger, bucket, n, spread)
    SELECT NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN greatest(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations.n + excluded.n;
    INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n, spread)
    SELECT NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status = 'failed'
    ON CONFLICT (day, integration_id, trigger, category, message, spread) DO UPDATE SET n = stats_errors_daily.n + excluded.n;
    INSERT INTO stats_errors_hourly (hour, integration_id, trigger, category, message, n, spread)
    SELECT NEW.started_at / 3600000, NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status = 'failed'
    ON CONFLICT (hour, integration_id, trigger, category, message, spread) DO UPDATE SET n = stats_errors_hourly.n + excluded.n;
    INSERT INTO stats_errors (integration_id, trigger, category, message, n, spread)
    SELECT NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status = 'failed'
    ON CONFLICT (integration_id, trigger, category, message, spread) DO UPDATE SET n = stats_errors.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION stats_attempt_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_daily (day, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum,
        network, timeout, authentication, configuration, validation, server, spread)
    VALUES (OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, -1,
        -(OLD.status = 'succeeded')::int, -(OLD.status = 'failed')::int, -(OLD.status = 'pending')::int,
        -(OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL)::int, -(CASE WHEN OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL THEN OLD.duration_ms ELSE 0 END),
        -(OLD.status = 'failed' AND OLD.category = 'network')::int,
        -(OLD.status = 'failed' AND OLD.category = 'timeout')::int,
        -(OLD.status = 'failed' AND OLD.category = 'authentication')::int,
        -(OLD.status = 'failed' AND OLD.category = 'configuration')::int,
        -(OLD.status = 'failed' AND OLD.category = 'validation')::int,
        -(OLD.status = 'failed' AND OLD.category = 'server')::int, (hashtext(OLD.id) & 7)::smallint)
    ON CONFLICT (day, integration_id, trigger, spread) DO UPDATE SET
        total = stats_daily.total + excluded.total, succeeded = stats_daily.succeeded + excluded.succeeded,
        failed = stats_daily.failed + excluded.failed, pending = stats_daily.pending + excluded.pending,
        timed = stats_daily.timed + excluded.timed, duration_sum = stats_daily.duration_sum + excluded.duration_sum,
        network = stats_daily.network + excluded.network, timeout = stats_daily.timeout + excluded.timeout, authentication = stats_daily.authentication + excluded.authentication, configuration = stats_daily.configuration + excluded.configuration, validation = stats_daily.validation + excluded.validation, server = stats_daily.server + excluded.server;
    INSERT INTO stats_hourly (hour, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum,
        network, timeout, authentication, configuration, validation, server, spread)
    VALUES (OLD.started_at / 3600000, OLD.integration_id, OLD.trigger, -1,
        -(OLD.status = 'succeeded')::int, -(OLD.status = 'failed')::int, -(OLD.status = 'pending')::int,
        -(OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL)::int, -(CASE WHEN OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL THEN OLD.duration_ms ELSE 0 END),
        -(OLD.status = 'failed' AND OLD.category = 'network')::int,
        -(OLD.status = 'failed' AND OLD.category = 'timeout')::int,
        -(OLD.status = 'failed' AND OLD.category = 'authentication')::int,
        -(OLD.status = 'failed' AND OLD.category = 'configuration')::int,
        -(OLD.status = 'failed' AND OLD.category = 'validation')::int,
        -(OLD.status = 'failed' AND OLD.category = 'server')::int, (hashtext(OLD.id) & 7)::smallint)
    ON CONFLICT (hour, integration_id, trigger, spread) DO UPDATE SET
        total = stats_hourly.total + excluded.total, succeeded = stats_hourly.succeeded + excluded.succeeded,
        failed = stats_hourly.failed + excluded.failed, pending = stats_hourly.pending + excluded.pending,
        timed = stats_hourly.timed + excluded.timed, duration_sum = stats_hourly.duration_sum + excluded.duration_sum,
        network = stats_hourly.network + excluded.network, timeout = stats_hourly.timeout + excluded.timeout, authentication = stats_hourly.authentication + excluded.authentication, configuration = stats_hourly.configuration + excluded.configuration, validation = stats_hourly.validation + excluded.validation, server = stats_hourly.server + excluded.server;
    INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n, spread)
    SELECT OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN greatest(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (day, integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations_daily.n + excluded.n;
    INSERT INTO stats_durations_hourly (hour, integration_id, trigger, bucket, n, spread)
    SELECT OLD.started_at / 3600000, OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN greatest(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (hour, integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations_hourly.n + excluded.n;
    INSERT INTO stats_durations (integration_id, trigger, bucket, n, spread)
    SELECT OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN greatest(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations.n + excluded.n;
    INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n, spread)
    SELECT OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, coalesce(OLD.category, ''), substr(OLD.message, 1, 200), -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status = 'failed'
    ON CONFLICT (day, integration_id, trigger, category, message, spread) DO UPDATE SET n = stats_errors_daily.n + excluded.n;
    INSERT INTO stats_errors_hourly (hour, integration_id, trigger, category, message, n, spread)
    SELECT OLD.started_at / 3600000, OLD.integration_id, OLD.trigger, coalesce(OLD.category, ''), substr(OLD.message, 1, 200), -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status = 'failed'
    ON CONFLICT (hour, integration_id, trigger, category, message, spread) DO UPDATE SET n = stats_errors_hourly.n + excluded.n;
    INSERT INTO stats_errors (integration_id, trigger, category, message, n, spread)
    SELECT OLD.integration_id, OLD.trigger, coalesce(OLD.category, ''), substr(OLD.message, 1, 200), -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status = 'failed'
    ON CONFLICT (integration_id, trigger, category, message, spread) DO UPDATE SET n = stats_errors.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION stats_handoff_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_handoffs_daily (day, integration_id, origin, retried, state, n, spread)
    VALUES (NEW.created_at / 86400000, NEW.integration_id, NEW.origin, NEW.attempts > 1,
        CASE WHEN NEW.status = 'succeeded' THEN 'delivered' WHEN NEW.status = 'pending' AND NEW.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        1, (hashtext(NEW.id) & 7)::smallint)
    ON CONFLICT (day, integration_id, origin, retried, state, spread) DO UPDATE SET n = stats_handoffs_daily.n + excluded.n;
    INSERT INTO stats_handoffs_hourly (hour, integration_id, origin, retried, state, n, spread)
    VALUES (NEW.created_at / 3600000, NEW.integration_id, NEW.origin, NEW.attempts > 1,
        CASE WHEN NEW.status = 'succeeded' THEN 'delivered' WHEN NEW.status = 'pending' AND NEW.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        1, (hashtext(NEW.id) & 7)::smallint)
    ON CONFLICT (hour, integration_id, origin, retried, state, spread) DO UPDATE SET n = stats_handoffs_hourly.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION stats_handoff_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_handoffs_daily (day, integration_id, origin, retried, state, n, spread)
    VALUES (OLD.created_at / 86400000, OLD.integration_id, OLD.origin, OLD.attempts > 1,
        CASE WHEN OLD.status = 'succeeded' THEN 'delivered' WHEN OLD.status = 'pending' AND OLD.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        -1, (hashtext(OLD.id) & 7)::smallint)
    ON CONFLICT (day, integration_id, origin, retried, state, spread) DO UPDATE SET n = stats_handoffs_daily.n + excluded.n;
    INSERT INTO stats_handoffs_hourly (hour, integration_id, origin, retried, state, n, spread)
    VALUES (OLD.created_at / 3600000, OLD.integration_id, OLD.origin, OLD.attempts > 1,
        CASE WHEN OLD.status = 'succeeded' THEN 'delivered' WHEN OLD.status = 'pending' AND OLD.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        -1, (hashtext(OLD.id) & 7)::smallint)
    ON CONFLICT (hour, integration_id, origin, retried, state, spread) DO UPDATE SET n = stats_handoffs_hourly.n + excluded.n;
    INSERT INTO stats_handoffs_daily (day, integration_id, origin, retried, state, n, spread)
    VALUES (NEW.created_at / 86400000, NEW.integration_id, NEW.origin, NEW.attempts > 1,
        CASE WHEN NEW.status = 'succeeded' THEN 'delivered' WHEN NEW.status = 'pending' AND NEW.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        1, (hashtext(NEW.id) & 7)::smallint)
    ON CONFLICT (day, integration_id, origin, retried, state, spread) DO UPDATE SET n = stats_handoffs_daily.n + excluded.n;
    INSERT INTO stats_handoffs_hourly (hour, integration_id, origin, retried, state, n, spread)
    VALUES (NEW.created_at / 3600000, NEW.integration_id, NEW.origin, NEW.attempts > 1,
        CASE WHEN NEW.status = 'succeeded' THEN 'delivered' WHEN NEW.status = 'pending' AND NEW.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        1, (hashtext(NEW.id) & 7)::smallint)
    ON CONFLICT (hour, integration_id, origin, retried, state, spread) DO UPDATE SET n = stats_handoffs_hourly.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION stats_handoff_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_handoffs_daily (day, integration_id, origin, retried, state, n, spread)
    VALUES (OLD.created_at / 86400000, OLD.integration_id, OLD.origin, OLD.attempts > 1,
        CASE WHEN OLD.status = 'succeeded' THEN 'delivered' WHEN OLD.status = 'pending' AND OLD.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        -1, (hashtext(OLD.id) & 7)::smallint)
    ON CONFLICT (day, integration_id, origin, retried, state, spread) DO UPDATE SET n = stats_handoffs_daily.n + excluded.n;
    INSERT INTO stats_handoffs_hourly (hour, integration_id, origin, retried, state, n, spread)
    VALUES (OLD.created_at / 3600000, OLD.integration_id, OLD.origin, OLD.attempts > 1,
        CASE WHEN OLD.status = 'succeeded' THEN 'delivered' WHEN OLD.status = 'pending' AND OLD.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        -1, (hashtext(OLD.id) & 7)::smallint)
    ON CONFLICT (hour, integration_id, origin, retried, state, spread) DO UPDATE SET n = stats_handoffs_hourly.n + excluded.n;
    RETURN NULL;
END
$$;


-- A handoff's update counts when its hour key changes (a change of day is one too).
DROP TRIGGER stats_handoff_updated ON handoffs;
CREATE TRIGGER stats_handoff_updated AFTER UPDATE OF status, in_flight_until, attempts, origin, integration_id, created_at ON handoffs
    FOR EACH ROW
    WHEN ((OLD.created_at / 3600000, OLD.integration_id, OLD.origin, OLD.attempts > 1,
           CASE WHEN OLD.status = 'succeeded' THEN 'delivered' WHEN OLD.status = 'pending' AND OLD.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END)
       <> (NEW.created_at / 3600000, NEW.integration_id, NEW.origin, NEW.attempts > 1,
           CASE WHEN NEW.status = 'succeeded' THEN 'delivered' WHEN NEW.status = 'pending' AND NEW.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END))
    EXECUTE FUNCTION stats_handoff_updated();
-- Replacing a function drops its settings: pin the search path again (see work_leases).
ALTER FUNCTION stats_attempt_inserted() SET search_path FROM CURRENT;
ALTER FUNCTION stats_attempt_updated() SET search_path FROM CURRENT;
ALTER FUNCTION stats_attempt_deleted() SET search_path FROM CURRENT;
ALTER FUNCTION stats_handoff_inserted() SET search_path FROM CURRENT;
ALTER FUNCTION stats_handoff_updated() SET search_path FROM CURRENT;
ALTER FUNCTION stats_handoff_deleted() SET search_path FROM CURRENT;
