-- PostgreSQL twin of migrations/20270108120000_stats_durations_all.sql.
-- Duration buckets over all integrations, per day and per hour (and trigger): what a
-- window's percentiles read when no integration is chosen. The per-integration tables hold a
-- row per integration, trigger and bucket: "the last 7 days" over ten million attempts and 20
-- integrations read about 80,000 of them (49,000 daily, 30,000 for the edge hours), and that
-- read was most of the query's 44 ms (BENCHMARKS.md, stats). These hold one row per trigger
-- and bucket. The attempt triggers below are the hourly migration's, each durations statement
-- followed by its twin here, in the same transaction as every change of an attempt.

CREATE TABLE stats_durations_daily_all (
    day             BIGINT NOT NULL,
    trigger         TEXT NOT NULL,
    bucket          BIGINT NOT NULL,
    n               BIGINT NOT NULL,
    spread          SMALLINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, trigger, bucket, spread)
);

CREATE TABLE stats_durations_hourly_all (
    hour            BIGINT NOT NULL,
    trigger         TEXT NOT NULL,
    bucket          BIGINT NOT NULL,
    n               BIGINT NOT NULL,
    spread          SMALLINT NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, trigger, bucket, spread)
);

-- What was recorded before this migration (one row per key: spread 0).
INSERT INTO stats_durations_daily_all (day, trigger, bucket, n)
SELECT day, trigger, bucket, sum(n) FROM stats_durations_daily GROUP BY 1, 2, 3;
INSERT INTO stats_durations_hourly_all (hour, trigger, bucket, n)
SELECT hour, trigger, bucket, sum(n) FROM stats_durations_hourly GROUP BY 1, 2, 3;

-- Spread and stored as the other rollups (migrations ..._rollup_spread.sql,
-- ..._rollup_storage.sql): every finished attempt of every integration writes these rows, so
-- concurrent workers meet on them more often than on any other; the worker folds past days
-- and hours (`stats::fold`).
ALTER TABLE stats_durations_daily_all SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 20000, autovacuum_vacuum_cost_delay = 0,
    autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE stats_durations_hourly_all SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 20000, autovacuum_vacuum_cost_delay = 0,
    autovacuum_analyze_scale_factor = 0.05);

-- The attempt trigger functions again, each durations statement followed by its
-- all-integrations twin.
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
    INSERT INTO stats_durations_daily_all (day, trigger, bucket, n, spread)
    SELECT NEW.started_at / 86400000, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN greatest(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (day, trigger, bucket, spread) DO UPDATE SET n = stats_durations_daily_all.n + excluded.n;
    INSERT INTO stats_durations_hourly (hour, integration_id, trigger, bucket, n, spread)
    SELECT NEW.started_at / 3600000, NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN greatest(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (hour, integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations_hourly.n + excluded.n;
    INSERT INTO stats_durations_hourly_all (hour, trigger, bucket, n, spread)
    SELECT NEW.started_at / 3600000, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN greatest(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (hour, trigger, bucket, spread) DO UPDATE SET n = stats_durations_hourly_all.n + excluded.n;
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
    INSERT INTO stats_durations_daily_all (day, trigger, bucket, n, spread)
    SELECT OLD.started_at / 86400000, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN greatest(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (day, trigger, bucket, spread) DO UPDATE SET n = stats_durations_daily_all.n + excluded.n;
    INSERT INTO stats_durations_hourly (hour, integration_id, trigger, bucket, n, spread)
    SELECT OLD.started_at / 3600000, OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN greatest(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (hour, integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations_hourly.n + excluded.n;
    INSERT INTO stats_durations_hourly_all (hour, trigger, bucket, n, spread)
    SELECT OLD.started_at / 3600000, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN greatest(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (hour, trigger, bucket, spread) DO UPDATE SET n = stats_durations_hourly_all.n + excluded.n;
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
    INSERT INTO stats_durations_daily_all (day, trigger, bucket, n, spread)
    SELECT NEW.started_at / 86400000, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN greatest(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (day, trigger, bucket, spread) DO UPDATE SET n = stats_durations_daily_all.n + excluded.n;
    INSERT INTO stats_durations_hourly (hour, integration_id, trigger, bucket, n, spread)
    SELECT NEW.started_at / 3600000, NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN greatest(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (hour, integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations_hourly.n + excluded.n;
    INSERT INTO stats_durations_hourly_all (hour, trigger, bucket, n, spread)
    SELECT NEW.started_at / 3600000, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN greatest(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (hour, trigger, bucket, spread) DO UPDATE SET n = stats_durations_hourly_all.n + excluded.n;
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
    INSERT INTO stats_durations_daily_all (day, trigger, bucket, n, spread)
    SELECT OLD.started_at / 86400000, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN greatest(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (day, trigger, bucket, spread) DO UPDATE SET n = stats_durations_daily_all.n + excluded.n;
    INSERT INTO stats_durations_hourly (hour, integration_id, trigger, bucket, n, spread)
    SELECT OLD.started_at / 3600000, OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN greatest(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (hour, integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations_hourly.n + excluded.n;
    INSERT INTO stats_durations_hourly_all (hour, trigger, bucket, n, spread)
    SELECT OLD.started_at / 3600000, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN greatest(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (hour, trigger, bucket, spread) DO UPDATE SET n = stats_durations_hourly_all.n + excluded.n;
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

-- Replacing a function drops its settings: pin the search path again (see work_leases).
ALTER FUNCTION stats_attempt_inserted() SET search_path FROM CURRENT;
ALTER FUNCTION stats_attempt_updated() SET search_path FROM CURRENT;
ALTER FUNCTION stats_attempt_deleted() SET search_path FROM CURRENT;
