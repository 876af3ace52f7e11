-- The handoff view of a text search (issue 18): the handoffs whose last attempt holds the text.
-- Counting them from the attempts that hold it read each match's row and then its handoff's
-- (two lookups a match: 400 ms for text in a fifth of a million attempts). Most attempts are
-- their handoff's last; this table keeps the others, so that such a count is the number of
-- matches less those found here, and the smaller of the two sets is the one read.
--
-- The rowids of the attempts that are not the last attempt of a listed handoff: an earlier try
-- of a handoff tried again, a configuration test's (tests are not listed), an attempt whose
-- handoff's last attempt is some other (an export's window can leave the last one out). An
-- attempt is here exactly when no handoff `h` has `h.id = a.handoff_id AND h.last_attempt_id =
-- a.id AND h.origin <> 'test'`; the triggers below keep that true through every write, in the
-- same transaction. On the hot path a new handoff's first attempt writes nothing here (two
-- lookups of rows the write has just touched); a retry writes one row (the attempt it
-- supersedes). The rowids are the search index's (migrations/..._history_search.sql).
CREATE TABLE history_not_last (
    attempt_rowid INTEGER PRIMARY KEY NOT NULL
);

INSERT INTO history_not_last (attempt_rowid)
SELECT a.rowid FROM attempts a
WHERE NOT EXISTS (SELECT 1 FROM handoffs h
                  WHERE h.id = a.handoff_id AND h.last_attempt_id = a.id AND h.origin <> 'test');

-- A new attempt is a listed handoff's last when its handoff already names it (a new handoff is
-- written first, naming it; a claim of an existing handoff too); otherwise it is not (yet).
CREATE TRIGGER history_not_last_attempt_inserted AFTER INSERT ON attempts
WHEN NOT EXISTS (SELECT 1 FROM handoffs h
                 WHERE h.id = NEW.handoff_id AND h.last_attempt_id = NEW.id AND h.origin <> 'test')
BEGIN
    INSERT OR IGNORE INTO history_not_last (attempt_rowid) VALUES (NEW.rowid);
END;

-- No write of the console's changes an attempt's id or handoff; kept right all the same.
CREATE TRIGGER history_not_last_attempt_moved AFTER UPDATE OF id, handoff_id ON attempts
BEGIN
    DELETE FROM history_not_last WHERE attempt_rowid = OLD.rowid;
    INSERT OR IGNORE INTO history_not_last (attempt_rowid)
    SELECT NEW.rowid WHERE NOT EXISTS (
        SELECT 1 FROM handoffs h
        WHERE h.id = NEW.handoff_id AND h.last_attempt_id = NEW.id AND h.origin <> 'test');
END;

CREATE TRIGGER history_not_last_attempt_deleted AFTER DELETE ON attempts BEGIN
    DELETE FROM history_not_last WHERE attempt_rowid = OLD.rowid;
END;

-- A handoff written naming an attempt already recorded (an import's order) makes it its last.
CREATE TRIGGER history_not_last_handoff_inserted AFTER INSERT ON handoffs
WHEN NEW.last_attempt_id IS NOT NULL AND NEW.origin <> 'test'
BEGIN
    DELETE FROM history_not_last WHERE attempt_rowid =
        (SELECT rowid FROM attempts WHERE id = NEW.last_attempt_id AND handoff_id = NEW.id);
END;

-- A claim names the new attempt (not written yet): the one it names no longer is the last.
CREATE TRIGGER history_not_last_handoff_updated AFTER UPDATE OF id, last_attempt_id, origin ON handoffs
WHEN OLD.id IS NOT NEW.id OR OLD.last_attempt_id IS NOT NEW.last_attempt_id
  OR OLD.origin IS NOT NEW.origin
BEGIN
    INSERT OR IGNORE INTO history_not_last (attempt_rowid)
    SELECT rowid FROM attempts WHERE id = OLD.last_attempt_id AND handoff_id = OLD.id;
    DELETE FROM history_not_last WHERE NEW.origin <> 'test' AND attempt_rowid =
        (SELECT rowid FROM attempts WHERE id = NEW.last_attempt_id AND handoff_id = NEW.id);
END;

CREATE TRIGGER history_not_last_handoff_deleted AFTER DELETE ON handoffs BEGIN
    INSERT OR IGNORE INTO history_not_last (attempt_rowid)
    SELECT rowid FROM attempts WHERE id = OLD.last_attempt_id AND handoff_id = OLD.id;
END;
