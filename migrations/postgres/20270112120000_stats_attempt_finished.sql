-- PostgreSQL twin of migrations/20270112120000_stats_attempt_finished.sql: an attempt's finish in
-- place (status leaving `pending`, same hour, integration, trigger and id, so the same spread)
-- adds its finished counts with `pending` -1 in one statement per count table, then its
-- duration and error rows; any other update takes the general path, unchanged.

CREATE OR REPLACE FUNCTION stats_attempt_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'pending' AND OLD.id = NEW.id AND OLD.started_at / 3600000 = NEW.started_at / 3600000
       AND OLD.integration_id = NEW.integration_id AND OLD.trigger = NEW.trigger THEN
        INSERT INTO stats_daily (day, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum, network, timeout, authentication, configuration, validation, server, spread)
        VALUES (NEW.started_at / 86400000, NEW.integration_id, NEW.trigger,
            0,
            (NEW.status = 'succeeded')::int,
            (NEW.status = 'failed')::int,
            (NEW.status = 'pending')::int - 1,
            (NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL)::int,
            (CASE WHEN NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL THEN NEW.duration_ms ELSE 0 END),
            (NEW.status = 'failed' AND NEW.category = 'network')::int,
            (NEW.status = 'failed' AND NEW.category = 'timeout')::int,
            (NEW.status = 'failed' AND NEW.category = 'authentication')::int,
            (NEW.status = 'failed' AND NEW.category = 'configuration')::int,
            (NEW.status = 'failed' AND NEW.category = 'validation')::int,
            (NEW.status = 'failed' AND NEW.category = 'server')::int, (hashtext(NEW.id) & 7)::smallint)
        ON CONFLICT (day, integration_id, trigger, spread) DO UPDATE SET
            total = stats_daily.total + excluded.total, succeeded = stats_daily.succeeded + excluded.succeeded, failed = stats_daily.failed + excluded.failed, pending = stats_daily.pending + excluded.pending, timed = stats_daily.timed + excluded.timed, duration_sum = stats_daily.duration_sum + excluded.duration_sum, network = stats_daily.network + excluded.network, timeout = stats_daily.timeout + excluded.timeout, authentication = stats_daily.authentication + excluded.authentication, configuration = stats_daily.configuration + excluded.configuration, validation = stats_daily.validation + excluded.validation, server = stats_daily.server + excluded.server;
        INSERT INTO stats_hourly (hour, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum, network, timeout, authentication, configuration, validation, server, spread)
        VALUES (NEW.started_at / 3600000, NEW.integration_id, NEW.trigger,
            0,
            (NEW.status = 'succeeded')::int,
            (NEW.status = 'failed')::int,
            (NEW.status = 'pending')::int - 1,
            (NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL)::int,
            (CASE WHEN NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL THEN NEW.duration_ms ELSE 0 END),
            (NEW.status = 'failed' AND NEW.category = 'network')::int,
            (NEW.status = 'failed' AND NEW.category = 'timeout')::int,
            (NEW.status = 'failed' AND NEW.category = 'authentication')::int,
            (NEW.status = 'failed' AND NEW.category = 'configuration')::int,
            (NEW.status = 'failed' AND NEW.category = 'validation')::int,
            (NEW.status = 'failed' AND NEW.category = 'server')::int, (hashtext(NEW.id) & 7)::smallint)
        ON CONFLICT (hour, integration_id, trigger, spread) DO UPDATE SET
            total = stats_hourly.total + excluded.total, succeeded = stats_hourly.succeeded + excluded.succeeded, failed = stats_hourly.failed + excluded.failed, pending = stats_hourly.pending + excluded.pending, timed = stats_hourly.timed + excluded.timed, duration_sum = stats_hourly.duration_sum + excluded.duration_sum, network = stats_hourly.network + excluded.network, timeout = stats_hourly.timeout + excluded.timeout, authentication = stats_hourly.authentication + excluded.authentication, configuration = stats_hourly.configuration + excluded.configuration, validation = stats_hourly.validation + excluded.validation, server = stats_hourly.server + excluded.server;
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
    END IF;
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

-- Replacing a function drops its settings: pin the search path again (see work_leases).
ALTER FUNCTION stats_attempt_updated() SET search_path FROM CURRENT;
