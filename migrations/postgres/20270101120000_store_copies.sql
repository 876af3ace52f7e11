-- PostgreSQL twin of migrations/20270101120000_store_copies.sql: the same table.
CREATE TABLE store_copies (
    source       TEXT PRIMARY KEY NOT NULL,
    origin       TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT
);
