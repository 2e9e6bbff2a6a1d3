-- Accounts (issue 13): `users` is the account, `user_identities` its platform identities.
-- A role per account (the owner is not stored: it comes from the config and the console),
-- who decided an approval, one-time link codes (hashed), and the lockout of /link.

-- admin | trader | viewer | pending | blocked; existing people are traders.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'trader';
ALTER TABLE users ADD COLUMN block_reason TEXT;
-- Who approved or denied a pending account ("platform:id (name)"), and when.
ALTER TABLE users ADD COLUMN approved_by TEXT;
ALTER TABLE users ADD COLUMN approved_at TIMESTAMPTZ;

CREATE INDEX user_identities_user ON user_identities (user_id);
CREATE INDEX user_identities_name ON user_identities (platform, display_name);
CREATE INDEX users_role ON users (role);

-- A code shown by /link: only its SHA-256 is kept; single use, short-lived.
CREATE TABLE link_codes (
    code_hash   TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX link_codes_expiry ON link_codes (expires_at);

-- Wrong codes in a row from one identity, and until when /link is locked for it.
CREATE TABLE link_attempts (
    platform          TEXT NOT NULL,
    platform_user_id  TEXT NOT NULL,
    failures          INTEGER NOT NULL,
    locked_until      TIMESTAMPTZ,
    updated_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (platform, platform_user_id)
);

-- The Approve / Deny message each admin got about a pending account: edited once decided.
CREATE TABLE approval_messages (
    user_id           BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    platform          TEXT NOT NULL,
    platform_chat_id  TEXT NOT NULL,
    message_id        TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, platform, platform_chat_id)
);
