-- Real hosts: each instance's SSH key pair (private half sealed by the vault), the host
-- keys pinned on first contact, the instance's other secrets (sealed), and its backups.
CREATE TABLE instance_keys (
    instance TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    private_sealed BLOB NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE host_keys (
    target TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    first_seen TEXT NOT NULL
);

CREATE TABLE instance_secrets (
    instance TEXT NOT NULL,
    name TEXT NOT NULL,
    sealed BLOB NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (instance, name)
);

CREATE TABLE backups (
    id INTEGER PRIMARY KEY,
    instance TEXT NOT NULL,
    file TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    openclaw_version TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX backups_instance ON backups(instance, id);
