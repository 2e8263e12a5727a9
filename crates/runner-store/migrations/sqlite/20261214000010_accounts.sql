-- Accounts (issue 23): the people behind users. A user (a member with principal 'user') is of
-- one account (members.account_id); a person in two organizations is two users of one account.
-- Accounts are made when someone first signs in through SSO; members made alone are their own
-- account and have no row here, so members.account_id has no foreign key.
CREATE TABLE accounts (
    id         TEXT    PRIMARY KEY NOT NULL,
    email      TEXT    NOT NULL UNIQUE,             -- lower case
    name       TEXT    NOT NULL,
    avatar_url TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- The identities at OpenID providers (the ID token's iss and sub) that sign in as an account.
CREATE TABLE account_identities (
    issuer     TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    account_id TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
) STRICT;

CREATE INDEX account_identities_account ON account_identities (account_id);

-- An account has at most one member in an organization.
CREATE UNIQUE INDEX members_org_account ON members (org_id, account_id);
