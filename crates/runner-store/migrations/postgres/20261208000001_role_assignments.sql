-- Role assignments (issue 17): the one record of which group has which role on which resource.
-- A runner policy (RunnerService) is an assignment of runner_admin or runner_user on the runner,
-- one per (runner, group); the organization-level roles of groups (org_runners_admin, ...) are
-- assignments on the organization. `runner_id` repeats `resource_id` for assignments on a runner,
-- so that they go with it. The rows of runner_policies and groups.runners_admin move here, and
-- groups gain the fields the API has (description, updated_at, direct_share).
CREATE TABLE role_assignments (
    id            TEXT    PRIMARY KEY NOT NULL,
    org_id        TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    group_id      TEXT    NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    resource_type TEXT    NOT NULL,                 -- 'runner' or 'organization'
    resource_id   TEXT    NOT NULL,
    runner_id     TEXT    REFERENCES runners (id) ON DELETE CASCADE,
    role          TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    UNIQUE (group_id, resource_type, resource_id, role)
);

CREATE UNIQUE INDEX role_assignments_runner_group ON role_assignments (runner_id, group_id) WHERE runner_id IS NOT NULL;
CREATE INDEX role_assignments_org ON role_assignments (org_id, id);
CREATE INDEX role_assignments_resource ON role_assignments (resource_id, group_id);
CREATE INDEX role_assignments_group ON role_assignments (group_id);

INSERT INTO role_assignments (id, org_id, group_id, resource_type, resource_id, runner_id, role, created_at)
SELECT gen_random_uuid()::TEXT, g.org_id, p.group_id, 'runner', p.runner_id, p.runner_id,
       CASE p.role WHEN 'admin' THEN 'runner_admin' ELSE 'runner_user' END, g.created_at
FROM runner_policies p JOIN groups g ON g.id = p.group_id;

INSERT INTO role_assignments (id, org_id, group_id, resource_type, resource_id, runner_id, role, created_at)
SELECT gen_random_uuid()::TEXT, g.org_id, g.id, 'organization', g.org_id, NULL, 'org_runners_admin', g.created_at
FROM groups g WHERE g.runners_admin = 1;

DROP TABLE runner_policies;
ALTER TABLE groups DROP COLUMN runners_admin;
ALTER TABLE groups ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE groups ADD COLUMN direct_share BIGINT NOT NULL DEFAULT 0;
ALTER TABLE groups ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
UPDATE groups SET updated_at = created_at;
UPDATE groups SET description = 'Every member of the organization' WHERE system = 1 AND name = 'org-members';
