-- PostgreSQL twin of migrations/20261220140000_intake_seed_routes.sql: the inbox's endpoint also takes the seed's routes `database` and `push`.
-- SQLite rebuilds the table to widen its CHECK; PostgreSQL replaces the constraint in place
-- (rows, column order and indexes stay as they are, as the rebuild leaves them).
ALTER TABLE intake_messages
    DROP CONSTRAINT intake_messages_endpoint_check,
    ADD CONSTRAINT intake_messages_endpoint_check CHECK (endpoint IN ('webhook', 'handoff', 'database', 'push'));
