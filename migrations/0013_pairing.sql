-- Pairing approvals: end users asking to talk to an instance's bot, as the pairing poll
-- found them, and where each request was posted.

CREATE TABLE pairing_requests (
    id              INTEGER PRIMARY KEY,
    instance        TEXT NOT NULL,
    channel         TEXT NOT NULL,
    request_id      TEXT NOT NULL,           -- OpenClaw's id for the request
    account         TEXT NOT NULL,           -- the channel account (OpenClaw's accountId)
    sender_id       TEXT,
    sender_name     TEXT,                    -- name and @username, as the channel told it
    created_at      TEXT,
    expires_at      TEXT,
    seen_at         TEXT NOT NULL,
    state           TEXT NOT NULL,           -- pending | approved | rejected | expired | gone
    decided_by      TEXT,
    decided_at      TEXT
);
CREATE UNIQUE INDEX pairing_requests_key ON pairing_requests(instance, channel, request_id);

CREATE TABLE pairing_messages (
    request         INTEGER NOT NULL REFERENCES pairing_requests(id),
    platform        TEXT NOT NULL,
    chat            TEXT NOT NULL,
    message         TEXT NOT NULL
);
CREATE INDEX pairing_messages_request ON pairing_messages(request);
