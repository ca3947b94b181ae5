-- The ledger: when an instance's channels last received a message (from the gateway's
-- channels.status, kept by the sweep), and the snapshots clawops made (billed until
-- deleted at the provider).
ALTER TABLE instances ADD COLUMN last_inbound_at TEXT;
CREATE TABLE snapshots (
    id INTEGER PRIMARY KEY,
    instance TEXT NOT NULL,
    provider TEXT NOT NULL,
    snapshot_id TEXT NOT NULL,
    monthly_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    created_at TEXT NOT NULL
);
