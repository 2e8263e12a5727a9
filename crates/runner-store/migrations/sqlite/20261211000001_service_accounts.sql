-- What a service account has beside its member record (issue 17, ServiceAccountService): a
-- description, who created it through the API, and until when it is valid (after that its
-- tokens do not authenticate). Service accounts made before have no row: no description, no
-- creator, valid without end. Deleted with the member.
CREATE TABLE service_accounts (
    member_id         TEXT    PRIMARY KEY NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    description       TEXT    NOT NULL,
    creator_id        TEXT,
    creator_principal TEXT,
    valid_until       INTEGER
) STRICT;
