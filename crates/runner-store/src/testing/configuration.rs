//! `ConfigurationSchemaRepo` and `EnvironmentClassRepo`: the schema a runner reported, and its
//! environment classes.

use std::sync::Arc;

use runner_core::model::*;
use runner_core::schema::{EnumValue, FieldKind, RunnerConfigurationSchema, SchemaField};
use runner_core::store::{Store, StoreError, WriteOutcome};
use uuid::Uuid;

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(runner_schema_round_trip: get_runner_schema, set_runner_schema),
        case!(environment_classes_round_trip: insert_environment_class, get_environment_class),
        case!(environment_class_lists_filter_and_page: list_environment_classes),
        case!(environment_class_lists_respect_visibility: list_environment_classes),
        case!(environment_class_updates_are_conditional: update_environment_class),
    ]
}

/// A reported schema with a field of every kind.
fn reported_schema(runner: &Runner) -> RunnerConfigurationSchema {
    let mut schema = runner_core::schema::default_schema(runner.provider, runner.id, "https://api.example");
    schema.version = "reported-7".to_owned();
    let value = |title: &str| EnumValue { title: title.to_owned(), subtitle: "s".to_owned(), detail: "d".to_owned() };
    let field = |id: &str, kind| SchemaField {
        id: id.to_owned(),
        name: id.to_uppercase(),
        description: format!("the {id}"),
        required: id == "size",
        secret: id == "token",
        kind,
    };
    schema.environment_classes = vec![
        field(
            "size",
            FieldKind::Enum {
                default_value: Some(value("small")),
                possible_values: vec![value("small"), value("large")],
            },
        ),
        field("token", FieldKind::String { default: String::new(), pattern: "^[a-z]+$".to_owned() }),
        field("gpu", FieldKind::Bool { default: true }),
        field("disk", FieldKind::Int { default: 50, min: 10, max: 500 }),
        field("note", FieldKind::Display { default: "shown".to_owned() }),
    ];
    schema
}

async fn runner_schema_round_trip(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = add_runner(&store, &org, RunnerProvider::AwsEc2).await;
    let neighbour = add_runner(&store, &org, RunnerProvider::Gcp).await;
    // None until the runner reports one.
    assert_eq!(store.get_runner_schema(r.id).await.unwrap(), None);
    let schema = reported_schema(&r);
    assert!(store.set_runner_schema(r.id, &schema).await.unwrap());
    assert_eq!(store.get_runner_schema(r.id).await.unwrap(), Some(schema.clone()));
    assert_eq!(store.get_runner_schema(neighbour.id).await.unwrap(), None);
    // A new report replaces it, and leaves the runner as it was.
    let empty = RunnerConfigurationSchema { version: "reported-8".to_owned(), ..Default::default() };
    assert!(store.set_runner_schema(r.id, &empty).await.unwrap());
    assert_eq!(store.get_runner_schema(r.id).await.unwrap(), Some(empty));
    assert_eq!(store.get_runner(r.id).await.unwrap(), Some(r));
    // Unknown runners have none, and cannot get one.
    let ghost = Uuid::now_v7();
    assert!(!store.set_runner_schema(ghost, &schema).await.unwrap());
    assert_eq!(store.get_runner_schema(ghost).await.unwrap(), None);
}

async fn environment_classes_round_trip(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let class = sample_class(&r);
    store.insert_environment_class(&class).await.unwrap();
    assert_eq!(store.get_environment_class(class.id).await.unwrap(), Some(class.clone()));
    assert_eq!(store.get_environment_class(Uuid::now_v7()).await.unwrap(), None);
    // Disabled, without configuration: as it was written.
    let bare = EnvironmentClass { id: Uuid::now_v7(), configuration: vec![], enabled: false, ..class.clone() };
    store.insert_environment_class(&bare).await.unwrap();
    assert_eq!(store.get_environment_class(bare.id).await.unwrap(), Some(bare));
    // Ids are unique; a class needs its runner.
    let renamed = EnvironmentClass { display_name: "Other".to_owned(), ..class.clone() };
    assert!(matches!(store.insert_environment_class(&renamed).await, Err(StoreError::AlreadyExists)));
    assert_eq!(store.get_environment_class(class.id).await.unwrap(), Some(class.clone()));
    let orphan = EnvironmentClass { id: Uuid::now_v7(), runner_id: Uuid::now_v7(), ..class };
    assert!(store.insert_environment_class(&orphan).await.is_err());
    assert_eq!(store.get_environment_class(orphan.id).await.unwrap(), None);
}

async fn environment_class_lists_filter_and_page(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let aws = add_runner(&store, &org, RunnerProvider::AwsEc2).await;
    let gcp = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let mut deleting = add_runner(&store, &org, RunnerProvider::Gcp).await;
    // Two classes on each runner, the second disabled.
    let mut classes = Vec::new();
    for r in [&aws, &gcp, &deleting] {
        for enabled in [true, false] {
            let c = EnvironmentClass { enabled, ..sample_class(r) };
            store.insert_environment_class(&c).await.unwrap();
            classes.push(c);
        }
    }
    deleting.status.phase = RunnerPhase::Deleting;
    deleting.revision += 1;
    assert_eq!(store.update_runner(&deleting).await.unwrap(), WriteOutcome::Written);
    let all: Vec<Uuid> = classes.iter().map(|c| c.id).collect();
    let pick = |keep: &dyn Fn(&EnvironmentClass) -> bool| -> Vec<Uuid> {
        classes.iter().filter(|c| keep(c)).map(|c| c.id).collect()
    };
    let list = |filter: EnvironmentClassFilter, after, limit| {
        let (store, visibility) = (store.clone(), everything(&org));
        async move { ids(store.list_environment_classes(&visibility, &filter, after, limit).await.unwrap(), |c| c.id) }
    };
    let any = EnvironmentClassFilter::default();
    assert_eq!(list(any.clone(), None, 100).await, all, "ordered by id");
    assert_eq!(store.list_environment_classes(&everything(&org), &any, None, 1).await.unwrap(), classes[..1]);
    for limit in [1, 4, 6] {
        assert_eq!(walk(limit, |after, limit| list(any.clone(), after, limit)).await, all);
    }

    let on = |runners: Vec<Uuid>| EnvironmentClassFilter { runner_ids: runners, ..Default::default() };
    assert_eq!(list(on(vec![gcp.id]), None, 100).await, pick(&|c| c.runner_id == gcp.id));
    assert_eq!(
        list(on(vec![aws.id, deleting.id]), None, 100).await,
        pick(&|c| c.runner_id == aws.id || c.runner_id == deleting.id)
    );
    let enabled = |e| EnvironmentClassFilter { enabled: Some(e), ..Default::default() };
    assert_eq!(list(enabled(true), None, 100).await, pick(&|c| c.enabled));
    assert_eq!(list(enabled(false), None, 100).await, pick(&|c| !c.enabled));
    // Environments can be created with enabled classes of runners not being deleted.
    let can = |c| EnvironmentClassFilter { can_create_environments: Some(c), ..Default::default() };
    assert_eq!(list(can(true), None, 100).await, pick(&|c| c.enabled && c.runner_id != deleting.id));
    assert_eq!(list(can(false), None, 100).await, pick(&|c| !c.enabled || c.runner_id == deleting.id));
    let providers = EnvironmentClassFilter { runner_providers: vec![RunnerProvider::AwsEc2], ..Default::default() };
    assert_eq!(list(providers, None, 100).await, pick(&|c| c.runner_id == aws.id));
    let remote = EnvironmentClassFilter { runner_kinds: vec![RunnerKind::Remote], ..Default::default() };
    assert_eq!(list(remote, None, 100).await, all);
    let local = EnvironmentClassFilter { runner_kinds: vec![RunnerKind::Local], ..Default::default() };
    assert_eq!(list(local, None, 100).await, Vec::<Uuid>::new());
    // Filters combine, and page.
    let combined = EnvironmentClassFilter {
        runner_ids: vec![gcp.id, deleting.id],
        enabled: Some(true),
        runner_providers: vec![RunnerProvider::Gcp],
        ..Default::default()
    };
    let expected = pick(&|c| c.enabled && c.runner_id != aws.id);
    assert_eq!(list(combined.clone(), None, 100).await, expected);
    assert_eq!(walk(1, |after, limit| list(combined.clone(), after, limit)).await, expected);
}

async fn environment_class_lists_respect_visibility(store: Arc<dyn Store>) {
    let views = Views::new(&store).await;
    for r in views.runners() {
        store.insert_environment_class(&sample_class(r)).await.unwrap();
    }
    views
        .check(|visibility| {
            let store = store.clone();
            async move {
                let filter = EnvironmentClassFilter::default();
                ids(store.list_environment_classes(&visibility, &filter, None, 10).await.unwrap(), |c| c.runner_id)
            }
        })
        .await;
}

async fn environment_class_updates_are_conditional(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let class = sample_class(&r);
    store.insert_environment_class(&class).await.unwrap();
    let neighbour = sample_class(&r);
    store.insert_environment_class(&neighbour).await.unwrap();
    let a = EnvironmentClass {
        display_name: "Large".to_owned(),
        description: "eight cores".to_owned(),
        enabled: false,
        updated_at: class.updated_at.plus_seconds(1),
        revision: class.revision + 1,
        ..class.clone()
    };
    assert_eq!(store.update_environment_class(&a).await.unwrap(), WriteOutcome::Written);
    assert_eq!(store.get_environment_class(class.id).await.unwrap(), Some(a.clone()));
    // A writer that read the old revision loses.
    let stale = EnvironmentClass { display_name: "lost".to_owned(), revision: class.revision + 1, ..class.clone() };
    assert_eq!(store.update_environment_class(&stale).await.unwrap(), WriteOutcome::Conflict);
    assert_eq!(store.get_environment_class(class.id).await.unwrap(), Some(a.clone()));
    let b = EnvironmentClass { enabled: true, revision: a.revision + 1, ..a };
    assert_eq!(store.update_environment_class(&b).await.unwrap(), WriteOutcome::Written);
    assert_eq!(store.get_environment_class(class.id).await.unwrap(), Some(b));
    // A class that is not there is a conflict.
    let ghost = EnvironmentClass { id: Uuid::now_v7(), revision: 2, ..class };
    assert_eq!(store.update_environment_class(&ghost).await.unwrap(), WriteOutcome::Conflict);
    assert_eq!(store.get_environment_class(ghost.id).await.unwrap(), None);
    assert_eq!(store.get_environment_class(neighbour.id).await.unwrap(), Some(neighbour));
}
