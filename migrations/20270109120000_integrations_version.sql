-- A number that moves with every change of an integration, whoever makes it (this console,
-- the CLI on the same file, another instance on the same PostgreSQL store). The hot path keeps
-- the integrations it looked up in memory and reads only this number per handoff: the same
-- number means the same integrations (`store::memo`).
-- A change of several rows bumps it once per row, which is as good.

CREATE TABLE integrations_version (
    id       INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    version  INTEGER NOT NULL
);
INSERT INTO integrations_version (id, version) VALUES (1, 0);

CREATE TRIGGER integrations_version_inserted AFTER INSERT ON integrations
BEGIN
    UPDATE integrations_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER integrations_version_updated AFTER UPDATE ON integrations
BEGIN
    UPDATE integrations_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER integrations_version_deleted AFTER DELETE ON integrations
BEGIN
    UPDATE integrations_version SET version = version + 1 WHERE id = 1;
END;
