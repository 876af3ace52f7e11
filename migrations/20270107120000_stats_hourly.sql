-- Hourly statistics rollups, beside the daily ones. A time window rarely starts or ends at
-- midnight UTC ("the last 7 days" starts at this hour a week ago): its whole days come from
-- the daily rollups, and until now the partial days at its edges were counted from `attempts`
-- itself: up to a day of attempts, 55,000 of them in a store of ten million over half a year
-- (BENCHMARKS.md, stats). Now whole hours come from these tables and only the partial hours at
-- the edges (at most two) from `attempts`. The triggers below are the daily ones with the same
-- statements for the hours beside them, kept in the same transaction as every change of an
-- attempt or handoff. Hours are UTC hours since the epoch (started_at / 3600000; a handoff's
-- created_at / 3600000).

CREATE TABLE stats_hourly (
    hour            INTEGER NOT NULL,
    integration_id  TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    total           INTEGER NOT NULL DEFAULT 0,
    succeeded       INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    pending         INTEGER NOT NULL DEFAULT 0,
    timed           INTEGER NOT NULL DEFAULT 0,
    duration_sum    INTEGER NOT NULL DEFAULT 0,
    network         INTEGER NOT NULL DEFAULT 0,
    timeout         INTEGER NOT NULL DEFAULT 0,
    authentication  INTEGER NOT NULL DEFAULT 0,
    configuration   INTEGER NOT NULL DEFAULT 0,
    validation      INTEGER NOT NULL DEFAULT 0,
    server          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, integration_id, trigger)
) WITHOUT ROWID;
CREATE INDEX stats_hourly_integration ON stats_hourly (integration_id, hour);

CREATE TABLE stats_durations_hourly (
    hour            INTEGER NOT NULL,
    integration_id  TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    bucket          INTEGER NOT NULL,
    n               INTEGER NOT NULL,
    PRIMARY KEY (hour, integration_id, trigger, bucket)
) WITHOUT ROWID;
CREATE INDEX stats_durations_hourly_integration ON stats_durations_hourly (integration_id, hour);

CREATE TABLE stats_errors_hourly (
    hour            INTEGER NOT NULL,
    integration_id  TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    category        TEXT NOT NULL,
    message         TEXT NOT NULL,
    n               INTEGER NOT NULL,
    PRIMARY KEY (hour, integration_id, trigger, category, message)
) WITHOUT ROWID;
CREATE INDEX stats_errors_hourly_integration ON stats_errors_hourly (integration_id, hour);

CREATE TABLE stats_handoffs_hourly (
    hour            INTEGER NOT NULL,
    integration_id  TEXT NOT NULL,
    origin          TEXT NOT NULL,
    retried         INTEGER NOT NULL,
    state           TEXT NOT NULL,
    n               INTEGER NOT NULL,
    PRIMARY KEY (hour, integration_id, origin, retried, state)
) WITHOUT ROWID;
CREATE INDEX stats_handoffs_hourly_integration ON stats_handoffs_hourly (integration_id, hour);

-- What was recorded before this migration.
INSERT INTO stats_hourly (hour, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum,
    network, timeout, authentication, configuration, validation, server)
SELECT started_at / 3600000, integration_id, trigger, count(*),
    sum(status = 'succeeded'), sum(status = 'failed'), sum(status = 'pending'),
    sum(status <> 'pending' AND duration_ms IS NOT NULL),
    coalesce(sum(CASE WHEN status <> 'pending' THEN duration_ms END), 0),
    sum(status = 'failed' AND category = 'network'),
    sum(status = 'failed' AND category = 'timeout'),
    sum(status = 'failed' AND category = 'authentication'),
    sum(status = 'failed' AND category = 'configuration'),
    sum(status = 'failed' AND category = 'validation'),
    sum(status = 'failed' AND category = 'server')
FROM attempts GROUP BY 1, 2, 3;

INSERT INTO stats_durations_hourly (hour, integration_id, trigger, bucket, n)
SELECT a.started_at / 3600000, a.integration_id, a.trigger, CASE WHEN a.duration_ms < 100 THEN max(a.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= a.duration_ms ORDER BY lo DESC LIMIT 1) END, count(*)
FROM attempts a WHERE a.status <> 'pending' AND a.duration_ms IS NOT NULL GROUP BY 1, 2, 3, 4;

INSERT INTO stats_errors_hourly (hour, integration_id, trigger, category, message, n)
SELECT started_at / 3600000, integration_id, trigger, coalesce(category, ''), substr(message, 1, 200), count(*)
FROM attempts WHERE status = 'failed' GROUP BY 1, 2, 3, 4, 5;

INSERT INTO stats_handoffs_hourly (hour, integration_id, origin, retried, state, n)
SELECT created_at / 3600000, integration_id, origin, attempts > 1,
    CASE WHEN status = 'succeeded' THEN 'delivered' WHEN status = 'pending' AND in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
    count(*)
FROM handoffs GROUP BY 1, 2, 3, 4, 5;

-- The triggers again, each daily statement followed by its hourly twin. A handoff's update
-- counts when its hour key changes (a change of day is one too).
DROP TRIGGER stats_attempt_inserted;
CREATE TRIGGER stats_attempt_inserted AFTER INSERT ON attempts BEGIN
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
    INSERT INTO stats_durations_hourly (hour, integration_id, trigger, bucket, n)
    SELECT NEW.started_at / 3600000, NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN max(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (hour, integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
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

DROP TRIGGER stats_attempt_updated;
CREATE TRIGGER stats_attempt_updated AFTER UPDATE OF status, category, duration_ms, message, started_at, integration_id, trigger ON attempts BEGIN
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
    INSERT INTO stats_durations_hourly (hour, integration_id, trigger, bucket, n)
    SELECT OLD.started_at / 3600000, OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN max(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (hour, integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
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
    INSERT INTO stats_durations_hourly (hour, integration_id, trigger, bucket, n)
    SELECT NEW.started_at / 3600000, NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN max(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (hour, integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
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

DROP TRIGGER stats_attempt_deleted;
CREATE TRIGGER stats_attempt_deleted AFTER DELETE ON attempts BEGIN
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
    INSERT INTO stats_durations_hourly (hour, integration_id, trigger, bucket, n)
    SELECT OLD.started_at / 3600000, OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN max(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (hour, integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
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
END;

DROP TRIGGER stats_handoff_inserted;
CREATE TRIGGER stats_handoff_inserted AFTER INSERT ON handoffs BEGIN
    INSERT INTO stats_handoffs_daily (day, integration_id, origin, retried, state, n)
    VALUES (NEW.created_at / 86400000, NEW.integration_id, NEW.origin, NEW.attempts > 1,
        CASE WHEN NEW.status = 'succeeded' THEN 'delivered' WHEN NEW.status = 'pending' AND NEW.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        1)
    ON CONFLICT (day, integration_id, origin, retried, state) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_handoffs_hourly (hour, integration_id, origin, retried, state, n)
    VALUES (NEW.created_at / 3600000, NEW.integration_id, NEW.origin, NEW.attempts > 1,
        CASE WHEN NEW.status = 'succeeded' THEN 'delivered' WHEN NEW.status = 'pending' AND NEW.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        1)
    ON CONFLICT (hour, integration_id, origin, retried, state) DO UPDATE SET n = n + excluded.n;
END;

DROP TRIGGER stats_handoff_updated;
CREATE TRIGGER stats_handoff_updated AFTER UPDATE OF status, in_flight_until, attempts, origin, integration_id, created_at ON handoffs
WHEN (OLD.created_at / 3600000, OLD.integration_id, OLD.origin, OLD.attempts > 1,
      CASE WHEN OLD.status = 'succeeded' THEN 'delivered' WHEN OLD.status = 'pending' AND OLD.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END)
  <> (NEW.created_at / 3600000, NEW.integration_id, NEW.origin, NEW.attempts > 1,
      CASE WHEN NEW.status = 'succeeded' THEN 'delivered' WHEN NEW.status = 'pending' AND NEW.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END)
BEGIN
    INSERT INTO stats_handoffs_daily (day, integration_id, origin, retried, state, n)
    VALUES (OLD.created_at / 86400000, OLD.integration_id, OLD.origin, OLD.attempts > 1,
        CASE WHEN OLD.status = 'succeeded' THEN 'delivered' WHEN OLD.status = 'pending' AND OLD.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        -1)
    ON CONFLICT (day, integration_id, origin, retried, state) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_handoffs_hourly (hour, integration_id, origin, retried, state, n)
    VALUES (OLD.created_at / 3600000, OLD.integration_id, OLD.origin, OLD.attempts > 1,
        CASE WHEN OLD.status = 'succeeded' THEN 'delivered' WHEN OLD.status = 'pending' AND OLD.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        -1)
    ON CONFLICT (hour, integration_id, origin, retried, state) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_handoffs_daily (day, integration_id, origin, retried, state, n)
    VALUES (NEW.created_at / 86400000, NEW.integration_id, NEW.origin, NEW.attempts > 1,
        CASE WHEN NEW.status = 'succeeded' THEN 'delivered' WHEN NEW.status = 'pending' AND NEW.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        1)
    ON CONFLICT (day, integration_id, origin, retried, state) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_handoffs_hourly (hour, integration_id, origin, retried, state, n)
    VALUES (NEW.created_at / 3600000, NEW.integration_id, NEW.origin, NEW.attempts > 1,
        CASE WHEN NEW.status = 'succeeded' THEN 'delivered' WHEN NEW.status = 'pending' AND NEW.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        1)
    ON CONFLICT (hour, integration_id, origin, retried, state) DO UPDATE SET n = n + excluded.n;
END;

DROP TRIGGER stats_handoff_deleted;
CREATE TRIGGER stats_handoff_deleted AFTER DELETE ON handoffs BEGIN
    INSERT INTO stats_handoffs_daily (day, integration_id, origin, retried, state, n)
    VALUES (OLD.created_at / 86400000, OLD.integration_id, OLD.origin, OLD.attempts > 1,
        CASE WHEN OLD.status = 'succeeded' THEN 'delivered' WHEN OLD.status = 'pending' AND OLD.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        -1)
    ON CONFLICT (day, integration_id, origin, retried, state) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_handoffs_hourly (hour, integration_id, origin, retried, state, n)
    VALUES (OLD.created_at / 3600000, OLD.integration_id, OLD.origin, OLD.attempts > 1,
        CASE WHEN OLD.status = 'succeeded' THEN 'delivered' WHEN OLD.status = 'pending' AND OLD.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        -1)
    ON CONFLICT (hour, integration_id, origin, retried, state) DO UPDATE SET n = n + excluded.n;
END;
