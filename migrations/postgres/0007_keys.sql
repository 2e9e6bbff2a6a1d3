-- /keys: exchange API keys, sealed by the vault (core/src/vault.rs). PostgreSQL flavour. Nothing here is
-- in clear: the API key only as its mask (`abcd…wxyz`), both values as XChaCha20-Poly1305
-- ciphertexts (base64) bound to (account, exchange, label, field, key_version).

CREATE TABLE exchange_keys (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The account (users.id).
    user_id           BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    exchange          TEXT NOT NULL,
    label             TEXT NOT NULL,
    api_key_mask      TEXT NOT NULL,
    api_key_sealed    TEXT NOT NULL,
    api_key_nonce     TEXT NOT NULL,
    secret_sealed     TEXT NOT NULL,
    secret_nonce      TEXT NOT NULL,
    -- The vault key version both values are sealed with.
    key_version       INTEGER NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    last_used_at      TIMESTAMPTZ,
    UNIQUE (user_id, label)
);
