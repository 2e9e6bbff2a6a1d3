-- Chainsignal schema, SQLite flavour. Timestamps are UTC, stored as sqlx encodes them.

CREATE TABLE users (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  TEXT NOT NULL,
    locale      TEXT
);

CREATE TABLE user_identities (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id           INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    platform          TEXT NOT NULL,
    platform_user_id  TEXT NOT NULL,
    display_name      TEXT,
    created_at        TEXT NOT NULL,
    last_seen_at      TEXT NOT NULL,
    UNIQUE (platform, platform_user_id)
);

CREATE TABLE chats (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    platform          TEXT NOT NULL,
    platform_chat_id  TEXT NOT NULL,
    locale            TEXT NOT NULL,
    active            BOOLEAN NOT NULL DEFAULT TRUE,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    UNIQUE (platform, platform_chat_id)
);

CREATE TABLE reports (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    generated_at      TEXT NOT NULL,
    source            TEXT NOT NULL,
    origin            TEXT NOT NULL,
    platform_chat_id  TEXT,
    user_id           INTEGER REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX reports_generated_at ON reports (generated_at);

CREATE TABLE report_rows (
    report_id       INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    symbol          TEXT NOT NULL,
    close           REAL NOT NULL,
    change_24h_pct  REAL NOT NULL,
    change_3d_pct   REAL NOT NULL,
    change_7d_pct   REAL NOT NULL,
    atr_3d_pct      REAL NOT NULL,
    atr_7d_pct      REAL NOT NULL,
    PRIMARY KEY (report_id, position)
);

CREATE TABLE report_errors (
    report_id   INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    symbol      TEXT NOT NULL,
    error_code  TEXT NOT NULL,
    PRIMARY KEY (report_id, position)
);

CREATE TABLE audit_log (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    at                TEXT NOT NULL,
    platform          TEXT NOT NULL,
    platform_user_id  TEXT NOT NULL,
    platform_chat_id  TEXT NOT NULL,
    command           TEXT NOT NULL,
    args              TEXT NOT NULL,
    outcome           TEXT NOT NULL,
    detail            TEXT,
    duration_ms       INTEGER NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
