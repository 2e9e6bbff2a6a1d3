-- Chainsignal schema, PostgreSQL flavour. Timestamps are TIMESTAMPTZ in UTC.

CREATE TABLE users (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at  TIMESTAMPTZ NOT NULL,
    locale      TEXT
);

CREATE TABLE user_identities (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id           BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    platform          TEXT NOT NULL,
    platform_user_id  TEXT NOT NULL,
    display_name      TEXT,
    created_at        TIMESTAMPTZ NOT NULL,
    last_seen_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (platform, platform_user_id)
);

CREATE TABLE chats (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform          TEXT NOT NULL,
    platform_chat_id  TEXT NOT NULL,
    locale            TEXT NOT NULL,
    active            BOOLEAN NOT NULL DEFAULT TRUE,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    UNIQUE (platform, platform_chat_id)
);

CREATE TABLE reports (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    generated_at      TIMESTAMPTZ NOT NULL,
    source            TEXT NOT NULL,
    origin            TEXT NOT NULL,
    platform_chat_id  TEXT,
    user_id           BIGINT REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX reports_generated_at ON reports (generated_at);

CREATE TABLE report_rows (
    report_id       BIGINT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    symbol          TEXT NOT NULL,
    close           DOUBLE PRECISION NOT NULL,
    change_24h_pct  DOUBLE PRECISION NOT NULL,
    change_3d_pct   DOUBLE PRECISION NOT NULL,
    change_7d_pct   DOUBLE PRECISION NOT NULL,
    atr_3d_pct      DOUBLE PRECISION NOT NULL,
    atr_7d_pct      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (report_id, position)
);

CREATE TABLE report_errors (
    report_id   BIGINT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    symbol      TEXT NOT NULL,
    error_code  TEXT NOT NULL,
    PRIMARY KEY (report_id, position)
);

CREATE TABLE audit_log (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                TIMESTAMPTZ NOT NULL,
    platform          TEXT NOT NULL,
    platform_user_id  TEXT NOT NULL,
    platform_chat_id  TEXT NOT NULL,
    command           TEXT NOT NULL,
    args              TEXT NOT NULL,
    outcome           TEXT NOT NULL,
    detail            TEXT,
    duration_ms       BIGINT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
