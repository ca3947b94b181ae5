-- Briefings: which ops channel got which briefing for which local day (each is sent once,
-- at or after its local time), and the fleet's monthly run-rate per day for the cost trend
-- and the chart.
CREATE TABLE briefings (
    id          INTEGER PRIMARY KEY,
    platform    TEXT NOT NULL,
    chat        TEXT NOT NULL,
    kind        TEXT NOT NULL,           -- morning | weekly
    local_date  TEXT NOT NULL,           -- the channel's own date, YYYY-MM-DD
    sent_at     TEXT NOT NULL,
    writer      TEXT NOT NULL            -- plain | llm | plain (llm refused: …)
);
CREATE UNIQUE INDEX briefings_once ON briefings(platform, chat, kind, local_date);

CREATE TABLE fleet_days (
    day            TEXT NOT NULL,        -- UTC date, YYYY-MM-DD
    currency       TEXT NOT NULL,
    monthly_cents  INTEGER NOT NULL,     -- the run-rate that day (its last look)
    instances      INTEGER NOT NULL,
    PRIMARY KEY (day, currency)
);
