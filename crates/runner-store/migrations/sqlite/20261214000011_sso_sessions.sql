-- SSO sign-ins in progress (issue 23): one row per authorization request sent to a provider,
-- keyed by the SHA-256 of its state (the state itself is never stored), removed when the
-- callback takes it (one use) and refused after expires_at. The PKCE verifier is AEAD
-- ciphertext under the server key, bound to the state's hash.
CREATE TABLE sso_login_states (
    hash                     BLOB    PRIMARY KEY NOT NULL,
    configuration_id         TEXT    NOT NULL REFERENCES sso_configurations (id) ON DELETE CASCADE,
    nonce                    TEXT    NOT NULL,
    pkce_verifier_ciphertext BLOB    NOT NULL,
    invite_id                TEXT,
    return_to                TEXT    NOT NULL,
    created_at               INTEGER NOT NULL,
    expires_at               INTEGER NOT NULL
) STRICT;

CREATE INDEX sso_login_states_expiry ON sso_login_states (expires_at);

-- Console sessions of users signed in through SSO, by the SHA-256 of their token (the
-- runner_session cookie). They go with their member (deletion) and are deleted when it is
-- suspended.
CREATE TABLE console_sessions (
    id         TEXT    PRIMARY KEY NOT NULL,
    hash       BLOB    NOT NULL UNIQUE,
    member_id  TEXT    NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    org_id     TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX console_sessions_member ON console_sessions (member_id);
