-- `store copy` (issue 17) copies a local store's history into a PostgreSQL store and notes each
-- copy here, on the store it copies into: which history it came from (a fingerprint of the
-- source's first audit entry and first handoff, which never change), when it started and when
-- its counts were verified. A copy that was cut short is resumed by running it again; a store
-- holding anything else is refused. The local store has the table too (the same migrations
-- for both), and it stays empty there.
CREATE TABLE store_copies (
    source       TEXT PRIMARY KEY NOT NULL,
    origin       TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER
);
