-- Database targets: a config without `ssl` now means verified TLS to another machine, and
-- `ssl: true` means verified TLS; both used to mean less (`prefer`, which falls back to the
-- clear, and `require`, which takes any certificate). Configs saved before keep working as
-- saved: their old meaning is written in, by each database's own names. The health check's
-- `tls` row then marks the weaker mode and names the fix. (SQLite targets have no TLS.)
UPDATE integrations SET config = json_set(config, '$.database.ssl',
        CASE json_extract(config, '$.database.type') WHEN 'mysql' THEN 'preferred' ELSE 'prefer' END)
 WHERE kind = 'database'
   AND json_extract(config, '$.database.type') IN ('postgresql', 'mysql')
   AND json_type(config, '$.database.ssl') IS NULL;

UPDATE integrations SET config = json_set(config, '$.database.ssl',
        CASE json_extract(config, '$.database.type') WHEN 'mysql' THEN 'required' ELSE 'require' END)
 WHERE kind = 'database'
   AND json_extract(config, '$.database.type') IN ('postgresql', 'mysql')
   AND json_type(config, '$.database.ssl') = 'true';
