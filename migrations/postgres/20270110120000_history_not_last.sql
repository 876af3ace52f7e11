-- PostgreSQL twin of migrations/20270110120000_history_not_last.sql: nothing to add. SQLite
-- keeps the attempts that are not a listed handoff's last so that a text search counts the
-- handoff view from its matches without reading their rows; PostgreSQL's planner counts it
-- from the trigram index and the handoffs' own indexes.
SELECT 1;
