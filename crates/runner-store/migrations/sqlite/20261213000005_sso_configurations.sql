-- SSO configurations of organizations (issue 23): OpenID Connect providers their people sign in
-- through. The client secret is AEAD ciphertext under the server key, bound to the row's id;
-- details is JSON of runner_core::identity::SsoDetails (display name, additional scopes, claims).
CREATE TABLE sso_configurations (
    id                       TEXT    PRIMARY KEY NOT NULL,
    org_id                   TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    client_id                TEXT    NOT NULL,
    client_secret_ciphertext BLOB    NOT NULL,
    issuer_url               TEXT    NOT NULL,
    active                   INTEGER NOT NULL,
    details                  TEXT    NOT NULL,
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL,
    revision                 INTEGER NOT NULL
) STRICT;

CREATE INDEX sso_configurations_org ON sso_configurations (org_id, id);

-- The email domains of each configuration: a domain belongs to one configuration on the whole
-- server (sign-in picks the configuration by the domain of the address typed in).
CREATE TABLE sso_email_domains (
    domain           TEXT    PRIMARY KEY NOT NULL,
    configuration_id TEXT    NOT NULL REFERENCES sso_configurations (id) ON DELETE CASCADE,
    position         INTEGER NOT NULL
) STRICT;

CREATE INDEX sso_email_domains_configuration ON sso_email_domains (configuration_id, position);
