-- Memberships get ids (issue 17): GroupService's GroupMembership.id, which DeleteMembership
-- names. Each existing membership gets a random (version 4) UUID, drawn per row; new ones get a
-- version 7 UUID from the server.
ALTER TABLE group_members ADD COLUMN id TEXT NOT NULL DEFAULT '';
UPDATE group_members
SET id = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2)
         || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2)
         || '-' || lower(hex(randomblob(6)));
CREATE UNIQUE INDEX group_members_id ON group_members (id);
