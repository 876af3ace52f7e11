-- The PostgreSQL twin spreads each statistics rollup key over several rows, so that concurrent
-- transactions of several workers rarely wait on one row. SQLite runs one write at a time and
-- groups commits: its rollups stay one row per key, and nothing changes here.
SELECT 1;
