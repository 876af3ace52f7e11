-- Text search over the history (issue 18): the Stats panel's search box, `history --text` and
-- `?q=` on the attempt and handoff lists look for text in an attempt's session id, integration
-- name and message, and in the masked values of its handoff's data. A `LIKE '%…%'` over those
-- reads every attempt; this index finds the attempts holding a piece of text of three or more
-- characters from the trigrams it is made of (`attempts::search`).
--
-- One row per attempt, keyed by the attempt's rowid, holding the four texts joined by the unit
-- separator (char 31) so that a match never spans two of them (a search never holds that
-- character). Contentless (the texts are in `attempts` and `handoffs` already); rows are deleted
-- by rowid (`contentless_delete`). The attempt rowids are stable: VACUUM keeps the rowids of a
-- table with indexes, and no write of the console's moves a row.
--
-- Off the hot path: indexing an attempt as it is written would cost a handoff's two store
-- writes half their throughput (BENCHMARKS.md, `history`), where indexing attempts in batches
-- costs about 10 µs each. So the triggers only note which attempts need indexing, in
-- `history_search_queue` (an attempt that is new, or whose text changed: its row leaves the
-- index until it is indexed again), and the store indexes the queue's finished attempts in
-- batches (`Store::index_history_search`: the worker, every second). An attempt is in the index
-- or in the queue, never both; a search reads the index's matches and the queue's few attempts
-- directly.
CREATE VIRTUAL TABLE history_search USING fts5 (
    text,
    tokenize = 'trigram',
    content = '',
    contentless_delete = 1
);

CREATE TABLE history_search_queue (
    attempt_rowid INTEGER PRIMARY KEY NOT NULL
);

-- An attempt's searchable text. Masked values only (the keys are field names, the same in every
-- row); booleans as JSON writes them; data that is not valid JSON adds nothing.
CREATE VIEW history_search_source AS
SELECT a.rowid AS attempt_rowid, a.handoff_id,
    a.session_id || char(31) || a.integration_name || char(31) || a.message || char(31)
    || coalesce((
        SELECT group_concat(
                   CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE j.value END,
                   char(31))
        FROM handoffs h,
             json_tree(CASE WHEN json_valid(h.data_masked) THEN h.data_masked END) j
        WHERE h.id = a.handoff_id AND j.type NOT IN ('object', 'array', 'null')
    ), '') AS text
FROM attempts a;

-- The attempts already recorded: indexed now.
INSERT INTO history_search (rowid, text) SELECT attempt_rowid, text FROM history_search_source;

CREATE TRIGGER history_search_attempt_inserted AFTER INSERT ON attempts BEGIN
    INSERT OR IGNORE INTO history_search_queue (attempt_rowid) VALUES (NEW.rowid);
END;

-- An indexed attempt whose text changed leaves the index for the queue; a queued one stays
-- (its finish writes its message while it waits: nothing to do).
CREATE TRIGGER history_search_attempt_updated
AFTER UPDATE OF session_id, integration_name, message ON attempts
WHEN (OLD.message IS NOT NEW.message OR OLD.session_id IS NOT NEW.session_id
      OR OLD.integration_name IS NOT NEW.integration_name)
  AND NOT EXISTS (SELECT 1 FROM history_search_queue WHERE attempt_rowid = OLD.rowid)
BEGIN
    DELETE FROM history_search WHERE rowid = OLD.rowid;
    INSERT INTO history_search_queue (attempt_rowid) VALUES (NEW.rowid);
END;

CREATE TRIGGER history_search_attempt_deleted AFTER DELETE ON attempts BEGIN
    DELETE FROM history_search WHERE rowid = OLD.rowid
        AND NOT EXISTS (SELECT 1 FROM history_search_queue WHERE attempt_rowid = OLD.rowid);
    DELETE FROM history_search_queue WHERE attempt_rowid = OLD.rowid;
END;

CREATE TRIGGER history_search_handoff_masked AFTER UPDATE OF data_masked ON handoffs
WHEN OLD.data_masked IS NOT NEW.data_masked
BEGIN
    DELETE FROM history_search
    WHERE rowid IN (SELECT a.rowid FROM attempts a WHERE a.handoff_id = NEW.id
                      AND NOT EXISTS (SELECT 1 FROM history_search_queue q
                                      WHERE q.attempt_rowid = a.rowid));
    INSERT OR IGNORE INTO history_search_queue (attempt_rowid)
    SELECT rowid FROM attempts WHERE handoff_id = NEW.id;
END;
