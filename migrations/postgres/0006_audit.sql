-- Audit v2 (issue 13): who (the account at write time) and which platform event (request
-- id) each row is about; admin broadcasts, fanned out through the scheduler's outbox.

-- The account (users.id) of the identity when the row was written; NULL when unknown.
-- "An account's audit" is read through user_identities (the identities it has now),
-- not through this column, so linking later brings older rows along.
ALTER TABLE audit_log ADD COLUMN account_id BIGINT;
-- The platform event (interaction, update, callback query); NULL for the console.
ALTER TABLE audit_log ADD COLUMN request_id TEXT;
CREATE INDEX audit_log_identity ON audit_log (platform, platform_user_id, id);

-- The application only ever inserts audit rows: changing, deleting or truncating is
-- refused by the database itself.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- `/admin broadcast`: one row per confirmed broadcast. The scheduler fans it out as a
-- run named `broadcast:<id>` (schedule_runs, deliveries): once per target, resumable.
CREATE TABLE broadcasts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT NOT NULL,
    text         TEXT NOT NULL,
    finished_at  TIMESTAMPTZ
);
CREATE INDEX broadcasts_open ON broadcasts (finished_at);
