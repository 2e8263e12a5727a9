-- Memberships get ids (issue 17): GroupService's GroupMembership.id, which DeleteMembership
-- names. Each existing membership gets a random (version 4) UUID; new ones get a version 7 UUID
-- from the server.
ALTER TABLE group_members ADD COLUMN id TEXT;
UPDATE group_members SET id = gen_random_uuid()::TEXT;
ALTER TABLE group_members ALTER COLUMN id SET NOT NULL;
CREATE UNIQUE INDEX group_members_id ON group_members (id);
