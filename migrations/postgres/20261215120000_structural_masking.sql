-- PostgreSQL twin of migrations/20261215120000_structural_masking.sql: how an attempt's record was masked.
--   'structural': the request was built with each collected field's mask in its place (see
--                 docs/architecture.md, "What an attempt records").
--   NULL:         recorded before: the whole record was searched for the collected values.
ALTER TABLE attempts ADD COLUMN masking TEXT CHECK (masking IS NULL OR masking = 'structural');
