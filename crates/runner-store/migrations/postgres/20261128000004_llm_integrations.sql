-- LLM integrations of runners. The body (models, endpoint, sealed API key, headers) is JSON of
-- runner_core::model::LlmIntegrationBody; secrets in it are sealed to the runner's public key.
CREATE TABLE llm_integrations (
    id         TEXT    PRIMARY KEY NOT NULL,
    runner_id  TEXT    NOT NULL REFERENCES runners (id) ON DELETE CASCADE,
    body       TEXT    NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    revision   BIGINT NOT NULL
);

CREATE INDEX llm_integrations_runner ON llm_integrations (runner_id, id);
