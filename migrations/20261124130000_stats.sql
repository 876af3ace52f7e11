-- Statistics rollups. Triggers on `attempts` keep them, so every write path (the group-commit
-- writer, claims, the worker) keeps them right in the same transaction, and `stats` reads a few
-- thousand rows instead of every attempt. Days are UTC days since the epoch (started_at / 86400000).
-- An attempt counts where it started. Generated statements; keep the five tables in step.

-- Duration buckets for percentiles: below 100 ms one bucket per millisecond (exact); from 100 ms
-- on, each bucket starts 2% after the last, so every duration in a bucket is within 1% of the
-- bucket's geometric middle. `lo` is the smallest duration (ms) in `bucket`. `stats` computes the
-- same table in Rust (and a test checks the two agree).
CREATE TABLE stats_buckets (
    lo      INTEGER PRIMARY KEY NOT NULL,
    bucket  INTEGER NOT NULL UNIQUE
);
WITH RECURSIVE b(k, x) AS (
    SELECT 0, 100.0
    UNION ALL
    SELECT k + 1, x * 1.02 FROM b WHERE x < 1e11
)
INSERT INTO stats_buckets (lo, bucket)
SELECT CAST(x AS INTEGER) + (x > CAST(x AS INTEGER)), 100 + k FROM b;

-- Counts per UTC day, integration and trigger.
CREATE TABLE stats_daily (
    day             INTEGER NOT NULL,
    integration_id  TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    total           INTEGER NOT NULL DEFAULT 0,
    succeeded       INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    pending         INTEGER NOT NULL DEFAULT 0,
    -- Finished attempts with a duration, and the sum of their durations (ms).
    timed           INTEGER NOT NULL DEFAULT 0,
    duration_sum    INTEGER NOT NULL DEFAULT 0,
    -- Failed attempts by category.
    network         INTEGER NOT NULL DEFAULT 0,
    timeout         INTEGER NOT NULL DEFAULT 0,
    authentication  INTEGER NOT NULL DEFAULT 0,
    configuration   INTEGER NOT NULL DEFAULT 0,
    validation      INTEGER NOT NULL DEFAULT 0,
    server          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, integration_id, trigger)
) WITHOUT ROWID;
CREATE INDEX stats_daily_integration ON stats_daily (integration_id, day);

-- Finished attempts per duration bucket: per day (for time windows) and for all time.
CREATE TABLE stats_durations_daily (
    day             INTEGER NOT NULL,
    integration_id  TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    bucket          INTEGER NOT NULL,
    n               INTEGER NOT NULL,
    PRIMARY KEY (day, integration_id, trigger, bucket)
) WITHOUT ROWID;
CREATE INDEX stats_durations_daily_integration ON stats_durations_daily (integration_id, day);
CREATE TABLE stats_durations (
    integration_id  TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    bucket          INTEGER NOT NULL,
    n               INTEGER NOT NULL,
    PRIMARY KEY (integration_id, trigger, bucket)
) WITHOUT ROWID;

-- Failed attempts per message (its first 200 characters) and category ('' when none).
CREATE TABLE stats_errors_daily (
    day             INTEGER NOT NULL,
    integration_id  TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    category        TEXT NOT NULL,
    message         TEXT NOT NULL,
    n               INTEGER NOT NULL,
    PRIMARY KEY (day, integration_id, trigger, category, message)
) WITHOUT ROWID;
CREATE INDEX stats_errors_daily_integration ON stats_errors_daily (integration_id, day);
CREATE TABLE stats_errors (
    integration_id  TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    category        TEXT NOT NULL,
    message         TEXT NOT NULL,
    n               INTEGER NOT NULL,
    PRIMARY KEY (integration_id, trigger, category, message)
) WITHOUT ROWID;

-- Attempts recorded before this migration.
INSERT INTO stats_daily (day, integration_id, trigger, total, succeeded, failed, pending, timed, duration_sum,
    network, timeout, authentication, configuration, validation, server)
SELECT started_at / 86400000, integration_id, trigger, count(*),
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

INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n)
SELECT a.started_at / 86400000, a.integration_id, a.trigger, CASE WHEN a.duration_ms < 100 THEN max(a.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= a.duration_ms ORDER BY lo DESC LIMIT 1) END, count(*)
FROM attempts a WHERE a.status <> 'pending' AND a.duration_ms IS NOT NULL GROUP BY 1, 2, 3, 4;

INSERT INTO stats_durations (integration_id, trigger, bucket, n)
SELECT integration_id, trigger, bucket, sum(n) FROM stats_durations_daily GROUP BY 1, 2, 3;

INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n)
SELECT started_at / 86400000, integration_id, trigger, coalesce(category, ''), substr(message, 1, 200), count(*)
FROM attempts WHERE status = 'failed' GROUP BY 1, 2, 3, 4, 5;

INSERT INTO stats_errors (integration_id, trigger, category, message, n)
SELECT integration_id, trigger, category, message, sum(n) FROM stats_errors_daily GROUP BY 1, 2, 3, 4;

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
    INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n)
    SELECT NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN max(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (day, integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_durations (integration_id, trigger, bucket, n)
    SELECT NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN max(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n)
    SELECT NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1
    WHERE NEW.status = 'failed'
    ON CONFLICT (day, integration_id, trigger, category, message) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_errors (integration_id, trigger, category, message, n)
    SELECT NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1
    WHERE NEW.status = 'failed'
    ON CONFLICT (integration_id, trigger, category, message) DO UPDATE SET n = n + excluded.n;
END;

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
    INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n)
    SELECT OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN max(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (day, integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_durations (integration_id, trigger, bucket, n)
    SELECT OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN max(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n)
    SELECT OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, coalesce(OLD.category, ''), substr(OLD.message, 1, 200), -1
    WHERE OLD.status = 'failed'
    ON CONFLICT (day, integration_id, trigger, category, message) DO UPDATE SET n = n + excluded.n;
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
    INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n)
    SELECT NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN max(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (day, integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_durations (integration_id, trigger, bucket, n)
    SELECT NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN max(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n)
    SELECT NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1
    WHERE NEW.status = 'failed'
    ON CONFLICT (day, integration_id, trigger, category, message) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_errors (integration_id, trigger, category, message, n)
    SELECT NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1
    WHERE NEW.status = 'failed'
    ON CONFLICT (integration_id, trigger, category, message) DO UPDATE SET n = n + excluded.n;
END;

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
    INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n)
    SELECT OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN max(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (day, integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_durations (integration_id, trigger, bucket, n)
    SELECT OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN max(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (integration_id, trigger, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n)
    SELECT OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, coalesce(OLD.category, ''), substr(OLD.message, 1, 200), -1
    WHERE OLD.status = 'failed'
    ON CONFLICT (day, integration_id, trigger, category, message) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_errors (integration_id, trigger, category, message, n)
    SELECT OLD.integration_id, OLD.trigger, coalesce(OLD.category, ''), substr(OLD.message, 1, 200), -1
    WHERE OLD.status = 'failed'
    ON CONFLICT (integration_id, trigger, category, message) DO UPDATE SET n = n + excluded.n;
END;
