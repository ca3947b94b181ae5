-- The watch II: incidents, the alert messages that tell of them, silences, and what was
-- held back in quiet hours.

-- How many readings in a row the instance has been in its current state (the flap guard).
ALTER TABLE instances ADD COLUMN health_streak INTEGER NOT NULL DEFAULT 0;

-- What a reading saw that tells what changed before an incident.
ALTER TABLE readings ADD COLUMN version TEXT;
ALTER TABLE readings ADD COLUMN config_rev TEXT;
ALTER TABLE readings ADD COLUMN boot_id TEXT;

-- One message to the ops channels: one incident, or a group opened by one sweep.
CREATE TABLE alerts (
    id            INTEGER PRIMARY KEY,
    opened_at     TEXT NOT NULL,
    grouped       INTEGER NOT NULL,          -- 1: a group of incidents
    body          TEXT NOT NULL,             -- the message as first sent (plain text)
    repeated_at   TEXT,                      -- the last "still down" repeat
    escalated_at  TEXT,
    closed_at     TEXT                       -- every incident in it resolved
);

-- One instance's trouble, from its first bad reading to its recovery.
CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY,
    instance        TEXT NOT NULL,
    provider        TEXT NOT NULL,
    region          TEXT NOT NULL,
    state           TEXT NOT NULL,           -- the worst state so far
    reasons         TEXT NOT NULL,
    opened_at       TEXT NOT NULL,           -- the first bad reading
    alert_id        INTEGER REFERENCES alerts(id),   -- NULL: not told yet (silenced)
    acknowledged_by TEXT,
    acknowledged_at TEXT,
    resolved_at     TEXT,
    resolution      TEXT                     -- recovered | no longer watched
);
CREATE UNIQUE INDEX incidents_one_open ON incidents(instance) WHERE resolved_at IS NULL;
CREATE INDEX incidents_alert ON incidents(alert_id);

-- Where each alert's messages are, so they can be edited and answered after a restart.
CREATE TABLE alert_messages (
    alert_id      INTEGER NOT NULL REFERENCES alerts(id),
    platform      TEXT NOT NULL,
    chat          TEXT NOT NULL,
    message       TEXT NOT NULL,
    kind          TEXT NOT NULL,             -- alert | escalation
    sent_at       TEXT NOT NULL
);
CREATE INDEX alert_messages_alert ON alert_messages(alert_id);

-- Alerts kept back from a channel in its quiet hours, summarised when they end.
CREATE TABLE alerts_held (
    platform      TEXT NOT NULL,
    chat          TEXT NOT NULL,
    alert_id      INTEGER NOT NULL REFERENCES alerts(id),
    held_at       TEXT NOT NULL,
    PRIMARY KEY (platform, chat, alert_id)
);

-- "Don't tell me about these for a while."
CREATE TABLE silences (
    id            INTEGER PRIMARY KEY,
    scope         TEXT NOT NULL,             -- instance | region | provider
    value         TEXT NOT NULL,
    until         TEXT NOT NULL,
    by            TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    lifted_at     TEXT
);
