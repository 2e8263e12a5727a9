-- The audit log (issue 18): who did what to which resource, and when. An entry of a write is
-- inserted in the write's transaction; entries of secret values read and of authorization
-- failures alone. Kept for --audit-retention-days (pruned in the background), and not
-- deleted with what they name: an organization's entries outlive its resources.
CREATE TABLE audit_log_entries (
    id              TEXT    PRIMARY KEY NOT NULL,
    org_id          TEXT    NOT NULL,
    actor_id        TEXT,
    actor_principal TEXT,
    subject_id      TEXT,
    subject_type    TEXT,
    action          TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    created_at      INTEGER  NOT NULL
) STRICT;
-- ListAuditLogs reads one organization's entries by id (UUIDv7: creation order); retention
-- deletes by time.
CREATE INDEX audit_log_entries_org ON audit_log_entries (org_id, id);
CREATE INDEX audit_log_entries_created ON audit_log_entries (created_at);
