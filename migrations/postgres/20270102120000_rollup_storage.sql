-- PostgreSQL twin of migrations/20270102120000_rollup_storage.sql: storage settings for the rollups.
-- Every counted attempt updates the same few rollup rows, and on PostgreSQL each update writes a
-- new row version. Left to the defaults the tables fill their pages, new versions go to other
-- pages (with new index entries), and autovacuum waits for 20 % of a table to be dead: a table of
-- 100,000 live rows grew to 300 MB of dead ones, and the statistics read them all (BENCHMARKS.md,
-- stats on PostgreSQL). With pages kept half empty an update stays on its page (HOT), and the
-- next read of that page prunes the versions no transaction can see any more; autovacuum comes
-- after a fixed number of dead rows, however large the table, and without cost pauses (these
-- tables are small when kept so). Pages written before this migration take the fillfactor only
-- once rewritten (`VACUUM FULL`); the autovacuum settings apply at once.
DO $$
DECLARE rollup TEXT;
BEGIN
    FOREACH rollup IN ARRAY ARRAY['stats_daily', 'stats_durations', 'stats_durations_daily',
                                  'stats_errors', 'stats_errors_daily', 'stats_handoffs_daily']
    LOOP
        EXECUTE format('ALTER TABLE %I SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0, '
                       'autovacuum_vacuum_threshold = 20000, autovacuum_vacuum_cost_delay = 0, '
                       'autovacuum_analyze_scale_factor = 0.05)', rollup);
    END LOOP;
END
$$;
