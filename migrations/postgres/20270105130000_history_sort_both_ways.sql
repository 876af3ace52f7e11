-- PostgreSQL twin of migrations/20270105130000_history_sort_both_ways.sql: the status and
-- session id indexes with every key ascending (a B-tree is read backwards as readily), in place
-- of the initial migration's `started_at DESC` ones. The sort's last key here is the id.
CREATE INDEX attempts_status_started ON attempts (status, started_at, id);
DROP INDEX attempts_status;
CREATE INDEX attempts_session_started ON attempts (session_id, started_at, id);
DROP INDEX attempts_session;
