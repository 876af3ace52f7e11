-- PostgreSQL twin of migrations/20261230120000_work_leases.sql: the same columns.
-- Shared work: a worker reserves the due handoffs and unfinished inbox messages it is about to
-- take (`reserved_until`, and its own name in `lease_owner`), so several workers on one store
-- never take the same one (`FOR UPDATE SKIP LOCKED`: each passes over the rows another is
-- reserving). A reservation that runs out (its worker died) frees the item for any other. A
-- handoff's attempt then holds it by `in_flight_until` as before, and `lease_owner` says whose
-- it is. The reservation has a column of its own so that making one moves no statistics rollup
-- (their triggers watch `in_flight_until`).
ALTER TABLE handoffs ADD COLUMN reserved_until BIGINT;
ALTER TABLE handoffs ADD COLUMN lease_owner TEXT;
ALTER TABLE intake_messages ADD COLUMN reserved_until BIGINT;
ALTER TABLE intake_messages ADD COLUMN lease_owner TEXT;

-- The statistics triggers' functions name their tables unqualified: pin the search path they
-- were made with (the store's schema), so that a change made by a session with another search
-- path (an administrator's psql, a maintenance job) updates the rollups instead of failing.
ALTER FUNCTION stats_attempt_inserted() SET search_path FROM CURRENT;
ALTER FUNCTION stats_attempt_updated() SET search_path FROM CURRENT;
ALTER FUNCTION stats_attempt_deleted() SET search_path FROM CURRENT;
ALTER FUNCTION stats_handoff_inserted() SET search_path FROM CURRENT;
ALTER FUNCTION stats_handoff_updated() SET search_path FROM CURRENT;
ALTER FUNCTION stats_handoff_deleted() SET search_path FROM CURRENT;
ALTER FUNCTION audit_log_append_only() SET search_path FROM CURRENT;
