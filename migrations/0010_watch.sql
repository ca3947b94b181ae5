-- The watch: what the scheduled jobs did, and what the health sweeps saw.

-- One row per job run (pruned after 7 days): when it was due, how it went.
CREATE TABLE job_runs (
    id            INTEGER PRIMARY KEY,
    job           TEXT NOT NULL,
    scheduled_for TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    result        TEXT NOT NULL,             -- running | ok | failed
    summary       TEXT
);
CREATE INDEX job_runs_job ON job_runs(job, id);

-- Raw readings of the sweeps (kept [watch] keep_raw, 48 h by default).
CREATE TABLE readings (
    instance      TEXT NOT NULL,
    at            TEXT NOT NULL,
    state         TEXT NOT NULL,             -- HEALTHY | DEGRADED | OFFLINE | UNREACHABLE
    score         INTEGER NOT NULL,
    reasons       TEXT NOT NULL,             -- comma-separated
    cpu           REAL,
    memory        REAL,
    disk          REAL,
    restarts      INTEGER                    -- the service's own restarts of the gateway, so far
);
CREATE INDEX readings_instance_at ON readings(instance, at);
CREATE INDEX readings_at ON readings(at);

-- Hourly summaries (kept [watch] keep_hourly, 90 days by default).
CREATE TABLE readings_hourly (
    instance      TEXT NOT NULL,
    hour          TEXT NOT NULL,             -- 2026-12-02T07:00:00.000Z
    n             INTEGER NOT NULL,
    score_min     INTEGER NOT NULL,
    score_avg     REAL NOT NULL,
    score_max     INTEGER NOT NULL,
    cpu_max       REAL,
    memory_max    REAL,
    disk_max      REAL,
    PRIMARY KEY (instance, hour)
);

-- The instance's current health: why, and since when it has been in that state.
ALTER TABLE instances ADD COLUMN health_reasons TEXT;
ALTER TABLE instances ADD COLUMN health_since TEXT;
