-- The fleet, its deploys, the confirmations waiting for a press, the audit trail and the
-- operators. Later capabilities (health history, pairing requests, alerts, LLM usage) add
-- their own tables in later migrations; nothing here needs to change for them.

CREATE TABLE instances (
    name          TEXT PRIMARY KEY,          -- the operator's name for it, e.g. alice-bot
    provider      TEXT NOT NULL,             -- hetzner-sim, hetzner, ssh, ...
    region        TEXT NOT NULL,
    size          TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'primary',   -- primary | standby
    status        TEXT NOT NULL,             -- deploying | ready | failed | interrupted | destroyed
    server_id     TEXT,                      -- the provider's id, once created
    ipv4          TEXT,
    monthly_cents INTEGER NOT NULL,
    currency      TEXT NOT NULL,
    end_users     INTEGER NOT NULL DEFAULT 1,
    health        TEXT,                      -- HEALTHY | DEGRADED | OFFLINE | UNREACHABLE (last probe)
    health_score  INTEGER,
    probed_at     TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE deploys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    instance      TEXT NOT NULL REFERENCES instances(name),
    state         TEXT NOT NULL,             -- running | done | failed | interrupted
    params        TEXT NOT NULL,             -- JSON: provider, region, size, ...
    failed_step   TEXT,
    error         TEXT,
    started_at    TEXT NOT NULL,
    finished_at   TEXT
);
-- At most one running deploy per instance.
CREATE UNIQUE INDEX deploys_one_running ON deploys(instance) WHERE state = 'running';

CREATE TABLE deploy_steps (
    deploy_id     INTEGER NOT NULL REFERENCES deploys(id),
    position      INTEGER NOT NULL,
    step          TEXT NOT NULL,
    state         TEXT NOT NULL,             -- pending | running | done | skipped | failed
    attempts      INTEGER NOT NULL DEFAULT 0,
    output        TEXT,
    started_at    TEXT,
    finished_at   TEXT,
    PRIMARY KEY (deploy_id, position)
);

CREATE TABLE confirmations (
    id            TEXT PRIMARY KEY,          -- random, unguessable
    platform      TEXT NOT NULL,             -- the one actor who may press it
    user_id       TEXT NOT NULL,
    action        TEXT NOT NULL,             -- JSON of the Action to run on confirm
    prompt        TEXT NOT NULL,             -- what the operator was shown
    state         TEXT NOT NULL,             -- pending | confirmed | cancelled
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    decided_at    TEXT
);

CREATE TABLE audit (
    seq           INTEGER PRIMARY KEY,       -- 1, 2, 3, ... with no gaps
    at            TEXT NOT NULL,
    actor         TEXT NOT NULL,             -- platform:user_id, or system
    event         TEXT NOT NULL,             -- requested | refused | awaiting-confirmation | confirmed | cancelled | done | failed
    action        TEXT NOT NULL,             -- the command line form of the action
    detail        TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);

CREATE TABLE operators (
    platform      TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    role          TEXT NOT NULL,
    name          TEXT,
    PRIMARY KEY (platform, user_id)
);

-- The simulated cloud keeps its servers here so that it survives restarts like a real one.
CREATE TABLE sim_servers (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    labels        TEXT NOT NULL,             -- JSON object
    region        TEXT NOT NULL,
    size          TEXT NOT NULL,
    ipv4          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    boots_at      TEXT NOT NULL,             -- running from this time on
    host          TEXT NOT NULL DEFAULT '{}' -- JSON: what the simulated host has installed
);
