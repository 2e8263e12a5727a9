-- Suspended users and service accounts (issue 17): their tokens stop authenticating while the
-- flag is set, and work again when it is cleared.
ALTER TABLE members ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0;
