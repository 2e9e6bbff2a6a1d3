-- Audit v2 (issue 13): who (the account at write time) and which platform event (request
-- id) each row is about; admin broadcasts, fanned out through the scheduler's outbox.

-- The account (users.id) of the identity when the row was written; NULL when unknown.
-- "An account's audit" is read through user_identities (the identities it has now),
-- not through this column, so linking later brings older rows along.
ALTER TABLE audit_log ADD COLUMN account_id INTEGER;
-- The platform event (interaction, update, callback query); NULL for the console.
ALTER TABLE audit_log ADD COLUMN request_id TEXT;
CREATE INDEX audit_log_identity ON audit_log (platform, platform_user_id, id);

-- The application only ever inserts audit rows: changing or deleting one is refused.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- `/admin broadcast`: one row per confirmed broadcast. The scheduler fans it out as a
-- run named `broadcast:<id>` (schedule_runs, deliveries): once per target, resumable.
CREATE TABLE broadcasts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    text         TEXT NOT NULL,
    finished_at  TEXT
);
CREATE INDEX broadcasts_open ON broadcasts (finished_at);
