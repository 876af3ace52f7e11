-- An attempt's finish (its status leaving `pending` in the same hour, integration and trigger:
-- every finish the store writes) now takes one statement per count table where it took two:
-- the update trigger subtracted the pending row (`pending` 1) and added the finished one, two
-- upserts of the same key; the finish trigger adds the finished counts with `pending` -1 in
-- one. A pending attempt is in no duration or error rollup, so it subtracts nothing there
-- either (the general trigger ran eight statements that matched no row). Every other update (a
-- finished attempt changed, or moved to another hour, integration or trigger) takes the
-- general trigger, unchanged but for its WHEN, the negation of the finish trigger's (`IS`
-- never gives NULL, so exactly one of the two fires). BENCHMARKS.md, "One statement a finish".

DROP TRIGGER stats_attempt_updated;
CREATE TRIGGER stats_attempt_updated AFTER UPDATE OF status, category, duration_ms, message, started_at, integration_id, trigger ON attempts
WHEN NOT (OLD.status IS 'pending' AND OLD.started_at / 3600000 IS NEW.started_at / 3600000
     AND OLD.integration_id IS NEW.integration_id AND OLD.trigger IS NEW.trigger)
BEGIN
    INSERT INTO stats_daily (day, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum,
        network, timeout, authentication, configuration, validation, server)
    VALUES (OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, -1,
        -(OLD.status = 'succeeded'), -(OLD.status = 'failed'), -(OLD.status = 'pending'),
        -(OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL), -(CASE WHEN OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL THEN OLD.duration_ms ELSE 0 END),
        -(OLD.status = 'failed' AND OLD.category = 'network'),
        -(OLD.status = 'failed' AND OLD.category = 'timeout'),
        -(OLD.status = 'failed' AND OLD.category = 'authentication'),
        -(OLD.status = 'failed' AND OLD.category = 'configuration'),
        -(OLD.status = 'failed' AND OLD.category = 'validation'),
        -(OLD.status = 'failed' AND OLD.category = 'server'))
    ON CONFLICT (day, integration_id, trigger) DO UPDATE SET
        total = total + excluded.total, succeeded = succeeded + excluded.succeeded,
        failed = failed + excluded.failed, pending = pending + excluded.pending,
        timed = timed + excluded.timed, duration_sum = duration_sum + excluded.duration_sum,
        network = network + excluded.network, timeout = timeout + excluded.timeout, authentication = authentication + excluded.authentication, configuration = configuration + excluded.configuration, validation = validation + excluded.validation, server = server + excluded.server;
    INSERT INTO stats_hourly (hour, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum,
        network, timeout, authentication, configuration, validation, server)
    VALUES (OLD.started_at / 3600000, OLD.integration_id, OLD.trigger, -1,
        -(OLD.status = 'succeeded'), -(OLD.status = 'failed'), -(OLD.status = 'pending'),
        -(OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL), -(CASE WHEN OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL THEN OLD.duration_ms ELSE 0 END),
        -(OLD.status = 'failed' AND OLD.category = 'network'),
        -(OLD.status = 'failed' AND OLD.category = 'timeout'),
        -(OLD.status = 'failed' AND OLD.category = 'authentication'),
        -(OLD.status = 'failed' AND OLD.category = 'configuration'),
        -(OLD.status = 'failed' AND OLD.category = 'validation'),
        -(OLD.status = 'failed' AND OLD.category = 'server'))
    ON CONFLICT (hour, integration_id, trigger) DO UPDATE SET
        total = total + excluded.total, succeeded = succeeded + excluded.succeeded,
        failed = failed + excluded.failed, pending = pending + excluded.pending,
        timed = timed + excluded.timed, duration_sum = duration_sum + excluded.duration_sum,
        network = network + excluded.network, timeout = timeout + excluded.timeout, authentication = authentication + excluded.authentication, configuration = configuration + excluded.configuration, validation = validation + excluded.validation, server = server + excluded.server;
    INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n)
    SELECT OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN max(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (day, integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_durations_daily_all (day, trigger, bucket, n)
    SELECT OLD.started_at / 86400000, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN max(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (day, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_durations_hourly (hour, integration_id, trigger, bucket, n)
    SELECT OLD.started_at / 3600000, OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN max(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (hour, integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_durations_hourly_all (hour, trigger, bucket, n)
    SELECT OLD.started_at / 3600000, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN max(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (hour, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_durations (integration_id, trigger, bucket, n)
    SELECT OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN max(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n)
    SELECT OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, coalesce(OLD.category, ''), substr(OLD.message, 1, 200), -1
    WHERE OLD.status = 'failed'
    ON CONFLICT (day, integration_id, trigger, category, message) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_errors_hourly (hour, integration_id, trigger, category, message, n)
    SELECT OLD.started_at / 3600000, OLD.integration_id, OLD.trigger, coalesce(OLD.category, ''), substr(OLD.message, 1, 200), -1
    WHERE OLD.status = 'failed'
    ON CONFLICT (hour, integration_id, trigger, category, message) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_errors (integration_id, trigger, category, message, n)
    SELECT OLD.integration_id, OLD.trigger, coalesce(OLD.category, ''), substr(OLD.message, 1, 200), -1
    WHERE OLD.status = 'failed'
    ON CONFLICT (integration_id, trigger, category, message) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_daily (day, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum,
        network, timeout, authentication, configuration, validation, server)
    VALUES (NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, 1,
        (NEW.status = 'succeeded'), (NEW.status = 'failed'), (NEW.status = 'pending'),
        (NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL), (CASE WHEN NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL THEN NEW.duration_ms ELSE 0 END),
        (NEW.status = 'failed' AND NEW.category = 'network'),
        (NEW.status = 'failed' AND NEW.category = 'timeout'),
        (NEW.status = 'failed' AND NEW.category = 'authentication'),
        (NEW.status = 'failed' AND NEW.category = 'configuration'),
        (NEW.status = 'failed' AND NEW.category = 'validation'),
        (NEW.status = 'failed' AND NEW.category = 'server'))
    ON CONFLICT (day, integration_id, trigger) DO UPDATE SET
        total = total + excluded.total, succeeded = succeeded + excluded.succeeded,
        failed = failed + excluded.failed, pending = pending + excluded.pending,
        timed = timed + excluded.timed, duration_sum = duration_sum + excluded.duration_sum,
        network = network + excluded.network, timeout = timeout + excluded.timeout, authentication = authentication + excluded.authentication, configuration = configuration + excluded.configuration, validation = validation + excluded.validation, server = server + excluded.server;
    INSERT INTO stats_hourly (hour, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum,
        network, timeout, authentication, configuration, validation, server)
    VALUES (NEW.started_at / 3600000, NEW.integration_id, NEW.trigger, 1,
        (NEW.status = 'succeeded'), (NEW.status = 'failed'), (NEW.status = 'pending'),
        (NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL), (CASE WHEN NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL THEN NEW.duration_ms ELSE 0 END),
        (NEW.status = 'failed' AND NEW.category = 'network'),
        (NEW.status = 'failed' AND NEW.category = 'timeout'),
        (NEW.status = 'failed' AND NEW.category = 'authentication'),
        (NEW.status = 'failed' AND NEW.category = 'configuration'),
        (NEW.status = 'failed' AND NEW.category = 'validation'),
        (NEW.status = 'failed' AND NEW.category = 'server'))
    ON CONFLICT (hour, integration_id, trigger) DO UPDATE SET
        total = total + excluded.total, succeeded = succeeded + excluded.succeeded,
        failed = failed + excluded.failed, pending = pending + excluded.pending,
        timed = timed + excluded.timed, duration_sum = duration_sum + excluded.duration_sum,
        network = network + excluded.network, timeout = timeout + excluded.timeout, authentication = authentication + excluded.authentication, configuration = configuration + excluded.configuration, validation = validation + excluded.validation, server = server + excluded.server;
    INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n)
    SELECT NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN max(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (day, integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_durations_daily_all (day, trigger, bucket, n)
    SELECT NEW.started_at / 86400000, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN max(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (day, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_durations_hourly (hour, integration_id, trigger, bucket, n)
    SELECT NEW.started_at / 3600000, NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN max(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (hour, integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_durations_hourly_all (hour, trigger, bucket, n)
    SELECT NEW.started_at / 3600000, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN max(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (hour, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_durations (integration_id, trigger, bucket, n)
    SELECT NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN max(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n)
    SELECT NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1
    WHERE NEW.status = 'failed'
    ON CONFLICT (day, integration_id, trigger, category, message) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_errors_hourly (hour, integration_id, trigger, category, message, n)
    SELECT NEW.started_at / 3600000, NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1
    WHERE NEW.status = 'failed'
    ON CONFLICT (hour, integration_id, trigger, category, message) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_errors (integration_id, trigger, category, message, n)
    SELECT NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1
    WHERE NEW.status = 'failed'
    ON CONFLICT (integration_id, trigger, category, message) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER stats_attempt_finished AFTER UPDATE OF status, category, duration_ms, message, started_at, integration_id, trigger ON attempts
WHEN OLD.status IS 'pending' AND OLD.started_at / 3600000 IS NEW.started_at / 3600000
     AND OLD.integration_id IS NEW.integration_id AND OLD.trigger IS NEW.trigger
BEGIN
    INSERT INTO stats_daily (day, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum, network, timeout, authentication, configuration, validation, server)
    VALUES (NEW.started_at / 86400000, NEW.integration_id, NEW.trigger,
        0,
        (NEW.status = 'succeeded'),
        (NEW.status = 'failed'),
        (NEW.status = 'pending') - 1,
        (NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL),
        (CASE WHEN NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL THEN NEW.duration_ms ELSE 0 END),
        (NEW.status = 'failed' AND NEW.category = 'network'),
        (NEW.status = 'failed' AND NEW.category = 'timeout'),
        (NEW.status = 'failed' AND NEW.category = 'authentication'),
        (NEW.status = 'failed' AND NEW.category = 'configuration'),
        (NEW.status = 'failed' AND NEW.category = 'validation'),
        (NEW.status = 'failed' AND NEW.category = 'server'))
    ON CONFLICT (day, integration_id, trigger) DO UPDATE SET
        total = total + excluded.total, succeeded = succeeded + excluded.succeeded, failed = failed + excluded.failed, pending = pending + excluded.pending, timed = timed + excluded.timed, duration_sum = duration_sum + excluded.duration_sum, network = network + excluded.network, timeout = timeout + excluded.timeout, authentication = authentication + excluded.authentication, configuration = configuration + excluded.configuration, validation = validation + excluded.validation, server = server + excluded.server;
    INSERT INTO stats_hourly (hour, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum, network, timeout, authentication, configuration, validation, server)
    VALUES (NEW.started_at / 3600000, NEW.integration_id, NEW.trigger,
        0,
        (NEW.status = 'succeeded'),
        (NEW.status = 'failed'),
        (NEW.status = 'pending') - 1,
        (NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL),
        (CASE WHEN NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL THEN NEW.duration_ms ELSE 0 END),
        (NEW.status = 'failed' AND NEW.category = 'network'),
        (NEW.status = 'failed' AND NEW.category = 'timeout'),
        (NEW.status = 'failed' AND NEW.category = 'authentication'),
        (NEW.status = 'failed' AND NEW.category = 'configuration'),
        (NEW.status = 'failed' AND NEW.category = 'validation'),
        (NEW.status = 'failed' AND NEW.category = 'server'))
    ON CONFLICT (hour, integration_id, trigger) DO UPDATE SET
        total = total + excluded.total, succeeded = succeeded + excluded.succeeded, failed = failed + excluded.failed, pending = pending + excluded.pending, timed = timed + excluded.timed, duration_sum = duration_sum + excluded.duration_sum, network = network + excluded.network, timeout = timeout + excluded.timeout, authentication = authentication + excluded.authentication, configuration = configuration + excluded.configuration, validation = validation + excluded.validation, server = server + excluded.server;
    INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n)
    SELECT NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN max(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (day, integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_durations_daily_all (day, trigger, bucket, n)
    SELECT NEW.started_at / 86400000, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN max(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (day, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_durations_hourly (hour, integration_id, trigger, bucket, n)
    SELECT NEW.started_at / 3600000, NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN max(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (hour, integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_durations_hourly_all (hour, trigger, bucket, n)
    SELECT NEW.started_at / 3600000, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN max(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (hour, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_durations (integration_id, trigger, bucket, n)
    SELECT NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN max(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n)
    SELECT NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1
    WHERE NEW.status = 'failed'
    ON CONFLICT (day, integration_id, trigger, category, message) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_errors_hourly (hour, integration_id, trigger, category, message, n)
    SELECT NEW.started_at / 3600000, NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1
    WHERE NEW.status = 'failed'
    ON CONFLICT (hour, integration_id, trigger, category, message) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_errors (integration_id, trigger, category, message, n)
    SELECT NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1
    WHERE NEW.status = 'failed'
    ON CONFLICT (integration_id, trigger, category, message) DO UPDATE SET n = n + excluded.n;
END;
