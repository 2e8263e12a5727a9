//! An OpenAPI 3.1 description of the Connect protocol's JSON form of a server's unary RPCs,
//! built from a protobuf descriptor set: never written by hand.
//!
//! [`document`] takes the encoded `FileDescriptorSet` (with source info, for the comments, and
//! with `buf/validate/validate.proto` when the files use it) and the paths of the RPCs a server
//! serves (`/gitpod.v1.RunnerService/ListRunners`), and describes for each:
//!
//! - `POST /<service>/<method>` with a JSON request body and answer, as Connect unary sends them;
//! - for a method marked `idempotency_level = NO_SIDE_EFFECTS`, the Connect `GET` form too
//!   (`?encoding=json&message=<the request as JSON>`, with the optional `base64`, `compression`
//!   and `connect` parameters);
//! - the Connect error body (`code`, `message`, `details`) for every error status.
//!
//! Messages and enums become component schemas named by their full proto name, in proto3 JSON
//! form: fields by their JSON (lowerCamelCase) names, enums as their value names, 64-bit
//! integers as decimal strings, `bytes` as base64, the well-known types in their JSON forms
//! (`Timestamp` an RFC 3339 string, `Duration` `"1.5s"`, `FieldMask` a comma-separated string,
//! `Struct` an object, the wrappers their value), and the members of a oneof mutually exclusive.
//! Proto comments are the descriptions. The `buf.validate` rules the [`proto_validate`] crate
//! reads become schema constraints where JSON Schema can say them (`format: uuid`, `minLength`,
//! `maxItems`, `minimum`, `enum`, `required`, …); the others are left to the server's answer.

mod schema;

use std::collections::{BTreeMap, HashMap, HashSet};

use prost_reflect::{DescriptorPool, FileDescriptor, Kind, MessageDescriptor, MethodDescriptor};
use serde_json::{Map, Value, json};

/// What [`document`] cannot describe.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the descriptor set does not decode: {0}")]
    Descriptors(String),
    #[error("the descriptor set's buf.validate rules cannot be read: {0}")]
    Rules(#[from] proto_validate::BuildError),
    #[error("no RPC {0} in the descriptor set")]
    UnknownRpc(String),
    #[error("RPC {0} streams; only unary RPCs are described")]
    Streaming(String),
}

/// The document's own texts and the server's address.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    pub title: &'a str,
    pub version: &'a str,
    /// The document's description (Markdown).
    pub description: &'a str,
    /// The path prefixes the server accepts in front of every RPC path, the default first
    /// (`["/api", ""]`): the server URL's `prefix` variable.
    pub prefixes: &'a [&'a str],
    /// How a caller authenticates, for the bearer scheme's description.
    pub bearer_description: &'a str,
    /// The SPDX identifier of the API's license, if any.
    pub license: Option<&'a str>,
    /// The RPC paths served without a bearer token: their operations say `security: []`.
    pub public: &'a [&'a str],
}

/// The Connect error codes, as the JSON error body names them, with their HTTP statuses.
pub const CONNECT_CODES: [(&str, u16); 16] = [
    ("canceled", 499),
    ("unknown", 500),
    ("invalid_argument", 400),
    ("deadline_exceeded", 504),
    ("not_found", 404),
    ("already_exists", 409),
    ("permission_denied", 403),
    ("resource_exhausted", 429),
    ("failed_precondition", 400),
    ("aborted", 409),
    ("out_of_range", 400),
    ("unimplemented", 501),
    ("internal", 500),
    ("unavailable", 503),
    ("data_loss", 500),
    ("unauthenticated", 401),
];

/// The OpenAPI 3.1 document for the RPCs at `served` (`/<service full name>/<method>`), in the
/// order of their paths.
pub fn document(descriptor_set: &[u8], served: &[String], options: &Options<'_>) -> Result<Value, Error> {
    let pool = DescriptorPool::decode(descriptor_set).map_err(|e| Error::Descriptors(e.to_string()))?;
    let validator = proto_validate::Validator::new(descriptor_set)?;
    let comments = Comments::new(&pool);
    let mut methods: BTreeMap<String, MethodDescriptor> = BTreeMap::new();
    for path in served {
        let method = find_method(&pool, path).ok_or_else(|| Error::UnknownRpc(path.clone()))?;
        if method.is_client_streaming() || method.is_server_streaming() {
            return Err(Error::Streaming(path.clone()));
        }
        methods.insert(path.clone(), method);
    }

    let answers = reached(methods.values().map(|m| m.output()));
    let mut schemas = schema::Schemas::new(&validator, &comments, answers);
    let mut paths = Map::new();
    let mut tags: BTreeMap<String, Value> = BTreeMap::new();
    for (path, method) in &methods {
        let service = method.parent_service();
        tags.entry(service.full_name().to_owned()).or_insert_with(|| {
            let mut tag = json!({ "name": service.full_name() });
            if let Some(text) = comments.of(&service.parent_file(), service.path()) {
                tag["description"] = text.into();
            }
            tag
        });
        let input = schemas.message_ref(&method.input());
        let output = schemas.message_ref(&method.output());
        let description = comments.of(&service.parent_file(), method.path());
        let operation_id = format!("{}_{}", service.name(), method.name());
        let mut post = operation(&operation_id, method, description.as_deref(), &output);
        post["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": input } },
        });
        post["parameters"] = json!([{ "$ref": "#/components/parameters/ConnectProtocolVersion" }]);
        let mut item = json!({ "post": post });
        if side_effect_free(method) {
            let mut get = operation(&format!("{operation_id}_Get"), method, description.as_deref(), &output);
            get["description"] = format!(
                "{}The Connect GET form of {}, for a method without side effects: the request is the \
                 `message` query parameter.",
                description.as_deref().map(|d| format!("{d}\n\n")).unwrap_or_default(),
                method.name()
            )
            .into();
            get["parameters"] = json!([
                {
                    "name": "message",
                    "in": "query",
                    "required": true,
                    "description": "The request message, as JSON (`encoding=json`), percent-encoded; with \
                                    `base64=1`, its URL-safe base64 encoding instead.",
                    "content": { "application/json": { "schema": input } },
                },
                { "$ref": "#/components/parameters/ConnectGetEncoding" },
                { "$ref": "#/components/parameters/ConnectGetBase64" },
                { "$ref": "#/components/parameters/ConnectGetCompression" },
                { "$ref": "#/components/parameters/ConnectGetVersion" },
            ]);
            item["get"] = get;
        }
        if options.public.contains(&path.as_str()) {
            for operation in ["post", "get"] {
                if let Some(op) = item.get_mut(operation) {
                    op["security"] = json!([]);
                }
            }
        }
        paths.insert(path.clone(), item);
    }

    let mut components = Map::new();
    let mut all_schemas = schemas.finish();
    all_schemas.insert("connect.error".to_owned(), connect_error_schema());
    all_schemas.insert("connect.error.detail".to_owned(), connect_detail_schema());
    components.insert("schemas".to_owned(), Value::Object(all_schemas.into_iter().collect()));
    components.insert("responses".to_owned(), error_responses());
    components.insert("parameters".to_owned(), parameters());
    components.insert(
        "securitySchemes".to_owned(),
        json!({ "bearerAuth": { "type": "http", "scheme": "bearer", "description": options.bearer_description } }),
    );

    let prefixes: Vec<&str> = options.prefixes.to_vec();
    let mut info = json!({ "title": options.title, "version": options.version, "description": options.description });
    if let Some(license) = options.license {
        info["license"] = json!({ "name": license, "identifier": license });
    }
    Ok(json!({
        "openapi": "3.1.0",
        "info": info,
        "servers": [{
            "url": "{prefix}",
            "description": "This server (the document's own address), under the path prefix chosen",
            "variables": {
                "prefix": {
                    "default": prefixes.first().copied().unwrap_or_default(),
                    "enum": prefixes,
                    "description": "Every RPC is served at /SERVICE/METHOD, and under this prefix too",
                },
            },
        }],
        "security": [{ "bearerAuth": [] }],
        "tags": tags.into_values().collect::<Vec<_>>(),
        "paths": paths,
        "components": components,
    }))
}

/// An operation's common part: its id, texts, tag and answers.
fn operation(id: &str, method: &MethodDescriptor, description: Option<&str>, output: &Value) -> Value {
    let mut op = json!({
        "operationId": id,
        "summary": method.name(),
        "tags": [method.parent_service().full_name()],
        "responses": error_statuses(json!({
            "description": format!("The {} answer.", method.output().name()),
            "content": { "application/json": { "schema": output } },
        })),
    });
    if let Some(text) = description {
        op["description"] = text.into();
    }
    op
}

/// `200` with `ok`, and every status a Connect error can come with.
fn error_statuses(ok: Value) -> Value {
    let mut responses = Map::new();
    responses.insert("200".to_owned(), ok);
    let mut statuses: Vec<u16> = CONNECT_CODES.iter().map(|(_, s)| *s).collect();
    statuses.sort_unstable();
    statuses.dedup();
    statuses.push(415);
    statuses.sort_unstable();
    for status in statuses {
        responses.insert(status.to_string(), json!({ "$ref": format!("#/components/responses/Error{status}") }));
    }
    Value::Object(responses)
}

/// One response per error status, naming the Connect codes that come with it.
fn error_responses() -> Value {
    let mut by_status: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    for (code, status) in CONNECT_CODES {
        by_status.entry(status).or_default().push(code);
    }
    let mut responses = Map::new();
    for (status, codes) in by_status {
        let codes = codes.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
        responses.insert(
            format!("Error{status}"),
            json!({
                "description": format!("A Connect error: {codes}."),
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/connect.error" } } },
            }),
        );
    }
    responses.insert(
        "Error415".to_owned(),
        json!({
            "description": "The request has no Content-Type, or one the server does not speak (the Connect \
                            protocol's status; `Accept-Post` lists those it does): a Connect error, `invalid_argument`.",
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/connect.error" } } },
        }),
    );
    Value::Object(responses)
}

fn connect_error_schema() -> Value {
    json!({
        "type": "object",
        "description": "The body of every Connect error answer (https://connectrpc.com/docs/protocol#error-end-stream).",
        "properties": {
            "code": {
                "type": "string",
                "enum": CONNECT_CODES.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
                "description": "The error code; the HTTP status follows from it.",
            },
            "message": { "type": "string", "description": "What went wrong, for a developer." },
            "details": {
                "type": "array",
                "items": { "$ref": "#/components/schemas/connect.error.detail" },
                "description": "Error details (for example `google.rpc.BadRequest`).",
            },
        },
        "required": ["code"],
    })
}

fn connect_detail_schema() -> Value {
    json!({
        "type": "object",
        "description": "One error detail: a protobuf message, by type, in binary form.",
        "properties": {
            "type": { "type": "string", "description": "The detail's full message name: `google.rpc.BadRequest`." },
            "value": {
                "type": "string",
                "contentEncoding": "base64",
                "description": "The message's binary encoding, in base64 without padding.",
            },
            "debug": { "description": "The message as JSON, when the server adds it." },
        },
        "required": ["type", "value"],
    })
}

/// The parameters every operation (or every Connect GET) shares.
fn parameters() -> Value {
    json!({
        "ConnectProtocolVersion": {
            "name": "Connect-Protocol-Version",
            "in": "header",
            "required": false,
            "description": "The Connect protocol version; Connect clients send `1`.",
            "schema": { "type": "string", "enum": ["1"] },
        },
        "ConnectGetEncoding": {
            "name": "encoding",
            "in": "query",
            "required": true,
            "description": "The codec of `message` and of the answer: `json` (`proto`, the binary encoding, is \
                            accepted too, outside this JSON description).",
            "schema": { "type": "string", "enum": ["json"] },
        },
        "ConnectGetBase64": {
            "name": "base64",
            "in": "query",
            "required": false,
            "description": "`1`: `message` is URL-safe base64 of the (possibly compressed) message.",
            "schema": { "type": "string", "enum": ["0", "1"] },
        },
        "ConnectGetCompression": {
            "name": "compression",
            "in": "query",
            "required": false,
            "description": "How `message` is compressed (`gzip` with `base64=1`); `identity`: not at all.",
            "schema": { "type": "string", "enum": ["identity", "gzip"] },
        },
        "ConnectGetVersion": {
            "name": "connect",
            "in": "query",
            "required": false,
            "description": "The Connect protocol version; Connect clients send `v1`.",
            "schema": { "type": "string", "enum": ["v1"] },
        },
    })
}

/// The full names of the messages reachable from `roots`, the roots included.
fn reached(roots: impl Iterator<Item = MessageDescriptor>) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut todo: Vec<MessageDescriptor> = roots.collect();
    while let Some(m) = todo.pop() {
        if !seen.insert(m.full_name().to_owned()) {
            continue;
        }
        for field in m.fields() {
            let kind = match field.kind() {
                Kind::Message(entry) if field.is_map() => entry.map_entry_value_field().kind(),
                other => other,
            };
            if let Kind::Message(next) = kind {
                todo.push(next);
            }
        }
    }
    seen
}

fn find_method(pool: &DescriptorPool, path: &str) -> Option<MethodDescriptor> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    pool.get_service_by_name(service)?.methods().find(|m| m.name() == method)
}

/// `option idempotency_level = NO_SIDE_EFFECTS`.
fn side_effect_free(method: &MethodDescriptor) -> bool {
    method.method_descriptor_proto().options.as_ref().and_then(|o| o.idempotency_level)
        == Some(prost_reflect::prost_types::method_options::IdempotencyLevel::NoSideEffects as i32)
}

/// The comments of every file, by file name and source path.
pub(crate) struct Comments {
    by_path: HashMap<(String, Vec<i32>), String>,
}

impl Comments {
    fn new(pool: &DescriptorPool) -> Self {
        let mut by_path = HashMap::new();
        for file in pool.files() {
            let Some(info) = &file.file_descriptor_proto().source_code_info else { continue };
            for location in &info.location {
                let text = location
                    .leading_comments
                    .as_deref()
                    .or(location.trailing_comments.as_deref())
                    .map(clean_comment)
                    .filter(|t| !t.is_empty());
                if let Some(text) = text {
                    by_path.insert((file.name().to_owned(), location.path.clone()), text);
                }
            }
        }
        Self { by_path }
    }

    /// The comment of the element at `path` in `file`.
    pub(crate) fn of(&self, file: &FileDescriptor, path: &[i32]) -> Option<String> {
        self.by_path.get(&(file.name().to_owned(), path.to_vec())).cloned()
    }
}

/// A proto comment as text: each line without the one space after `//`, outer blank lines gone,
/// and lint directives (`buf:lint:ignore …`) dropped.
fn clean_comment(raw: &str) -> String {
    let lines: Vec<&str> = raw
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end())
        .filter(|l| !l.starts_with("buf:lint:") && !l.starts_with("@gotags"))
        .collect();
    lines.join("\n").trim().to_owned()
}
