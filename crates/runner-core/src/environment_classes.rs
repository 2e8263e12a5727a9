//! Environment classes and the runner configuration schema they are checked against.

use std::sync::Arc;

use uuid::Uuid;

use crate::authz::{RunnerAccess, Visibility};
use crate::error::{CoreError, FieldViolation, Resource, Result};
use crate::events::{EventResource, Operation};
use crate::identity::Caller;
use crate::model::*;
use crate::page::PageTokens;
use crate::runners::{Page, Runners};
use crate::schema::{self, RunnerConfigurationSchema};
use crate::store::{Store, WriteOutcome};
use crate::time::{Deadline, Timestamp};
use crate::turns::Turns;
use crate::validate::{self, Violations};

const LIST_KIND: &str = "environment-classes";
/// The JSON name of a class's id in requests.
const ID_FIELD: &str = "environmentClassId";
pub const DISPLAY_NAME: (usize, usize) = (3, 127);
pub const DESCRIPTION: (usize, usize) = (3, 200);
/// Most configuration entries one class may carry.
pub const MAX_CONFIGURATION_ENTRIES: usize = 100;

#[derive(Debug, Clone, Default)]
pub struct CreateClassInput {
    pub runner_id: String,
    pub display_name: String,
    pub description: String,
    pub configuration: Vec<FieldValue>,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateClassInput {
    pub id: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct ListClassesInput {
    pub page_size: i32,
    pub token: String,
    pub runner_ids: Vec<String>,
    pub enabled: Option<bool>,
    pub can_create_environments: Option<bool>,
    pub runner_kinds: Vec<i32>,
    pub runner_providers: Vec<i32>,
}

/// What ValidateRunnerConfiguration reports for an environment class: problems as data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassValidation {
    pub display_name_error: Option<String>,
    pub description_error: Option<String>,
    pub configuration_errors: Vec<(String, String)>,
}

impl ClassValidation {
    pub fn valid(&self) -> bool {
        self.display_name_error.is_none() && self.description_error.is_none() && self.configuration_errors.is_empty()
    }
}

#[derive(Clone)]
pub struct EnvironmentClasses {
    store: Arc<dyn Store>,
    runners: Runners,
    page_tokens: PageTokens,
    /// Base URL the server is reached at, for the OAuth callback URLs of default schemas.
    public_base_url: String,
    turns: Turns,
}

impl EnvironmentClasses {
    pub fn new(store: Arc<dyn Store>, runners: Runners, page_tokens: PageTokens, public_base_url: String) -> Self {
        let turns = Turns::new(store.clone(), Resource::EnvironmentClass);
        Self { store, runners, page_tokens, public_base_url, turns }
    }

    /// The schema a runner reported, or the built-in default for its provider until it does.
    pub async fn schema_of(&self, runner: &Runner) -> Result<RunnerConfigurationSchema> {
        Ok(match self.store.get_runner_schema(runner.id).await? {
            Some(reported) => reported,
            None => schema::default_schema(runner.provider, runner.id, &self.public_base_url),
        })
    }

    /// GetRunnerConfigurationSchema: for anyone who can use the runner.
    pub async fn schema(&self, caller: &Caller, runner_id: &str) -> Result<RunnerConfigurationSchema> {
        let id = validate::uuid("runnerId", runner_id)?;
        let runner = self.runners.load_for(caller, id, RunnerAccess::User).await?;
        self.schema_of(&runner).await
    }

    /// Checks a class's fields against the runner's schema; problems are returned, not raised.
    pub async fn check(
        &self,
        runner: &Runner,
        display_name: &str,
        description: &str,
        configuration: &[FieldValue],
    ) -> Result<ClassValidation> {
        let schema = self.schema_of(runner).await?;
        let mut configuration_errors = Vec::new();
        if configuration.len() > MAX_CONFIGURATION_ENTRIES {
            configuration_errors.push((String::new(), format!("at most {MAX_CONFIGURATION_ENTRIES} entries")));
        } else {
            configuration_errors = schema::validate_environment_class(&schema, configuration);
        }
        Ok(ClassValidation {
            display_name_error: validate::name("displayName", display_name, DISPLAY_NAME.0, DISPLAY_NAME.1)
                .err()
                .map(|v| v.description),
            description_error: validate::name("description", description, DESCRIPTION.0, DESCRIPTION.1)
                .err()
                .map(|v| v.description),
            configuration_errors,
        })
    }

    /// A runner that can hold environment classes.
    fn usable(runner: &Runner) -> Result<()> {
        if runner.kind == RunnerKind::LocalConfiguration {
            return Err(CoreError::FailedPrecondition("the local-configuration runner cannot run environments".into()));
        }
        if runner.status.phase == RunnerPhase::Deleting {
            return Err(CoreError::FailedPrecondition("runner is being deleted".into()));
        }
        Ok(())
    }

    pub async fn create(&self, caller: &Caller, input: CreateClassInput) -> Result<Uuid> {
        let runner_id = validate::uuid("runnerId", &input.runner_id)?;
        let runner = self.runners.load_for(caller, runner_id, RunnerAccess::Admin).await?;
        Self::usable(&runner)?;
        let checked = self.check(&runner, &input.display_name, &input.description, &input.configuration).await?;
        if !checked.valid() {
            let mut v = Violations::default();
            if let Some(e) = checked.display_name_error {
                v.push(FieldViolation::new("displayName", e));
            }
            if let Some(e) = checked.description_error {
                v.push(FieldViolation::new("description", e));
            }
            for (key, e) in checked.configuration_errors {
                v.push(FieldViolation::new(
                    if key.is_empty() { "configuration".to_owned() } else { format!("configuration.{key}") },
                    e,
                ));
            }
            v.finish()?;
        }
        let now = Timestamp::now();
        let class = EnvironmentClass {
            id: Uuid::now_v7(),
            runner_id,
            display_name: input.display_name,
            description: input.description,
            configuration: input.configuration,
            enabled: true,
            created_at: now,
            updated_at: now,
            revision: 1,
        };
        self.store.insert_environment_class(&class).await?;
        self.runners.published_part(&runner, EventResource::EnvironmentClass, class.id, Operation::Create);
        Ok(class.id)
    }

    /// The class and its runner, if the caller has at least `needed` access to the runner.
    async fn load_for(&self, caller: &Caller, id: &str, needed: RunnerAccess) -> Result<(EnvironmentClass, Runner)> {
        let id = validate::uuid(ID_FIELD, id)?;
        let missing = || CoreError::not_found(Resource::EnvironmentClass, id);
        let class = self.store.get_environment_class(id).await?.ok_or_else(missing)?;
        let runner = self.runners.parent_of(caller, class.runner_id, needed, missing()).await?;
        Ok((class, runner))
    }

    pub async fn get(&self, caller: &Caller, id: &str) -> Result<EnvironmentClass> {
        Ok(self.load_for(caller, id, RunnerAccess::User).await?.0)
    }

    pub async fn update(&self, caller: &Caller, deadline: Deadline, input: UpdateClassInput) -> Result<()> {
        let mut v = Violations::default();
        if let Some(n) = &input.display_name {
            v.check(validate::name("displayName", n, DISPLAY_NAME.0, DISPLAY_NAME.1));
        }
        if let Some(d) = &input.description {
            v.check(validate::name("description", d, DESCRIPTION.0, DESCRIPTION.1));
        }
        v.finish()?;
        let mut turn = self.turns.take(validate::uuid(ID_FIELD, &input.id)?, deadline).await?;
        loop {
            let (mut class, runner) = self.load_for(caller, &input.id, RunnerAccess::Admin).await?;
            if let Some(n) = &input.display_name {
                class.display_name = n.clone();
            }
            if let Some(d) = &input.description {
                class.description = d.clone();
            }
            if let Some(e) = input.enabled {
                class.enabled = e;
            }
            class.updated_at = Timestamp::now().max(class.updated_at);
            class.revision += 1;
            if self.store.update_environment_class(&class).await? == WriteOutcome::Written {
                self.runners.published_part(&runner, EventResource::EnvironmentClass, class.id, Operation::Update);
                return Ok(());
            }
            turn.lost_race().await?;
        }
    }

    pub async fn list(&self, caller: &Caller, input: ListClassesInput) -> Result<Page<EnvironmentClass>> {
        let mut v = Violations::default();
        let size = v.check(validate::page_size("pagination.pageSize", input.page_size));
        let runner_ids =
            v.check(validate::filter_list("filter.runnerIds", &input.runner_ids, |f, s| validate::uuid(f, s)));
        let kinds = v.check(validate::filter_list("filter.runnerKinds", &input.runner_kinds, |f, n| {
            validate::enum_value::<RunnerKind>(f, *n)
        }));
        let providers = v.check(validate::filter_list("filter.runnerProviders", &input.runner_providers, |f, n| {
            validate::enum_value::<RunnerProvider>(f, *n)
        }));
        let request_filter = EnvironmentClassFilter {
            runner_ids: runner_ids.unwrap_or_default(),
            enabled: input.enabled,
            can_create_environments: input.can_create_environments,
            runner_kinds: kinds.unwrap_or_default(),
            runner_providers: providers.unwrap_or_default(),
        };
        let cursor = v.check(self.page_tokens.cursor("pagination.token", LIST_KIND, &input.token, request_filter));
        v.finish()?;
        let (size, cursor) = (size.expect("checked"), cursor.expect("checked"));
        let after = cursor.after_id()?;
        let visibility = Visibility::of(caller);
        let items = self.store.list_environment_classes(&visibility, &cursor.filter, after, size + 1).await?;
        Ok(self.page_tokens.page(LIST_KIND, &cursor.filter, items, size, |item| item.id))
    }

    /// ValidateRunnerConfiguration for an environment class: the caller must administer the
    /// runner; the result lists the problems.
    pub async fn validate(
        &self,
        caller: &Caller,
        runner_id: &str,
        class: &CreateClassInput,
    ) -> Result<ClassValidation> {
        let id = validate::uuid("runnerId", runner_id)?;
        let runner = self.runners.load_for(caller, id, RunnerAccess::Admin).await?;
        self.check(&runner, &class.display_name, &class.description, &class.configuration).await
    }
}
