-- The PostgreSQL twin gives the statistics rollup tables storage settings for rows updated in
-- place many times over (a fillfactor that leaves room for HOT updates, autovacuum by row count).
-- SQLite rewrites a row where it stands and has no such settings: nothing changes here.
SELECT 1;
