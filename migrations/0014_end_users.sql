-- End users become real: each sweep counts an instance's approved senders from OpenClaw's
-- own state, and learns the sender OpenClaw made the bot's command owner.
ALTER TABLE instances ADD COLUMN users_counted_at TEXT;  -- NULL: never counted (end_users is the old guess)
ALTER TABLE instances ADD COLUMN users_unknown TEXT;     -- why the last look could not count
ALTER TABLE instances ADD COLUMN owner TEXT;             -- channel:id, e.g. telegram:4242
ALTER TABLE instances ADD COLUMN owner_from TEXT;        -- deploy | pairing
ALTER TABLE readings ADD COLUMN end_users INTEGER;
