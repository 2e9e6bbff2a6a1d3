-- Commands v2: buttons that name a pending action, and the events already handled.

-- A button's token names one row: who may press it, what it completes, until when.
-- A single-use action is claimed once (claimed_at set); a reusable one (Refresh) never is.
CREATE TABLE pending_actions (
    token             TEXT PRIMARY KEY,
    platform          TEXT NOT NULL,
    platform_chat_id  TEXT NOT NULL,
    -- The platform user id allowed to press; NULL: anyone in the chat.
    allowed_user      TEXT,
    command           TEXT NOT NULL,
    -- The command's typed arguments in their stored form (JSON, never secrets).
    args              TEXT NOT NULL,
    reusable          BOOLEAN NOT NULL DEFAULT FALSE,
    created_at        TIMESTAMPTZ NOT NULL,
    expires_at        TIMESTAMPTZ NOT NULL,
    claimed_at        TIMESTAMPTZ,
    claimed_by        TEXT
);
CREATE INDEX pending_actions_expiry ON pending_actions (expires_at);

-- One row per platform event (interaction, update, callback query): a retried event
-- finds its row and does nothing twice.
CREATE TABLE handled_requests (
    platform    TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (platform, request_id)
);
CREATE INDEX handled_requests_at ON handled_requests (at);
