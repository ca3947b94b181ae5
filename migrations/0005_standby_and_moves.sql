-- Standbys name their primary; servers an instance left behind when it migrated are kept
-- (stopped) until an operator deletes them; the simulated cloud keeps its snapshots.
ALTER TABLE instances ADD COLUMN standby_of TEXT;   -- the primary a standby covers

CREATE TABLE old_servers (
    id            INTEGER PRIMARY KEY,
    instance      TEXT NOT NULL,
    provider      TEXT NOT NULL,
    region        TEXT NOT NULL,
    size          TEXT NOT NULL,
    server_id     TEXT NOT NULL,
    ipv4          TEXT,
    monthly_cents INTEGER NOT NULL,
    currency      TEXT NOT NULL,
    state         TEXT NOT NULL,             -- kept | deleted | back (a migration rolled back)
    retired_at    TEXT NOT NULL,
    decided_at    TEXT
);
CREATE INDEX old_servers_instance ON old_servers(instance);

CREATE TABLE sim_snapshots (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id     INTEGER NOT NULL,
    description   TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
