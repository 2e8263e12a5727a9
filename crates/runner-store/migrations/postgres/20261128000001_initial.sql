-- Organizations and who is in them; runners, their policies and the tokens minted for them.
-- Timestamps are microseconds since the epoch, UTC. Ids are UUID strings.
-- The PostgreSQL twin of migrations/sqlite (same file names, same tables and columns): flags
-- are BIGINT 0/1 and blobs BYTEA, so both backends share one row mapping and one set of SQL.

CREATE TABLE organizations (
    id         TEXT    PRIMARY KEY NOT NULL,
    name       TEXT    NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- Users and service accounts.
CREATE TABLE members (
    id         TEXT    PRIMARY KEY NOT NULL,
    org_id     TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    principal  TEXT    NOT NULL,                    -- 'user' or 'service_account'
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL,                    -- 'admin' or 'member'
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, principal, name)
);

CREATE TABLE groups (
    id            TEXT    PRIMARY KEY NOT NULL,
    org_id        TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    system        BIGINT NOT NULL,                 -- 1 for org-members, which holds every member implicitly
    runners_admin BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE group_members (
    group_id  TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, member_id)
);

CREATE INDEX group_members_member ON group_members (member_id);

-- Personal access tokens: only the SHA-256 of the token is stored.
CREATE TABLE access_tokens (
    id          TEXT    PRIMARY KEY NOT NULL,
    hash        BYTEA   NOT NULL UNIQUE,
    org_id      TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    member_id   TEXT    NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    description TEXT    NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    revoked_at  BIGINT
);

CREATE TABLE runners (
    id                TEXT    PRIMARY KEY NOT NULL, -- UUIDv7, so id order is creation order
    org_id            TEXT    NOT NULL REFERENCES organizations (id),
    name              TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    provider          TEXT,
    runner_manager_id TEXT,
    creator_id        TEXT,
    creator_principal TEXT,
    phase             TEXT    NOT NULL,             -- copy of status.phase, for filters
    spec              TEXT    NOT NULL,             -- JSON of runner_core::model::RunnerSpec
    status            TEXT    NOT NULL,             -- JSON of runner_core::model::RunnerStatus
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    revision          BIGINT NOT NULL              -- optimistic concurrency
);

CREATE INDEX runners_org ON runners (org_id, id);
CREATE INDEX runners_creator ON runners (creator_id, id);

CREATE TABLE runner_policies (
    runner_id TEXT NOT NULL REFERENCES runners (id) ON DELETE CASCADE,
    group_id  TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    role      TEXT NOT NULL,
    PRIMARY KEY (runner_id, group_id)
);

CREATE INDEX runner_policies_group ON runner_policies (group_id);

CREATE TABLE runner_tokens (
    hash       BYTEA   PRIMARY KEY NOT NULL,        -- SHA-256 of the token; the token itself is never stored
    runner_id  TEXT    NOT NULL REFERENCES runners (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

CREATE INDEX runner_tokens_runner ON runner_tokens (runner_id);
