-- Runners and the tokens minted for them.
CREATE TABLE runners (
    id                TEXT    PRIMARY KEY NOT NULL, -- UUIDv7, so id order is creation order
    name              TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    provider          TEXT,
    runner_manager_id TEXT,
    creator_id        TEXT,
    creator_principal TEXT,
    phase             TEXT    NOT NULL,             -- copy of status.phase, for filters
    spec              TEXT    NOT NULL,             -- JSON of runner_core::model::RunnerSpec
    status            TEXT    NOT NULL,             -- JSON of runner_core::model::RunnerStatus
    created_at        INTEGER NOT NULL,             -- microseconds since the epoch, UTC
    updated_at        INTEGER NOT NULL,
    revision          INTEGER NOT NULL              -- optimistic concurrency
) STRICT;

CREATE INDEX runners_creator ON runners (creator_id, id);

CREATE TABLE runner_tokens (
    hash       BLOB    PRIMARY KEY NOT NULL,        -- SHA-256 of the token; the token itself is never stored
    runner_id  TEXT    NOT NULL REFERENCES runners (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;

CREATE INDEX runner_tokens_runner ON runner_tokens (runner_id);
