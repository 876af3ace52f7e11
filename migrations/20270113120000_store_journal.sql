-- How far the hot path's journal (`store::journal`: the file handoff-journal.db beside this
-- one) has been moved into this store: its entries up to `moved` are in the tables. Written in
-- each move's own transaction, so a move replayed after a crash skips what it wrote already.
CREATE TABLE store_journal (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    moved INTEGER NOT NULL
);
INSERT INTO store_journal (id, moved) VALUES (1, 0);

-- A journal entry the store refused (a constraint: say, a handoff id made twice), set aside
-- with the store's reason instead of stopping every move after it. The journal never takes
-- such an entry knowingly: this keeps one that slipped through, for support to read.
CREATE TABLE store_journal_refused (
    seq    INTEGER PRIMARY KEY,
    kind   INTEGER NOT NULL,
    body   TEXT NOT NULL,
    reason TEXT NOT NULL,
    at     INTEGER NOT NULL
);
