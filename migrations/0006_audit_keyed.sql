-- The audit chain becomes keyed: each row's hash is an HMAC-SHA256 under a key derived
-- from the master key, so rows cannot be recomputed without it. Rows written before are
-- re-sealed at start-up (after their old chain is checked) and flagged here.
ALTER TABLE audit ADD COLUMN keyed INTEGER NOT NULL DEFAULT 0;
