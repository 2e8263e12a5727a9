//! Environment classes, the configuration schema and ValidateRunnerConfiguration.

use gitpod_api::gitpod::v1::runner_configuration_schema::field::Type;
use gitpod_api::gitpod::v1::*;
use runner_core::identity::OrgRole;
use serde_json::json;

use crate::runners::create;
use runner_testkit::{Client, Failure, Protocol, TestServer, rcs};

pub(crate) async fn gcp_runner(c: &Client) -> String {
    let req =
        CreateRunnerRequest { name: "gcp runner".into(), provider: RunnerProvider::Gcp as i32, ..Default::default() };
    create(c, req).await.unwrap().runner.unwrap().runner_id
}

pub(crate) async fn schema(c: &Client, runner_id: &str) -> RunnerConfigurationSchema {
    let r: GetRunnerConfigurationSchemaResponse = c
        .call(&rcs("GetRunnerConfigurationSchema"), GetRunnerConfigurationSchemaRequest { runner_id: runner_id.into() })
        .await
        .unwrap();
    r.schema.expect("schema is set")
}

/// A configuration the schema accepts: every environment-class field with a usable default.
pub(crate) fn valid_configuration(schema: &RunnerConfigurationSchema) -> Vec<FieldValue> {
    schema
        .environment_classes
        .iter()
        .filter_map(|f| {
            let value = match f.r#type.as_ref()? {
                Type::String(s) if !s.default.is_empty() => s.default.clone(),
                Type::Bool(b) => b.default.to_string(),
                Type::Int(i) => i.default.to_string(),
                Type::Enum(e) => e.default_value.as_ref().or(e.possible_values.first())?.title.clone(),
                _ => return None,
            };
            Some(FieldValue { key: f.id.clone(), value })
        })
        .collect()
}

pub(crate) async fn create_class(
    c: &Client,
    runner_id: &str,
    name: &str,
    configuration: Vec<FieldValue>,
) -> Result<String, Failure> {
    let req = CreateEnvironmentClassRequest {
        runner_id: runner_id.into(),
        display_name: name.into(),
        description: "a class for tests".into(),
        configuration,
    };
    let r: CreateEnvironmentClassResponse = c.call(&rcs("CreateEnvironmentClass"), req).await?;
    Ok(r.id)
}

async fn get_class(c: &Client, id: &str) -> Result<EnvironmentClass, Failure> {
    let r: GetEnvironmentClassResponse =
        c.call(&rcs("GetEnvironmentClass"), GetEnvironmentClassRequest { environment_class_id: id.into() }).await?;
    Ok(r.environment_class.unwrap())
}

async fn list_classes(c: &Client, filter: list_environment_classes_request::Filter) -> Vec<String> {
    let mut ids = Vec::new();
    let mut token = String::new();
    let mut first = true;
    loop {
        let req = ListEnvironmentClassesRequest {
            pagination: Some(PaginationRequest { page_size: 2, token: token.clone() }),
            // Later pages carry only the token, as the TypeScript SDK sends them.
            filter: if first { Some(filter.clone()) } else { None },
        };
        first = false;
        let page: ListEnvironmentClassesResponse = c.call(&rcs("ListEnvironmentClasses"), req).await.unwrap();
        assert!(!page.environment_classes.is_empty() || ids.is_empty(), "no empty page after the first");
        ids.extend(page.environment_classes.into_iter().map(|e| e.id));
        token = page.pagination.unwrap_or_default().next_token;
        if token.is_empty() {
            return ids;
        }
    }
}

#[tokio::test]
async fn schema_and_environment_classes_over_connect_and_grpc() {
    for protocol in [Protocol::ConnectJson, Protocol::Grpc] {
        let server = TestServer::start().await;
        let c = server.client(protocol).await;
        let runner = gcp_runner(&c).await;

        let s = schema(&c, &runner).await;
        assert!(!s.version.is_empty());
        assert!(!s.environment_classes.is_empty(), "{protocol:?}: the default schema has class fields");
        let scm_ids: Vec<&str> = s.scm.iter().map(|x| x.scm_id.as_str()).collect();
        for id in ["github", "gitlab", "bitbucket", "azuredevops_entra", "azuredevops_server"] {
            assert!(scm_ids.contains(&id), "{id} in {scm_ids:?}");
        }
        let github = s.scm.iter().find(|x| x.scm_id == "github").unwrap();
        assert!(github.oauth.as_ref().unwrap().callback_url.starts_with("http://runner-api.test/"));
        assert!(github.pat.is_some());

        // Create: enabled, configuration kept as sent.
        let config = valid_configuration(&s);
        assert!(!config.is_empty());
        let id = create_class(&c, &runner, "Large Instance", config.clone()).await.unwrap();
        let class = get_class(&c, &id).await.unwrap();
        assert_eq!(
            (class.display_name.as_str(), class.enabled, class.runner_id.as_str()),
            ("Large Instance", true, runner.as_str())
        );
        assert_eq!(class.configuration, config);

        // Invalid input names the field; nothing is created.
        let mut bad = config.clone();
        bad.push(FieldValue { key: "bogus".into(), value: "1".into() });
        let f = create_class(&c, &runner, "Bad Class", bad).await.unwrap_err();
        assert_eq!(
            (f.code.as_str(), f.bad_fields.clone()),
            ("invalid_argument", vec!["configuration.bogus".to_owned()])
        );
        let f = create_class(&c, &runner, "x", config.clone()).await.unwrap_err();
        assert_eq!(f.bad_fields, vec!["displayName"]);
        let f = create_class(&c, &uuid::Uuid::now_v7().to_string(), "Ghost", config.clone()).await.unwrap_err();
        assert_eq!(f.code, "not_found");

        // Update by presence: name and enabled; configuration cannot change.
        let second = create_class(&c, &runner, "Small Instance", config.clone()).await.unwrap();
        let req = UpdateEnvironmentClassRequest {
            environment_class_id: second.clone(),
            display_name: Some("Tiny Instance".into()),
            description: None,
            enabled: Some(false),
        };
        let _: UpdateEnvironmentClassResponse = c.call(&rcs("UpdateEnvironmentClass"), req).await.unwrap();
        let got = get_class(&c, &second).await.unwrap();
        assert_eq!(
            (got.display_name.as_str(), got.enabled, got.description.as_str()),
            ("Tiny Instance", false, "a class for tests")
        );
        let req =
            UpdateEnvironmentClassRequest { environment_class_id: second.clone(), enabled: None, ..Default::default() };
        let _: UpdateEnvironmentClassResponse = c.call(&rcs("UpdateEnvironmentClass"), req).await.unwrap();
        assert!(!get_class(&c, &second).await.unwrap().enabled, "absent enabled changes nothing");

        // The enabled filter is a tri-state; the token keeps it across pages.
        let third = create_class(&c, &runner, "Medium Instance", config.clone()).await.unwrap();
        let any = list_classes(&c, Default::default()).await;
        assert_eq!(any, vec![id.clone(), second.clone(), third.clone()]);
        let enabled =
            list_classes(&c, list_environment_classes_request::Filter { enabled: Some(true), ..Default::default() })
                .await;
        assert_eq!(enabled, vec![id.clone(), third.clone()]);
        let disabled =
            list_classes(&c, list_environment_classes_request::Filter { enabled: Some(false), ..Default::default() })
                .await;
        assert_eq!(disabled, vec![second.clone()]);
        let usable =
            list_environment_classes_request::Filter { can_create_environments: Some(true), ..Default::default() };
        assert_eq!(list_classes(&c, usable).await, vec![id.clone(), third.clone()]);
        let aws = list_environment_classes_request::Filter {
            runner_providers: vec![RunnerProvider::AwsEc2 as i32],
            ..Default::default()
        };
        assert!(list_classes(&c, aws).await.is_empty());

        // Validation reports problems as data.
        let validate = |class: Option<EnvironmentClass>| ValidateRunnerConfigurationRequest {
            runner_id: runner.clone(),
            config: class.map(validate_runner_configuration_request::Config::EnvironmentClass),
        };
        let good = EnvironmentClass {
            display_name: "Fine Class".into(),
            description: "fine".into(),
            configuration: config.clone(),
            ..Default::default()
        };
        let r: ValidateRunnerConfigurationResponse =
            c.call(&rcs("ValidateRunnerConfiguration"), validate(Some(good))).await.unwrap();
        let Some(validate_runner_configuration_response::Result::EnvironmentClass(v)) = r.result else {
            panic!("{r:?}")
        };
        assert!(v.valid, "{v:?}");
        // Too short for the declared rule (3 to 127 characters): refused, not answered.
        let short = EnvironmentClass { display_name: "x".into(), description: "fine".into(), ..Default::default() };
        let f = c
            .call::<_, ValidateRunnerConfigurationResponse>(&rcs("ValidateRunnerConfiguration"), validate(Some(short)))
            .await
            .unwrap_err();
        assert_eq!(
            (f.code.as_str(), f.bad_fields.as_slice()),
            ("invalid_argument", &["environmentClass.displayName".to_owned()][..])
        );
        // Within the rule but blank: a problem the answer reports.
        let poor = EnvironmentClass {
            display_name: "   ".into(),
            description: "fine".into(),
            configuration: vec![FieldValue { key: "bogus".into(), value: "1".into() }],
            ..Default::default()
        };
        let r: ValidateRunnerConfigurationResponse =
            c.call(&rcs("ValidateRunnerConfiguration"), validate(Some(poor))).await.unwrap();
        let Some(validate_runner_configuration_response::Result::EnvironmentClass(v)) = r.result else {
            panic!("{r:?}")
        };
        assert!(!v.valid && v.display_name_error.is_some() && v.description_error.is_none());
        assert!(v.configuration_errors.iter().any(|e| e.key == "bogus"), "{v:?}");
        let f = c
            .call::<_, ValidateRunnerConfigurationResponse>(&rcs("ValidateRunnerConfiguration"), validate(None))
            .await
            .unwrap_err();
        assert_eq!(f.code, "invalid_argument");
    }
}

#[tokio::test]
async fn classes_follow_their_runner_access() {
    let server = TestServer::start().await;
    let admin = server.client(Protocol::ConnectJson).await;
    let runner = gcp_runner(&admin).await;
    let config = valid_configuration(&schema(&admin, &runner).await);
    let class = create_class(&admin, &runner, "Shared Class", config.clone()).await.unwrap();

    let (user_id, user_token) = server.member("user", OrgRole::Member).await;
    let (_, plain_token) = server.member("plain", OrgRole::Member).await;
    let group = server.identity.create_group(server.org.id, "users").await.unwrap();
    server.identity.add_group_member(group.id, user_id).await.unwrap();
    let req = CreateRunnerPolicyRequest {
        runner_id: runner.clone(),
        group_id: group.id.to_string(),
        role: RunnerRole::User as i32,
    };
    let _: CreateRunnerPolicyResponse = admin.call("/gitpod.v1.RunnerService/CreateRunnerPolicy", req).await.unwrap();

    let user = server.client_as(Protocol::ConnectJson, Some(&user_token)).await;
    let plain = server.client_as(Protocol::ConnectJson, Some(&plain_token)).await;
    assert_eq!(get_class(&user, &class).await.unwrap().id, class);
    let usable = list_environment_classes_request::Filter { can_create_environments: Some(true), ..Default::default() };
    assert_eq!(list_classes(&user, usable.clone()).await, vec![class.clone()]);
    assert_eq!(create_class(&user, &runner, "Not Mine", config.clone()).await.unwrap_err().code, "permission_denied");
    let upd = UpdateEnvironmentClassRequest {
        environment_class_id: class.clone(),
        enabled: Some(false),
        ..Default::default()
    };
    assert_eq!(
        user.call::<_, UpdateEnvironmentClassResponse>(&rcs("UpdateEnvironmentClass"), upd.clone())
            .await
            .unwrap_err()
            .code,
        "permission_denied"
    );
    assert_eq!(get_class(&plain, &class).await.unwrap_err().code, "not_found");
    assert!(list_classes(&plain, Default::default()).await.is_empty());
    assert_eq!(
        plain.call::<_, UpdateEnvironmentClassResponse>(&rcs("UpdateEnvironmentClass"), upd).await.unwrap_err().code,
        "not_found"
    );
    let f = plain
        .call::<_, GetRunnerConfigurationSchemaResponse>(
            &rcs("GetRunnerConfigurationSchema"),
            GetRunnerConfigurationSchemaRequest { runner_id: runner.clone() },
        )
        .await
        .unwrap_err();
    assert_eq!(f.code, "not_found");
}

#[tokio::test]
async fn both_oneof_members_in_json_is_invalid_argument() {
    // The Stainless "all params" test sends both members of the oneof.
    let server = TestServer::start().await;
    let body = json!({
        "runnerId": uuid::Uuid::now_v7().to_string(),
        "environmentClass": {"displayName": "a class"},
        "scmIntegration": {"scmId": "github", "host": "github.com"}
    });
    let response = reqwest::Client::new()
        .post(format!("{}{}", server.url(), rcs("ValidateRunnerConfiguration")))
        .bearer_auth(&server.admin_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let err: serde_json::Value = response.json().await.unwrap();
    assert_eq!(err["code"], "invalid_argument");
}
