-- Messages the risk engine sends once per account and trading day (issue 16): the
-- daily loss limit reached (the kill switch). Claimed here before sending, so that two
-- instances or two ticks tell the owner once.
CREATE TABLE risk_notices (
    user_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- The account's trading day, as YYYY-MM-DD in its time zone.
    day       TEXT NOT NULL,
    -- daily_limit
    kind      TEXT NOT NULL,
    sent_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, day, kind)
);
