//! The validator on the real descriptor set (`gitpod_api::FILE_DESCRIPTOR_SET`) and on small
//! protos compiled here: what each rule refuses and accepts, paths in JSON form, and rules it
//! cannot check failing the build of the plan instead of passing silently.

use gitpod_api::gitpod::v1::*;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};
use proto_validate::{BuildError, Validator, Violation};

fn gitpod() -> Validator {
    Validator::new(gitpod_api::FILE_DESCRIPTOR_SET).expect("every rule of the API is understood")
}

fn fields(r: Result<(), Vec<Violation>>) -> Vec<(String, String)> {
    r.err().unwrap_or_default().into_iter().map(|v| (v.field, v.rule)).collect()
}

const UUID: &str = "018f0c5e-1b2a-7c3d-8e4f-a0b1c2d3e4f5";

#[test]
fn the_api_rules_are_all_read() {
    let v = gitpod();
    // The runner services' 88 (wire-runner-v2.json), the access services' 116
    // (wire-access.json), three of them in both (Subject.id, Subject.principal,
    // PaginationRequest.page_size), and EventService's 19 (wire-events.json), one of them
    // PaginationRequest.page_size again, and the sign-in reference's 69 (wire-sso.json), eight
    // of them already counted (OrganizationMember's seven and PaginationRequest.page_size).
    assert_eq!(v.rule_count(), 280);
    assert!(v.has_rules("gitpod.v1.GetRunnerRequest"));
    // ListRunnersRequest has no rule of its own: its filter and pagination have.
    assert!(v.has_rules("gitpod.v1.ListRunnersRequest"));
    assert!(!v.has_rules("gitpod.v1.RunnerSpec"));
}

#[test]
fn strings_enums_lists_and_nested_messages() {
    let v = gitpod();
    assert_eq!(
        fields(v.validate(&GetRunnerRequest { runner_id: "x".into() })),
        [("runnerId".into(), "string.uuid".into())]
    );
    // No presence: an empty id is checked, as the empty string.
    assert_eq!(fields(v.validate(&GetRunnerRequest::default())), [("runnerId".into(), "string.uuid_empty".into())]);
    assert!(v.validate(&GetRunnerRequest { runner_id: UUID.into() }).is_ok());

    let filter = list_runners_request::Filter {
        creator_ids: vec![UUID.into(), "nope".into()],
        kinds: vec![1, 99],
        providers: vec![],
    };
    let req = ListRunnersRequest {
        pagination: Some(PaginationRequest { page_size: 101, token: String::new() }),
        filter: Some(filter),
    };
    let mut got = fields(v.validate(&req));
    got.sort();
    assert_eq!(
        got,
        [
            ("filter.creatorIds[1]".into(), "string.uuid".into()),
            ("filter.kinds[1]".into(), "enum.defined_only".into()),
            ("pagination.pageSize".into(), "int32.gte_lte".into()),
        ]
    );
    let too_many = list_runners_request::Filter { creator_ids: vec![UUID.into(); 26], ..Default::default() };
    let req = ListRunnersRequest { filter: Some(too_many), ..Default::default() };
    assert_eq!(fields(v.validate(&req)), [("filter.creatorIds".into(), "repeated.max_items".into())]);

    // `optional` name: unset passes, set is checked.
    assert!(v.validate(&UpdateRunnerRequest { runner_id: UUID.into(), ..Default::default() }).is_ok());
    let short = UpdateRunnerRequest { runner_id: UUID.into(), name: Some("ab".into()), ..Default::default() };
    assert_eq!(fields(v.validate(&short)), [("name".into(), "string.min_len".into())]);
    let empty = UpdateRunnerRequest { runner_id: UUID.into(), name: Some(String::new()), ..Default::default() };
    assert_eq!(fields(v.validate(&empty)), [("name".into(), "string.min_len".into())]);
}

#[test]
#[allow(deprecated)] // SearchRepositoriesRequest.limit keeps its rule
fn ignore_required_and_bytes() {
    let v = gitpod();
    // IGNORE_IF_ZERO_VALUE: an empty runner id passes, a bad one does not.
    let parse = |runner_id: &str| ParseContextUrlRequest {
        runner_id: runner_id.into(),
        context_url: "https://github.com/a/b".into(),
    };
    assert!(v.validate(&parse("")).is_ok());
    assert_eq!(fields(v.validate(&parse("x"))), [("runnerId".into(), "string.uuid".into())]);
    let limit = |limit| SearchRepositoriesRequest { runner_id: UUID.into(), limit, ..Default::default() };
    assert!(v.validate(&limit(0)).is_ok() && v.validate(&limit(100)).is_ok());
    assert_eq!(fields(v.validate(&limit(101))), [("limit".into(), "int32.gte_lte".into())]);
    assert_eq!(fields(v.validate(&limit(-1))), [("limit".into(), "int32.gte_lte".into())]);
    // URIs: RFC 3986, absolute.
    let bad_uri = ParseContextUrlRequest { runner_id: String::new(), context_url: "github.com/a b".into() };
    assert_eq!(fields(v.validate(&bad_uri)), [("contextUrl".into(), "string.uri".into())]);
    // `required` on a message field, and a nested message's own rules.
    assert_eq!(fields(v.validate(&GetRunnerResponse { runner: None })), [("runner".into(), "required".into())]);
    let runner =
        Runner { status: Some(RunnerStatus { public_key: vec![1; 31], ..Default::default() }), ..Default::default() };
    assert_eq!(
        fields(v.validate(&GetRunnerResponse { runner: Some(runner) })),
        [("runner.status.publicKey".into(), "bytes.len".into())]
    );
    // Repeated message items and their enum rules.
    let header = LlmIntegrationRequestHeader { header_type: 42, ..Default::default() };
    let req = UpdateLlmIntegrationRequest {
        id: UUID.into(),
        request_headers: vec![Default::default(), header],
        ..Default::default()
    };
    assert_eq!(fields(v.validate(&req)), [("requestHeaders[1].headerType".into(), "enum.defined_only".into())]);
    let none = CreateLlmIntegrationRequest { runner_id: UUID.into(), ..Default::default() };
    assert!(fields(v.validate(&none)).contains(&("models".into(), "repeated.min_items".into())));
}

#[test]
fn messages_and_reasons() {
    let v = gitpod();
    let violations = v.validate(&GetRunnerRequest { runner_id: "x".into() }).unwrap_err();
    assert_eq!(violations[0].message, "value must be a valid UUID");
    assert_eq!(violations[0].reason(), "STRING_UUID");
    // Malformed bytes are reported, never a panic.
    let bad = v.validate_encoded("gitpod.v1.GetRunnerRequest", &[0x0a, 0x05, b'a']).unwrap_err();
    assert_eq!(bad[0].rule, "malformed");
    // An unknown type has no rules.
    assert!(v.validate_encoded("gitpod.v1.Nope", &[1, 2, 3]).is_ok());
}

/// A descriptor set of one file (and buf/validate/validate.proto from this repository).
fn compile(source: &str) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("proto-validate-{}-{}", std::process::id(), source.len()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("t.proto"), source).unwrap();
    let proto_root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let mut compiler = protox::Compiler::new([dir.as_path(), proto_root.as_path()]).unwrap();
    compiler.include_imports(true).open_files(["t.proto"]).unwrap();
    let bytes = compiler.encode_file_descriptor_set();
    std::fs::remove_dir_all(&dir).unwrap();
    bytes
}

const HEADER: &str = "syntax = \"proto3\"; package t; import \"buf/validate/validate.proto\"; import \"google/protobuf/duration.proto\";";

/// Validates the JSON form of `t.M` against a set compiled from `body`.
fn check(set: &[u8], json: &str) -> Vec<(String, String)> {
    let pool = DescriptorPool::decode(set).unwrap();
    let desc = pool.get_message_by_name("t.M").unwrap();
    let mut de = serde_json::Deserializer::from_str(json);
    let m = DynamicMessage::deserialize(desc, &mut de).unwrap();
    let v = Validator::new(set).unwrap();
    fields(v.validate_encoded("t.M", &m.encode_to_vec()))
}

#[test]
fn the_rules_the_other_services_use() {
    let set = compile(&format!(
        "{HEADER} message M {{
            string email = 1 [(buf.validate.field).string.email = true, (buf.validate.field).ignore = IGNORE_IF_ZERO_VALUE];
            repeated string domains = 2 [(buf.validate.field).repeated = {{unique: true, items: {{string: {{pattern: \"^[a-z]+\\\\.com$\"}}}}}}];
            E kind = 3 [(buf.validate.field).enum = {{defined_only: true, not_in: [0]}}];
            google.protobuf.Duration ttl = 4 [(buf.validate.field).duration = {{gte: {{}}, lte: {{seconds: 3600}}}}];
            map<string, int32> sizes = 5 [(buf.validate.field).map.values.int32.gt = 0];
            string id = 6 [(buf.validate.field).required = true];
            oneof pick {{ option (buf.validate.oneof).required = true; string a = 7; string b = 8; }}
        }}
        enum E {{ E_UNSPECIFIED = 0; E_ONE = 1; }}"
    ));
    let ok = r#"{"email":"","domains":["a.com","b.com"],"kind":"E_ONE","ttl":"60s","sizes":{"x":1},"id":"i","a":"x"}"#;
    assert_eq!(check(&set, ok), Vec::<(String, String)>::new());
    let bad = r#"{"email":"a@","domains":["a.com","a.com","B.org"],"kind":0,"ttl":"7200s","sizes":{"x":0},"id":""}"#;
    let mut got = check(&set, bad);
    got.sort();
    let want: Vec<(String, String)> = [
        ("domains", "repeated.unique"),
        ("domains[2]", "string.pattern"),
        ("email", "string.email"),
        ("id", "required"),
        ("kind", "enum.not_in"),
        ("pick", "required"),
        ("sizes[\"x\"]", "int32.gt"),
        ("ttl", "duration.gte_lte"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn rules_it_cannot_check_fail_the_plan() {
    for (field, rule) in [
        ("string s = 1 [(buf.validate.field).cel = {id: \"x\", expression: \"this != ''\"}];", "cel"),
        (
            "string s = 1 [(buf.validate.field).string.well_known_regex = KNOWN_REGEX_HTTP_HEADER_NAME];",
            "string.well_known_regex",
        ),
        ("int32 s = 1 [(buf.validate.field).string.min_len = 1];", "string"),
        ("repeated string s = 1 [(buf.validate.field).string.min_len = 1];", "string"),
    ] {
        let set = compile(&format!("{HEADER} message M {{ {field} }}"));
        let err = Validator::new(&set).expect_err(field);
        match err {
            BuildError::Unsupported { rule: r, .. } | BuildError::Mismatch { rule: r, .. } => {
                assert_eq!(r, rule, "{field}")
            }
            other => panic!("{field}: {other}"),
        }
    }
    let set = compile(&format!(
        "{HEADER} message M {{ option (buf.validate.message).cel = {{id: \"x\", expression: \"true\"}}; string s = 1; }}"
    ));
    assert!(matches!(Validator::new(&set), Err(BuildError::Unsupported { .. })));
}
