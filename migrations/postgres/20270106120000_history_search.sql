-- PostgreSQL twin of migrations/20270106120000_history_search.sql: text search over the history.
-- One row per attempt holding its session id, integration name, message and its handoff's
-- masked values, joined by the unit separator (chr 31), kept by triggers; a trigram index
-- (pg_trgm, GIN) serves `ILIKE '%…%'` on it (`attempts::search`).
--
-- pg_trgm is a trusted extension: a role that may create in the database may install it. It
-- goes into `public` when the role may create there, else into the store's schema; where it is
-- installed already, it is used where it is. Where it cannot be had, the table is made without
-- the index: searches still find the same rows, by reading them all, and a warning says so.
CREATE TABLE history_search (
    attempt_id  TEXT PRIMARY KEY NOT NULL,
    text        TEXT NOT NULL
);

-- An attempt's searchable text. Masked values only (the keys are field names, the same in every
-- row).
CREATE FUNCTION history_search_text(session_id TEXT, integration_name TEXT, message TEXT,
                                    handoff TEXT) RETURNS TEXT
LANGUAGE sql STABLE AS $$
    SELECT session_id || chr(31) || integration_name || chr(31) || message || chr(31)
        || coalesce((
            SELECT string_agg(v #>> '{}', chr(31))
            FROM handoffs h, jsonb_path_query(h.data_masked::jsonb, 'strict $.**') v
            WHERE h.id = handoff AND jsonb_typeof(v) NOT IN ('object', 'array', 'null')
        ), '')
$$;

INSERT INTO history_search (attempt_id, text)
SELECT id, history_search_text(session_id, integration_name, message, handoff_id) FROM attempts;

DO $$
DECLARE
    ext_schema TEXT;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')
       AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public')
               AND has_schema_privilege('public', 'CREATE') THEN
                CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
            ELSE
                EXECUTE format('CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA %I', current_schema());
            END IF;
        EXCEPTION
            -- Another store's migration installed it at the same moment (found below), or
            -- this role may not: the search works without the index.
            WHEN unique_violation OR insufficient_privilege THEN NULL;
        END;
    END IF;
    SELECT n.nspname INTO ext_schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    IF ext_schema IS NULL THEN
        RAISE WARNING 'pg_trgm is not available to this role: history text search reads every attempt';
    ELSE
        EXECUTE format('CREATE INDEX history_search_trigrams ON history_search USING gin (text %I.gin_trgm_ops)',
                       ext_schema);
    END IF;
END
$$;

CREATE FUNCTION history_search_attempt_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO history_search (attempt_id, text)
    VALUES (NEW.id, history_search_text(NEW.session_id, NEW.integration_name, NEW.message,
                                        NEW.handoff_id))
    ON CONFLICT (attempt_id) DO UPDATE SET text = excluded.text;
    RETURN NULL;
END
$$;

CREATE TRIGGER history_search_attempt_inserted AFTER INSERT ON attempts
FOR EACH ROW EXECUTE FUNCTION history_search_attempt_written();

CREATE TRIGGER history_search_attempt_updated
AFTER UPDATE OF session_id, integration_name, message ON attempts
FOR EACH ROW
WHEN (OLD.message IS DISTINCT FROM NEW.message OR OLD.session_id IS DISTINCT FROM NEW.session_id
      OR OLD.integration_name IS DISTINCT FROM NEW.integration_name)
EXECUTE FUNCTION history_search_attempt_written();

CREATE FUNCTION history_search_attempt_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM history_search WHERE attempt_id = OLD.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER history_search_attempt_deleted AFTER DELETE ON attempts
FOR EACH ROW EXECUTE FUNCTION history_search_attempt_deleted();

CREATE FUNCTION history_search_handoff_masked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE history_search s
    SET text = history_search_text(a.session_id, a.integration_name, a.message, a.handoff_id)
    FROM attempts a
    WHERE a.handoff_id = NEW.id AND s.attempt_id = a.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER history_search_handoff_masked AFTER UPDATE OF data_masked ON handoffs
FOR EACH ROW WHEN (OLD.data_masked IS DISTINCT FROM NEW.data_masked)
EXECUTE FUNCTION history_search_handoff_masked();
