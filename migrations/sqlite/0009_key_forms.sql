-- /keys add on Telegram: one-time links to the bot's HTTPS form (/keys/form/TOKEN).
-- The token itself is never stored: only its SHA-256 (hex). A row is good once
-- (used_at), until expires_at, for the account and exchange it was made for.

CREATE TABLE key_forms (
    token_hash        TEXT PRIMARY KEY,
    -- The form's CSRF value (random, not a secret on its own: useless without the token).
    csrf              TEXT NOT NULL,
    -- The account (users.id) the key goes to, and the identity and chat that asked.
    user_id           INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    platform          TEXT NOT NULL,
    platform_user_id  TEXT NOT NULL,
    platform_chat_id  TEXT NOT NULL,
    exchange          TEXT NOT NULL,
    label             TEXT,
    locale            TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    used_at           TEXT
);

CREATE INDEX key_forms_expires ON key_forms (expires_at);
