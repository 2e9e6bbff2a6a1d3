-- Private messages to an account's owner about its money (issue 15/16): a position
-- closed by its SL, TP or liquidation, a close that keeps failing, an order whose lost
-- answer was found, the daily loss limit reached. Written before sending, claimed by
-- one instance at a time, marked sent after: a crash or a chat platform that is down
-- delays a notice, never loses it.
CREATE TABLE owner_notices (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- The notice as JSON (numbers as decimal text; never a secret).
    payload         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    -- pending | sent | given_up
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claimed_by      TEXT,
    claim_until     TEXT,
    sent_at         TEXT
);
CREATE INDEX owner_notices_due ON owner_notices (next_attempt_at) WHERE status = 'pending';
