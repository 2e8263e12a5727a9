-- Users, organizations and personal access tokens through the API (issue 17).
-- A member gets the account (the person) it belongs to: a person in two organizations is two
-- users of one account. Existing members are each their own account.
ALTER TABLE members ADD COLUMN account_id TEXT NOT NULL DEFAULT '';
UPDATE members SET account_id = id;
CREATE INDEX members_account ON members (account_id);
-- Organizations can be renamed: when they last changed.
ALTER TABLE organizations ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
UPDATE organizations SET updated_at = created_at;
-- Who created a token, and when it was last used (recorded at most once a minute).
ALTER TABLE access_tokens ADD COLUMN creator_id TEXT;
ALTER TABLE access_tokens ADD COLUMN creator_principal TEXT;
ALTER TABLE access_tokens ADD COLUMN last_used_at BIGINT;
CREATE INDEX access_tokens_member ON access_tokens (member_id, id);
