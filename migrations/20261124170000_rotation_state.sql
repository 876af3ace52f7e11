-- A key rotation in progress: set when `keys rotate` makes a key current, cleared when a pass
-- has re-sealed everything it can. A key made on first use (or to replace a missing one) has
-- nothing to re-seal.
ALTER TABLE data_keys ADD COLUMN rotation_pending INTEGER NOT NULL DEFAULT 0;
