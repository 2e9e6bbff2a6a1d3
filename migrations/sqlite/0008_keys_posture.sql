-- Key age posture: the weekly reminder to the owner of a key older than
-- vault.max_age_days. One row per (account, ISO week) claimed before sending, so that
-- however many instances run, an owner is reminded at most once a week.

CREATE TABLE key_reminders (
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- ISO week, e.g. 2026-W48.
    week     TEXT NOT NULL,
    sent_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, week)
);
