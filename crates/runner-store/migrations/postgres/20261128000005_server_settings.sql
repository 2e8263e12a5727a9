-- Facts about the deployment that every replica must agree on. `key_fingerprint` is an HMAC of
-- a fixed label under the server key (never the key): a replica started with another key is
-- refused instead of writing what the others cannot read.
CREATE TABLE server_settings (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
