-- Scheduler: schedules added by admins, chats subscribed to reports or alerts, the
-- claim of each (schedule, slot), each delivery to each target, and alert cooldowns.

CREATE TABLE schedules (
    name        TEXT PRIMARY KEY,
    cron        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    symbols     TEXT NOT NULL,
    created_by  TEXT,
    created_at  TEXT NOT NULL
);

-- A target: a chat of a platform, or a Discord webhook (platform 'discord-webhook',
-- chat id = a digest of the URL, which is a secret and never stored).
CREATE TABLE subscriptions (
    platform          TEXT NOT NULL,
    platform_chat_id  TEXT NOT NULL,
    kind              TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    failures          INTEGER NOT NULL DEFAULT 0,
    disabled          BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (platform, platform_chat_id, kind)
);

-- Claimed before anything is sent: one row per (schedule, slot), whatever the number
-- of instances. An unfinished run whose lease has expired may be taken over.
CREATE TABLE schedule_runs (
    schedule     TEXT NOT NULL,
    slot         TEXT NOT NULL,
    owner        TEXT NOT NULL,
    lease_until  TEXT NOT NULL,
    status       TEXT NOT NULL,
    PRIMARY KEY (schedule, slot)
);

-- Claimed before each send: a delivery in doubt ('sending' after a crash) is never
-- sent again.
CREATE TABLE deliveries (
    schedule  TEXT NOT NULL,
    slot      TEXT NOT NULL,
    target    TEXT NOT NULL,
    status    TEXT NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (schedule, slot, target)
);

CREATE TABLE alert_marks (
    symbol        TEXT NOT NULL,
    direction     TEXT NOT NULL,
    last_sent_at  TEXT NOT NULL,
    PRIMARY KEY (symbol, direction)
);
