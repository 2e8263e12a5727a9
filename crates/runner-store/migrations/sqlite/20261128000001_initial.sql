-- Organizations and who is in them; runners, their policies and the tokens minted for them.
-- Timestamps are microseconds since the epoch, UTC. Ids are UUID strings.

CREATE TABLE organizations (
    id         TEXT    PRIMARY KEY NOT NULL,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
) STRICT;

-- Users and service accounts.
CREATE TABLE members (
    id         TEXT    PRIMARY KEY NOT NULL,
    org_id     TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    principal  TEXT    NOT NULL,                    -- 'user' or 'service_account'
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL,                    -- 'admin' or 'member'
    created_at INTEGER NOT NULL,
    UNIQUE (org_id, principal, name)
) STRICT;

CREATE TABLE groups (
    id            TEXT    PRIMARY KEY NOT NULL,
    org_id        TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    system        INTEGER NOT NULL,                 -- 1 for org-members, which holds every member implicitly
    runners_admin INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (org_id, name)
) STRICT;

CREATE TABLE group_members (
    group_id  TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, member_id)
) STRICT;

CREATE INDEX group_members_member ON group_members (member_id);

-- Personal access tokens: only the SHA-256 of the token is stored.
CREATE TABLE access_tokens (
    id          TEXT    PRIMARY KEY NOT NULL,
    hash        BLOB    NOT NULL UNIQUE,
    org_id      TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    member_id   TEXT    NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    description TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    revoked_at  INTEGER
) STRICT;

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
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    revision          INTEGER NOT NULL              -- optimistic concurrency
) STRICT;

CREATE INDEX runners_org ON runners (org_id, id);
CREATE INDEX runners_creator ON runners (creator_id, id);

CREATE TABLE runner_policies (
    runner_id TEXT NOT NULL REFERENCES runners (id) ON DELETE CASCADE,
    group_id  TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    role      TEXT NOT NULL,
    PRIMARY KEY (runner_id, group_id)
) STRICT;

CREATE INDEX runner_policies_group ON runner_policies (group_id);

CREATE TABLE runner_tokens (
    hash       BLOB    PRIMARY KEY NOT NULL,        -- SHA-256 of the token; the token itself is never stored
    runner_id  TEXT    NOT NULL REFERENCES runners (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;

CREATE INDEX runner_tokens_runner ON runner_tokens (runner_id);
