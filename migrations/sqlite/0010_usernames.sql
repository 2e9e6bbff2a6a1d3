-- The platform username (Telegram `@username`, without the @): `/admin` matches
-- `@name` on it (case-insensitive) before the display name, and `/admin users` shows it.
ALTER TABLE user_identities ADD COLUMN username TEXT;
