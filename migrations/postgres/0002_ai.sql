-- AI summaries: every call to the model, and the answers kept for reuse.

CREATE TABLE ai_calls (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                 TIMESTAMPTZ NOT NULL,
    platform           TEXT NOT NULL,
    platform_user_id   TEXT NOT NULL,
    model              TEXT NOT NULL,
    prompt_tokens      BIGINT NOT NULL,
    completion_tokens  BIGINT NOT NULL,
    latency_ms         BIGINT NOT NULL,
    outcome            TEXT NOT NULL
);
CREATE INDEX ai_calls_at ON ai_calls (at);
CREATE INDEX ai_calls_user ON ai_calls (platform, platform_user_id, at);

-- One answer per (report numbers, language, model): the same report in the same
-- language is never asked twice.
CREATE TABLE ai_summaries (
    cache_key   TEXT PRIMARY KEY,
    locale      TEXT NOT NULL,
    model       TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    text        TEXT NOT NULL
);
