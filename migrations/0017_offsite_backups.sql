-- Off-host backups: a backup may live on this machine, in the bucket, or both; what it is
-- sealed as (each instance's own key now; "backup" for older ones), and whose it is
-- (an instance's, or clawops' own store).
CREATE TABLE backups_new (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'instance',   -- 'instance' | 'store'
    instance TEXT NOT NULL,                  -- the instance; 'clawops' for the store
    file TEXT,                               -- the copy on this machine, while kept
    remote TEXT,                             -- the object key in the bucket, once uploaded
    bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,                    -- of the sealed archive
    sealed_as TEXT NOT NULL DEFAULT 'backup',
    openclaw_version TEXT,
    created_at TEXT NOT NULL
);
INSERT INTO backups_new (id, instance, file, bytes, sha256, openclaw_version, created_at)
    SELECT id, instance, file, bytes, sha256, openclaw_version, created_at FROM backups;
DROP TABLE backups;
ALTER TABLE backups_new RENAME TO backups;
CREATE INDEX backups_instance ON backups(instance, id);
