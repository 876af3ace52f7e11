-- PostgreSQL twin of migrations/20261210120000_database_tls.sql: old database configs keep their TLS meaning, written in.
-- A config without `ssl` used to mean `prefer`, and `ssl: true` meant `require`; both now mean
-- verified TLS, so configs saved before get their old meaning written in, by each database's own
-- names. A no-op on a new store. `config` is TEXT: read as jsonb, written back as text (jsonb's
-- text: keys reordered and spaced, the same JSON value). `#> path IS NULL` is SQLite's
-- json_type(..) IS NULL (the key is absent; a JSON null is 'null' in both).
UPDATE integrations SET config = jsonb_set(config::jsonb, '{database,ssl}',
        to_jsonb(CASE config::jsonb #>> '{database,type}' WHEN 'mysql' THEN 'preferred' ELSE 'prefer' END))::text
 WHERE kind = 'database'
   AND config::jsonb #>> '{database,type}' IN ('postgresql', 'mysql')
   AND config::jsonb #> '{database,ssl}' IS NULL;

UPDATE integrations SET config = jsonb_set(config::jsonb, '{database,ssl}',
        to_jsonb(CASE config::jsonb #>> '{database,type}' WHEN 'mysql' THEN 'required' ELSE 'require' END))::text
 WHERE kind = 'database'
   AND config::jsonb #>> '{database,type}' IN ('postgresql', 'mysql')
   AND config::jsonb #> '{database,ssl}' = 'true'::jsonb;
