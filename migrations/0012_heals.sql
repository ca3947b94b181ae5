-- The watch III: what the heal ladder did.

-- One heal of one instance: what was wrong, what the ladder tried, how it ended.
CREATE TABLE heal_runs (
    id              INTEGER PRIMARY KEY,
    instance        TEXT NOT NULL,
    started_at      TEXT NOT NULL,
    finished_at     TEXT,
    state_before    TEXT NOT NULL,
    score_before    INTEGER NOT NULL,
    reasons_before  TEXT NOT NULL,
    state_after     TEXT,
    score_after     INTEGER,
    outcome         TEXT                     -- healed | gave up | out of budget | stopped
);
CREATE INDEX heal_runs_instance ON heal_runs(instance, id);

-- Each step a heal took (the budget counts them).
CREATE TABLE heal_steps (
    run_id          INTEGER NOT NULL REFERENCES heal_runs(id),
    instance        TEXT NOT NULL,
    rung            TEXT NOT NULL,
    at              TEXT NOT NULL,
    result          TEXT NOT NULL            -- the state and score after the step
);
CREATE INDEX heal_steps_instance_at ON heal_steps(instance, at);
