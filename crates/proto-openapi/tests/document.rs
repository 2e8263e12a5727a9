//! The document built from a small proto compiled here: operations, proto3 JSON forms (names,
//! enums, 64-bit integers, bytes, well-known types, maps, oneofs), comments as descriptions,
//! and `buf.validate` rules as constraints.

use proto_openapi::{Error, Options};
use serde_json::{Value, json};

const SOURCE: &str = r#"
syntax = "proto3";
package t.v1;
import "buf/validate/validate.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

// Things and their keeping.
service ThingService {
  // Reads one thing.
  rpc GetThing(GetThingRequest) returns (Thing) {
    option idempotency_level = NO_SIDE_EFFECTS;
  }
  // Makes one.
  rpc MakeThing(MakeThingRequest) returns (Thing);
  rpc NotServed(Thing) returns (Thing);
  rpc Watch(GetThingRequest) returns (stream Thing);
}

message MakeThingRequest {
  string code = 1 [(buf.validate.field).required = true];
  string display_name = 2 [(buf.validate.field).string.min_len = 3];
  string note = 3 [(buf.validate.field).string.max_len = 9];
  Thing thing = 4;
}

message GetThingRequest {
  // The thing's id.
  string thing_id = 1 [(buf.validate.field).string.uuid = true];
}

// What a thing is.
enum Shape {
  SHAPE_UNSPECIFIED = 0;
  // Round.
  SHAPE_ROUND = 1;
  SHAPE_SQUARE = 2;
}

// A thing.
message Thing {
  string display_name = 1 [(buf.validate.field).string = {min_len: 3, max_len: 10}];
  int64 weight = 2;
  uint32 count = 3 [(buf.validate.field).uint32 = {gte: 1, lte: 50}];
  bytes blob = 4;
  Shape shape = 5 [(buf.validate.field).enum = {defined_only: true, not_in: [2]}];
  repeated string tags = 6 [(buf.validate.field).repeated = {max_items: 4, items: {string: {max_len: 5}}}];
  map<string, string> labels = 7 [(buf.validate.field).map.max_pairs = 2];
  google.protobuf.Timestamp made_at = 8;
  google.protobuf.Duration ttl = 9;
  google.protobuf.FieldMask mask = 10;
  google.protobuf.Struct extra = 11;
  google.protobuf.StringValue note = 12;
  oneof source {
    string url = 13;
    Thing parent = 14;
  }
  string owner_id = 15 [(buf.validate.field).string.uuid = true, (buf.validate.field).ignore = IGNORE_IF_ZERO_VALUE];
  string code = 16 [(buf.validate.field).required = true];
  map<int32, Thing> children = 17;
}
"#;

/// The descriptor set of `SOURCE` (and its imports, with source info), compiled once.
fn compile() -> &'static [u8] {
    static SET: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    SET.get_or_init(compile_now)
}

fn compile_now() -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("proto-openapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("t.proto"), SOURCE).unwrap();
    let proto_root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let mut compiler = protox::Compiler::new([dir.as_path(), proto_root.as_path()]).unwrap();
    compiler.include_source_info(true).include_imports(true).open_files(["t.proto"]).unwrap();
    let bytes = compiler.encode_file_descriptor_set();
    std::fs::remove_dir_all(&dir).unwrap();
    bytes
}

const OPTIONS: Options<'static> = Options {
    title: "t",
    version: "1",
    description: "d",
    prefixes: &["/api", ""],
    bearer_description: "b",
    license: Some("Apache-2.0"),
    public: &["/t.v1.ThingService/GetThing"],
};

fn document() -> Value {
    let served = ["/t.v1.ThingService/GetThing".to_owned(), "/t.v1.ThingService/MakeThing".to_owned()];
    proto_openapi::document(compile(), &served, &OPTIONS).unwrap()
}

#[test]
fn operations_are_the_served_rpcs_with_connect_get_for_side_effect_free_ones() {
    let d = document();
    assert_eq!(d["openapi"], "3.1.0");
    assert_eq!(d["info"]["license"], json!({ "name": "Apache-2.0", "identifier": "Apache-2.0" }));
    let paths = d["paths"].as_object().unwrap();
    assert_eq!(paths.keys().collect::<Vec<_>>(), ["/t.v1.ThingService/GetThing", "/t.v1.ThingService/MakeThing"]);
    let get_thing = &paths["/t.v1.ThingService/GetThing"];
    assert_eq!(get_thing["post"]["operationId"], "ThingService_GetThing");
    assert_eq!(get_thing["post"]["description"], "Reads one thing.");
    assert_eq!(
        get_thing["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/t.v1.GetThingRequest"
    );
    assert_eq!(
        get_thing["post"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/t.v1.Thing"
    );
    assert_eq!(get_thing["post"]["responses"]["401"]["$ref"], "#/components/responses/Error401");
    // A missing or unknown Content-Type: the Connect protocol's 415, with a Connect error body.
    assert_eq!(get_thing["post"]["responses"]["415"]["$ref"], "#/components/responses/Error415");
    assert!(d["components"]["responses"]["Error415"]["content"]["application/json"].is_object());
    // Connect GET: the message as a JSON query parameter, the encoding required.
    let get = &get_thing["get"];
    assert_eq!(get["parameters"][0]["name"], "message");
    assert_eq!(get["parameters"][0]["in"], "query");
    assert_eq!(
        get["parameters"][0]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/t.v1.GetThingRequest"
    );
    assert!(paths["/t.v1.ThingService/MakeThing"].get("get").is_none(), "MakeThing has side effects: POST only");
    // A public RPC needs no token (both forms); the others take the document's bearer scheme.
    assert_eq!((&get_thing["post"]["security"], &get["security"]), (&json!([]), &json!([])));
    assert!(paths["/t.v1.ThingService/MakeThing"]["post"].get("security").is_none());
    assert_eq!(d["security"], json!([{ "bearerAuth": [] }]));
    assert_eq!(d["components"]["parameters"]["ConnectGetEncoding"]["required"], true);
    assert_eq!(d["tags"], json!([{ "name": "t.v1.ThingService", "description": "Things and their keeping." }]));
    assert_eq!(d["servers"][0]["url"], "{prefix}");
    assert_eq!(d["servers"][0]["variables"]["prefix"]["enum"], json!(["/api", ""]));
    let error = &d["components"]["responses"]["Error400"];
    assert_eq!(error["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/connect.error");
    assert!(error["description"].as_str().unwrap().contains("`failed_precondition`"));
}

#[test]
fn unknown_and_streaming_rpcs_are_refused() {
    let set = compile();
    let unknown = proto_openapi::document(set, &["/t.v1.ThingService/Nope".to_owned()], &OPTIONS);
    assert!(matches!(unknown, Err(Error::UnknownRpc(p)) if p == "/t.v1.ThingService/Nope"));
    let streaming = proto_openapi::document(set, &["/t.v1.ThingService/Watch".to_owned()], &OPTIONS);
    assert!(matches!(streaming, Err(Error::Streaming(_))));
}

#[test]
fn proto3_json_forms() {
    let d = document();
    let thing = &d["components"]["schemas"]["t.v1.Thing"];
    assert_eq!(thing["description"], "A thing.");
    let p = &thing["properties"];
    assert_eq!(p["weight"], json!({ "type": "string", "format": "int64", "pattern": "^-?[0-9]+$" }));
    assert_eq!(p["blob"], json!({ "type": "string", "contentEncoding": "base64" }));
    assert_eq!(p["madeAt"]["format"], "date-time");
    assert_eq!(p["ttl"]["type"], "string");
    assert!(p["ttl"]["pattern"].as_str().unwrap().ends_with("s$"));
    assert_eq!(p["mask"]["type"], "string");
    assert_eq!(p["extra"]["type"], "object");
    assert_eq!(p["note"], json!({ "type": "string" }), "a wrapper is its value");
    assert_eq!(p["shape"]["$ref"], "#/components/schemas/t.v1.Shape");
    assert_eq!(p["children"]["propertyNames"]["pattern"], "^-?[0-9]+$");
    assert_eq!(p["children"]["additionalProperties"]["$ref"], "#/components/schemas/t.v1.Thing");
    let shape = &d["components"]["schemas"]["t.v1.Shape"];
    assert_eq!(shape["enum"], json!(["SHAPE_UNSPECIFIED", "SHAPE_ROUND", "SHAPE_SQUARE"]));
    assert!(shape["description"].as_str().unwrap().contains("- `SHAPE_ROUND`: Round."));
    // A oneof's members are mutually exclusive.
    assert_eq!(thing["allOf"], json!([{ "not": { "required": ["url", "parent"] } }]));
    // Well-known types are inline, never components.
    assert!(d["components"]["schemas"].get("google.protobuf.Timestamp").is_none());
}

#[test]
fn declared_rules_are_constraints() {
    let d = document();
    let s = &d["components"]["schemas"];
    let id = &s["t.v1.GetThingRequest"]["properties"]["thingId"];
    assert_eq!((id["format"].as_str(), id["minLength"].as_u64()), (Some("uuid"), Some(1)));
    assert_eq!(id["description"], "The thing's id.");
    let p = &s["t.v1.Thing"]["properties"];
    assert_eq!((p["displayName"]["minLength"].as_u64(), p["displayName"]["maxLength"].as_u64()), (Some(3), Some(10)));
    assert_eq!((p["count"]["minimum"].as_u64(), p["count"]["maximum"].as_u64()), (Some(1), Some(50)));
    assert_eq!(p["shape"]["not"], json!({ "enum": ["SHAPE_SQUARE"] }));
    assert_eq!(p["tags"]["maxItems"], 4);
    assert_eq!(p["tags"]["items"]["maxLength"], 5);
    assert_eq!(p["labels"]["maxProperties"], 2);
    // IGNORE_IF_ZERO_VALUE: the empty string, or a UUID.
    assert_eq!(p["ownerId"]["type"], "string");
    assert_eq!(p["ownerId"]["anyOf"][0], json!({ "maxLength": 0 }));
    assert_eq!(p["ownerId"]["anyOf"][1]["format"], "uuid");
    // `required` on a scalar: present, and not its zero value; so is a field whose rules refuse
    // its zero value (left out, it is that value), unless they ignore it.
    let make = &s["t.v1.MakeThingRequest"];
    assert_eq!(make["required"], json!(["code", "displayName"]));
    assert_eq!(make["properties"]["code"]["not"], json!({ "maxLength": 0 }));
    assert_eq!(s["t.v1.GetThingRequest"]["required"], json!(["thingId"]));
    // Not in a message an answer holds: the server checks requests, and leaves zero values out of
    // its answers. Its value constraints stay.
    assert!(s["t.v1.Thing"].get("required").is_none(), "{}", s["t.v1.Thing"]);
    assert!(p["code"].get("not").is_none());
}
