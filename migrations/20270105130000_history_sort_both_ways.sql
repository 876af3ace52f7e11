-- The attempt list sorted by status or by session id pages from an index in both directions
-- (issue 18: any page of any sort under 50 ms at a million attempts). Such a sort orders by the
-- column, then `started_at`, then the rowid, all one way; the initial migration's indexes hold
-- `started_at DESC` after the column, so one direction read `started_at` against the index and
-- sorted (150–470 ms at a million). These hold every key ascending: read forwards for `asc`,
-- backwards for `desc`. They replace the old ones, which served nothing these do not.
CREATE INDEX attempts_status_started ON attempts (status, started_at);
DROP INDEX attempts_status;
CREATE INDEX attempts_session_started ON attempts (session_id, started_at);
DROP INDEX attempts_session;
