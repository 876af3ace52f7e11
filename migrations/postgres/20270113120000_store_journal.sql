-- The SQLite store's twin (`store::journal`, the local store's journal and how far it was
-- moved). The shared store has no journal: its commits are not what limits it. The table keeps
-- the two schemas table for table; nothing writes it here but this row.
CREATE TABLE store_journal (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    moved BIGINT NOT NULL
);
INSERT INTO store_journal (id, moved) VALUES (1, 0);

CREATE TABLE store_journal_refused (
    seq    BIGINT PRIMARY KEY,
    kind   INTEGER NOT NULL,
    body   TEXT NOT NULL,
    reason TEXT NOT NULL,
    at     BIGINT NOT NULL
);
