-- Environment classes, and the configuration schema a runner reported.

ALTER TABLE runners ADD COLUMN configuration_schema TEXT; -- JSON of runner_core::schema::RunnerConfigurationSchema, NULL until reported

CREATE TABLE environment_classes (
    id            TEXT    PRIMARY KEY NOT NULL,     -- UUIDv7
    runner_id     TEXT    NOT NULL REFERENCES runners (id) ON DELETE CASCADE,
    display_name  TEXT    NOT NULL,
    description   TEXT    NOT NULL,
    configuration TEXT    NOT NULL,                 -- JSON array of {key, value}; immutable
    enabled       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    revision      BIGINT NOT NULL
);

CREATE INDEX environment_classes_runner ON environment_classes (runner_id, id);
