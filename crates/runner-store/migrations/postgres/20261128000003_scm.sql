-- SCM integrations of runners, and the per-user SCM credentials (host authentication tokens).

CREATE TABLE scm_integrations (
    id                            TEXT    PRIMARY KEY NOT NULL,
    runner_id                     TEXT    NOT NULL REFERENCES runners (id) ON DELETE CASCADE,
    scm_id                        TEXT    NOT NULL,
    host                          TEXT    NOT NULL,
    oauth_client_id               TEXT,             -- NULL when OAuth is not configured
    oauth_encrypted_client_secret BYTEA,             -- sealed to the runner's public key
    oauth_issuer_url              TEXT,
    pat                           BIGINT NOT NULL,
    virtual_directory             TEXT,
    created_at                    BIGINT NOT NULL,
    updated_at                    BIGINT NOT NULL,
    revision                      BIGINT NOT NULL,
    UNIQUE (runner_id, host)
);

CREATE TABLE host_authentication_tokens (
    id                       TEXT    PRIMARY KEY NOT NULL,
    runner_id                TEXT    NOT NULL REFERENCES runners (id) ON DELETE CASCADE,
    host                     TEXT    NOT NULL,
    subject_id               TEXT    NOT NULL,
    subject_principal        TEXT    NOT NULL,
    source                   TEXT    NOT NULL,      -- 'oauth' or 'pat'
    token_ciphertext         BYTEA   NOT NULL,      -- AEAD under the server key, bound to the id
    refresh_token_ciphertext BYTEA,
    expires_at               BIGINT,
    integration_id           TEXT,
    scopes                   TEXT    NOT NULL,      -- JSON array of strings
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL,
    revision                 BIGINT NOT NULL,
    UNIQUE (runner_id, subject_id, host)
);
