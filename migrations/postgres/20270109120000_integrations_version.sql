-- PostgreSQL twin of migrations/20270109120000_integrations_version.sql. A number that moves
-- with every change of an integration, whoever makes it. (The PostgreSQL store does not keep
-- integrations in memory yet: reading the number is a round trip, as the lookup is. The table
-- is kept the same on both back ends.)

CREATE TABLE integrations_version (
    id       INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    version  BIGINT NOT NULL
);
INSERT INTO integrations_version (id, version) VALUES (1, 0);

-- The three triggers share one body, a function of its own name.
CREATE FUNCTION integrations_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE integrations_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
ALTER FUNCTION integrations_version_bump() SET search_path FROM CURRENT;

CREATE TRIGGER integrations_version_inserted AFTER INSERT ON integrations
    FOR EACH ROW EXECUTE FUNCTION integrations_version_bump();
CREATE TRIGGER integrations_version_updated AFTER UPDATE ON integrations
    FOR EACH ROW EXECUTE FUNCTION integrations_version_bump();
CREATE TRIGGER integrations_version_deleted AFTER DELETE ON integrations
    FOR EACH ROW EXECUTE FUNCTION integrations_version_bump();
