-- `handoffs_status (status, integration_id)` served one query, the bulk retry's list of failed
-- handoffs (`retry --failed`), which the state index (`handoffs_state`, migration
-- `20261202120000_handoff_origin.sql`) serves as well: a failed handoff is an undelivered one.
-- Every handoff's two commits wrote this index: about 6 of the 53 pages they write to the WAL
-- (BENCHMARKS.md, "The slow sink"). Without it, that list reads its handoffs in the state
-- index's order instead of the status's (1.1 → 2.0 s for 10,000 of a million's 127,000 failed
-- handoffs), which a bulk retry's own requests dwarf.
DROP INDEX handoffs_status;
