-- Invites of organizations (issue 23): the link an admin shares, whose id is its secret. An
-- organization has at most one current invite (org_id is unique): CreateOrganizationInvite
-- replaces it, and the old id is no longer found. Invites go with their organization.
CREATE TABLE organization_invites (
    id                TEXT    PRIMARY KEY NOT NULL,
    org_id            TEXT    NOT NULL UNIQUE REFERENCES organizations (id) ON DELETE CASCADE,
    creator_id        TEXT    NOT NULL,
    creator_principal TEXT    NOT NULL,
    created_at        INTEGER NOT NULL
) STRICT;
