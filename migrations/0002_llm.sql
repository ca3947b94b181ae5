-- Every call to the LLM endpoint: who asked, what it cost. Read by /usage and the
-- per-operator daily budget.
CREATE TABLE llm_usage (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    at                TEXT NOT NULL,
    actor             TEXT NOT NULL,             -- platform:user_id
    model             TEXT NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_micros       INTEGER NOT NULL           -- estimated, millionths of the price currency
);
CREATE INDEX llm_usage_actor_at ON llm_usage(actor, at);
