-- PostgreSQL twin of migrations/20261231120000_rollup_spread.sql: spreads the rollups (PostgreSQL only).
-- PostgreSQL only (the SQLite twin changes nothing: one writer at a time, its commits grouped).
-- Every claim and finish moves counts in the statistics rollups, and on a shared store those
-- land on the same few rows (one per day, integration, trigger, state): concurrent transactions
-- queued on them, each row locked from its trigger's upsert until the commit's WAL flush, and
-- that capped a store at a few hundred handoffs a second whatever the number of workers
-- (BENCHMARKS.md, shared_workers). Each rollup key is now spread over up to 8 rows by `spread`,
-- taken from the id of the attempt or handoff being counted, so concurrent transactions rarely
-- meet; an attempt's or handoff's later changes land on the same row as its first count, and
-- the reads already sum over every row of a key. Rows counted before this migration stay at
-- spread 0.
ALTER TABLE stats_daily ADD COLUMN spread SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE stats_daily DROP CONSTRAINT stats_daily_pkey;
ALTER TABLE stats_daily ADD PRIMARY KEY (day, integration_id, trigger, spread);
ALTER TABLE stats_durations_daily ADD COLUMN spread SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE stats_durations_daily DROP CONSTRAINT stats_durations_daily_pkey;
ALTER TABLE stats_durations_daily ADD PRIMARY KEY (day, integration_id, trigger, bucket, spread);
ALTER TABLE stats_durations ADD COLUMN spread SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE stats_durations DROP CONSTRAINT stats_durations_pkey;
ALTER TABLE stats_durations ADD PRIMARY KEY (integration_id, trigger, bucket, spread);
ALTER TABLE stats_errors_daily ADD COLUMN spread SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE stats_errors_daily DROP CONSTRAINT stats_errors_daily_pkey;
ALTER TABLE stats_errors_daily ADD PRIMARY KEY (day, integration_id, trigger, category, message, spread);
ALTER TABLE stats_errors ADD COLUMN spread SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE stats_errors DROP CONSTRAINT stats_errors_pkey;
ALTER TABLE stats_errors ADD PRIMARY KEY (integration_id, trigger, category, message, spread);
ALTER TABLE stats_handoffs_daily ADD COLUMN spread SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE stats_handoffs_daily DROP CONSTRAINT stats_handoffs_daily_pkey;
ALTER TABLE stats_handoffs_daily ADD PRIMARY KEY (day, integration_id, origin, retried, state, spread);

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
    INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n, spread)
    SELECT NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN greatest(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (day, integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations_daily.n + excluded.n;
    INSERT INTO stats_durations (integration_id, trigger, bucket, n, spread)
    SELECT NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN greatest(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations.n + excluded.n;
    INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n, spread)
    SELECT NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status = 'failed'
    ON CONFLICT (day, integration_id, trigger, category, message, spread) DO UPDATE SET n = stats_errors_daily.n + excluded.n;
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
    INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n, spread)
    SELECT OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN greatest(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (day, integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations_daily.n + excluded.n;
    INSERT INTO stats_durations (integration_id, trigger, bucket, n, spread)
    SELECT OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN greatest(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations.n + excluded.n;
    INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n, spread)
    SELECT OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, coalesce(OLD.category, ''), substr(OLD.message, 1, 200), -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status = 'failed'
    ON CONFLICT (day, integration_id, trigger, category, message, spread) DO UPDATE SET n = stats_errors_daily.n + excluded.n;
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
    INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n, spread)
    SELECT NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN greatest(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (day, integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations_daily.n + excluded.n;
    INSERT INTO stats_durations (integration_id, trigger, bucket, n, spread)
    SELECT NEW.integration_id, NEW.trigger, CASE WHEN NEW.duration_ms < 100 THEN greatest(NEW.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= NEW.duration_ms ORDER BY lo DESC LIMIT 1) END, 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status <> 'pending' AND NEW.duration_ms IS NOT NULL
    ON CONFLICT (integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations.n + excluded.n;
    INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n, spread)
    SELECT NEW.started_at / 86400000, NEW.integration_id, NEW.trigger, coalesce(NEW.category, ''), substr(NEW.message, 1, 200), 1, (hashtext(NEW.id) & 7)::smallint
    WHERE NEW.status = 'failed'
    ON CONFLICT (day, integration_id, trigger, category, message, spread) DO UPDATE SET n = stats_errors_daily.n + excluded.n;
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
    INSERT INTO stats_durations_daily (day, integration_id, trigger, bucket, n, spread)
    SELECT OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN greatest(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (day, integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations_daily.n + excluded.n;
    INSERT INTO stats_durations (integration_id, trigger, bucket, n, spread)
    SELECT OLD.integration_id, OLD.trigger, CASE WHEN OLD.duration_ms < 100 THEN greatest(OLD.duration_ms, 0) ELSE (SELECT bucket FROM stats_buckets WHERE lo <= OLD.duration_ms ORDER BY lo DESC LIMIT 1) END, -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status <> 'pending' AND OLD.duration_ms IS NOT NULL
    ON CONFLICT (integration_id, trigger, bucket, spread) DO UPDATE SET n = stats_durations.n + excluded.n;
    INSERT INTO stats_errors_daily (day, integration_id, trigger, category, message, n, spread)
    SELECT OLD.started_at / 86400000, OLD.integration_id, OLD.trigger, coalesce(OLD.category, ''), substr(OLD.message, 1, 200), -1, (hashtext(OLD.id) & 7)::smallint
    WHERE OLD.status = 'failed'
    ON CONFLICT (day, integration_id, trigger, category, message, spread) DO UPDATE SET n = stats_errors_daily.n + excluded.n;
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
    INSERT INTO stats_handoffs_daily (day, integration_id, origin, retried, state, n, spread)
    VALUES (NEW.created_at / 86400000, NEW.integration_id, NEW.origin, NEW.attempts > 1,
        CASE WHEN NEW.status = 'succeeded' THEN 'delivered' WHEN NEW.status = 'pending' AND NEW.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END,
        1, (hashtext(NEW.id) & 7)::smallint)
    ON CONFLICT (day, integration_id, origin, retried, state, spread) DO UPDATE SET n = stats_handoffs_daily.n + excluded.n;
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
    RETURN NULL;
END
$$;
-- Replacing a function drops its settings: pin the search path again (see work_leases).
ALTER FUNCTION stats_attempt_inserted() SET search_path FROM CURRENT;
ALTER FUNCTION stats_attempt_updated() SET search_path FROM CURRENT;
ALTER FUNCTION stats_attempt_deleted() SET search_path FROM CURRENT;
ALTER FUNCTION stats_handoff_inserted() SET search_path FROM CURRENT;
ALTER FUNCTION stats_handoff_updated() SET search_path FROM CURRENT;
ALTER FUNCTION stats_handoff_deleted() SET search_path FROM CURRENT;
