-- Cells: servers prepared to carry many instances, each in its own limited container.
-- A cell host is reached as root at `target`; a cloud server clawops bought for it also
-- names its provider and server id (a host you have has neither).
CREATE TABLE cell_hosts (
    name TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    provider TEXT,
    region TEXT,
    server_id TEXT,
    size TEXT,
    vcpus INTEGER NOT NULL,
    memory_mb INTEGER NOT NULL,
    monthly_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL
);
-- An instance's cell on a host: its loopback port (unique on the host; the cell's user id
-- follows from it) and its limits. Two while a migration moves it between hosts.
CREATE TABLE cells (
    instance TEXT NOT NULL,
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    cpus_milli INTEGER NOT NULL,
    memory_mb INTEGER NOT NULL,
    pids INTEGER NOT NULL,
    disk_mb INTEGER,
    created_at TEXT NOT NULL,
    PRIMARY KEY (instance, host),
    UNIQUE (host, port)
);
-- A cell over its limits for a while (the anomaly rule): what clawops did about it. The
-- Resume button under the alert names a row here.
CREATE TABLE cell_anomalies (
    id INTEGER PRIMARY KEY,
    instance TEXT NOT NULL,
    reason TEXT NOT NULL,
    suspended INTEGER NOT NULL,
    at TEXT NOT NULL
);
