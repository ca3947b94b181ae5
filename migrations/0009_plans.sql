-- Plans: work of several steps that must survive a crash (a migration today; rollouts,
-- disaster recovery and failover later). The plan's own JSON (what it was asked, what it
-- has learned so far: a backup id, a deploy id, the old server) is saved after each step,
-- so a new process can pick it up where the old one stopped.
CREATE TABLE plans (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,             -- migrate
    subject       TEXT NOT NULL,             -- the instance it acts on
    actor         TEXT NOT NULL,             -- who confirmed it (audit name)
    state         TEXT NOT NULL,             -- running | interrupted | rolling-back | done | rolled-back | failed
    body          TEXT NOT NULL,             -- the plan, JSON
    error         TEXT,
    started_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    finished_at   TEXT
);
-- One open plan per subject, whichever process tries to start a second.
CREATE UNIQUE INDEX plans_open ON plans(subject) WHERE state IN ('running', 'interrupted', 'rolling-back');

CREATE TABLE plan_steps (
    plan_id       INTEGER NOT NULL REFERENCES plans(id),
    position      INTEGER NOT NULL,
    step          TEXT NOT NULL,
    state         TEXT NOT NULL,             -- pending | running | done | skipped | failed
    output        TEXT,
    started_at    TEXT,
    finished_at   TEXT,
    PRIMARY KEY (plan_id, position)
);
