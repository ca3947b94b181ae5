-- What a chat surface must remember across restarts: Telegram's next update offset, so
-- updates handled before a crash are not handled again when Telegram delivers them anew.
CREATE TABLE surface_state (
    key           TEXT PRIMARY KEY,
    value         TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
