//! The compiled descriptor set (`gitpod_api::FILE_DESCRIPTOR_SET`) against the wire reference,
//! item by item and both ways. The reference is `tests/data/gitpod-v1-wire.json` (a copy of
//! `shared/spec/wire.json`, the two runner services) with `tests/data/gitpod-v1-wire-access.json`
//! (a copy of `shared/spec/wire-access.json`, the five identity and access services, from the
//! real descriptors), `tests/data/gitpod-v1-wire-events.json` and
//! `tests/data/gitpod-v1-wire-sso.json` (sign-in: SSO configurations, invitations, accounts)
//! merged in ([`wire`]):
//!
//! * files: present, package `gitpod.v1`, proto3, imports within the reference's list (where it
//!   lists them);
//! * messages: full name, file, declaration order of their fields;
//! * fields: name, number, type (scalar name, fully qualified message/enum name, or
//!   `map<K, V>`), label (`singular`, proto3 `optional` presence, `repeated`, `map`), real oneof,
//!   deprecation, JSON name (the
//!   reference's where it gives one, else protoc's default);
//! * enums: full name, file; values: name, number, deprecation, order;
//! * services: full name, file; RPCs: name, request, response, method kind, idempotency level
//!   (where the reference gives one), order.
//!
//! Anything in the descriptor set that the reference does not list is a difference too; only the
//! imported `google/protobuf/*` well-known-type files are outside the comparison. Every
//! difference is collected and printed; any fails the test. There is no exceptions list.
//!
//! Then against the references extracted from the real descriptors ([`REAL_REFERENCES`], copies
//! of `shared/spec/wire-*.json` that the official Ona SDK's `*_pb2.py` files gave), for every item
//! they list: each RPC's request, response, method kind and idempotency level; each field's
//! number, type, label, JSON name and `buf.validate` rules (compared as protobuf text, with the
//! two `Ignore` values that protovalidate 1.0 merged into `IGNORE_IF_ZERO_VALUE` read as that).

use std::collections::BTreeSet;

use prost_reflect::{DescriptorPool, Kind, Syntax};
use serde_json::Value;

const WIRE: &str = include_str!("data/gitpod-v1-wire.json");
const WIRE_ACCESS: &str = include_str!("data/gitpod-v1-wire-access.json");
const WIRE_EVENTS: &str = include_str!("data/gitpod-v1-wire-events.json");
const WIRE_SSO: &str = include_str!("data/gitpod-v1-wire-sso.json");

/// The files of the sign-in reference (`shared/spec/wire-sso.json`: OrganizationService's SSO
/// configurations and invitations, AccountService, and what they reach), merged in last. Its
/// OrganizationService methods follow the access reference's seven.
const SSO_FILES: [&str; 4] =
    ["gitpod/v1/organization.proto", "gitpod/v1/account.proto", "gitpod/v1/pagination.proto", "gitpod/v1/user.proto"];

/// The files of the events reference (`shared/spec/wire-events.json`: EventService and what it
/// reaches), all merged into the reference after the access files.
const EVENTS_FILES: [&str; 5] = [
    "gitpod/v1/event.proto",
    "gitpod/v1/agent_security.proto",
    "gitpod/v1/environment.proto",
    "gitpod/v1/identity.proto",
    "gitpod/v1/pagination.proto",
];

/// The files of the access reference, all merged into the reference: the five services'
/// files and the shared types they reach (`pagination.proto` gains `SortOrder`).
const ACCESS_FILES: [&str; 9] = [
    "gitpod/v1/identity.proto",
    "gitpod/v1/user.proto",
    "gitpod/v1/organization.proto",
    "gitpod/v1/group.proto",
    "gitpod/v1/service_account.proto",
    "gitpod/v1/pagination.proto",
    "gitpod/v1/event.proto",
    "gitpod/v1/count.proto",
    "gitpod/v1/login_provider.proto",
];

/// The references from the real descriptors, each a subset of the API (what its services reach).
const REAL_REFERENCES: &[(&str, &str)] = &[
    ("gitpod-v1-wire-runner-v2.json", include_str!("data/gitpod-v1-wire-runner-v2.json")),
    ("gitpod-v1-wire-access.json", WIRE_ACCESS),
    ("gitpod-v1-wire-events.json", WIRE_EVENTS),
    ("gitpod-v1-wire-sso.json", WIRE_SSO),
];

/// Our own runner-side API (package `runnerside.v1`): not part of the reconstruction, so outside
/// the comparison (their header comments say their field numbers are ours; `own_files_say_so`
/// checks that).
const OWN_FILES: [&str; 1] = ["runnerside/v1/interaction.proto"];

/// Files the wire reference does not describe: imported well-known types, the vendored
/// `buf/validate/validate.proto` and our own files.
fn outside_reference(name: &str) -> bool {
    is_wkt_file(name) || name.starts_with("buf/") || OWN_FILES.contains(&name)
}

/// The well-known-type files are imported, not part of the API.
fn is_wkt_file(name: &str) -> bool {
    name.starts_with("google/protobuf/")
}

/// The type as the reference writes it: the scalar name, or the fully qualified message or enum.
fn kind_name(kind: &Kind) -> String {
    match kind {
        Kind::Double => "double".into(),
        Kind::Float => "float".into(),
        Kind::Int32 => "int32".into(),
        Kind::Int64 => "int64".into(),
        Kind::Uint32 => "uint32".into(),
        Kind::Uint64 => "uint64".into(),
        Kind::Sint32 => "sint32".into(),
        Kind::Sint64 => "sint64".into(),
        Kind::Fixed32 => "fixed32".into(),
        Kind::Fixed64 => "fixed64".into(),
        Kind::Sfixed32 => "sfixed32".into(),
        Kind::Sfixed64 => "sfixed64".into(),
        Kind::Bool => "bool".into(),
        Kind::String => "string".into(),
        Kind::Bytes => "bytes".into(),
        Kind::Message(m) => m.full_name().into(),
        Kind::Enum(e) => e.full_name().into(),
    }
}

/// A field's type as the reference writes it: `map<K, V>` for a map (the sign-in reference has
/// two), else [`kind_name`].
fn field_type(d: &prost_reflect::FieldDescriptor) -> String {
    match d.kind() {
        Kind::Message(entry) if d.is_map() => {
            format!(
                "map<{}, {}>",
                kind_name(&entry.map_entry_key_field().kind()),
                kind_name(&entry.map_entry_value_field().kind())
            )
        }
        kind => kind_name(&kind),
    }
}

/// protoc's default JSON name: lowerCamelCase of the field name.
fn default_json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn str_of<'a>(v: &'a Value, key: &str, at: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("wire reference: {at}: `{key}` is not a string"))
}

fn int_of(v: &Value, key: &str, at: &str) -> i64 {
    v[key].as_i64().unwrap_or_else(|| panic!("wire reference: {at}: `{key}` is not an integer"))
}

fn bool_of(v: &Value, key: &str, at: &str) -> bool {
    v[key].as_bool().unwrap_or_else(|| panic!("wire reference: {at}: `{key}` is not a boolean"))
}

fn array_of<'a>(v: &'a Value, key: &str, at: &str) -> &'a [Value] {
    v[key].as_array().map(Vec::as_slice).unwrap_or_else(|| panic!("wire reference: {at}: `{key}` is not an array"))
}

fn object_of<'a>(v: &'a Value, key: &str, at: &str) -> &'a serde_json::Map<String, Value> {
    static EMPTY: std::sync::OnceLock<serde_json::Map<String, Value>> = std::sync::OnceLock::new();
    match &v[key] {
        Value::Object(o) => o,
        // `"services": null` for files without services.
        Value::Null => EMPTY.get_or_init(serde_json::Map::new),
        _ => panic!("wire reference: {at}: `{key}` is not an object"),
    }
}

/// Reports a different order of the same names (only when both sides hold the same set; missing
/// and extra names are reported on their own).
fn check_order(diffs: &mut Vec<String>, at: &str, what: &str, ours: Vec<String>, theirs: Vec<String>) {
    let (a, b): (BTreeSet<_>, BTreeSet<_>) = (ours.iter().collect(), theirs.iter().collect());
    if a == b && ours != theirs {
        diffs.push(format!("{at}: {what} order [{}] expected [{}]", ours.join(", "), theirs.join(", ")));
    }
}

/// Every difference between the descriptor pool and the wire reference, one line each.
fn differences(pool: &DescriptorPool, wire: &Value) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut expected_files = BTreeSet::new();
    let mut expected_messages = BTreeSet::new();
    let mut expected_enums = BTreeSet::new();
    let mut expected_services = BTreeSet::new();

    for (file, spec) in object_of(wire, "files", "root") {
        expected_files.insert(file.clone());
        let Some(fd) = pool.get_file_by_name(file) else {
            diffs.push(format!("file {file}: missing"));
            continue;
        };
        if fd.package_name() != "gitpod.v1" {
            diffs.push(format!("file {file}: package {} expected gitpod.v1", fd.package_name()));
        }
        if fd.syntax() != Syntax::Proto3 {
            diffs.push(format!("file {file}: syntax {:?} expected proto3", fd.syntax()));
        }
        // The reference lists the imports of the full upstream files; ours may need fewer, never
        // others. `buf/validate/validate.proto` too: the real descriptors (REAL_REFERENCES) carry
        // rules in files whose imports wire.json gives without it. (The access reference does not
        // list imports.)
        if !spec["imports"].is_null() {
            let imports: Vec<&str> = array_of(spec, "imports", file).iter().map(|i| i.as_str().unwrap()).collect();
            for dep in fd.dependencies() {
                if !imports.contains(&dep.name()) && dep.name() != "buf/validate/validate.proto" {
                    diffs.push(format!("file {file}: import {} not in the wire reference", dep.name()));
                }
            }
        }

        // Messages and their fields.
        for (name, msg) in object_of(spec, "messages", file) {
            expected_messages.insert(name.clone());
            let Some(m) = pool.get_message_by_name(name) else {
                diffs.push(format!("message {name}: missing"));
                continue;
            };
            if m.parent_file().name() != file {
                diffs.push(format!("message {name}: in {}, expected {file}", m.parent_file().name()));
            }
            let fields = array_of(msg, "fields", name);
            for f in fields {
                let fname = str_of(f, "name", name);
                let at = format!("field {name}.{fname}");
                let Some(d) = m.get_field_by_name(fname) else {
                    diffs.push(format!("{at}: missing"));
                    continue;
                };
                let number = int_of(f, "number", &at);
                if i64::from(d.number()) != number {
                    diffs.push(format!("{at}: number {} expected {number}", d.number()));
                }
                let ty = field_type(&d);
                let expected_ty = str_of(f, "type", &at);
                if ty != expected_ty {
                    diffs.push(format!("{at}: type {ty} expected {expected_ty}"));
                }
                let proto = d.field_descriptor_proto();
                let label = if d.is_map() {
                    "map"
                } else if d.is_list() {
                    "repeated"
                } else if proto.proto3_optional() {
                    "optional"
                } else {
                    "singular"
                };
                let expected_label = str_of(f, "label", &at);
                if label != expected_label {
                    diffs.push(format!("{at}: label {label} expected {expected_label}"));
                }
                // proto3 `optional` lives in a synthetic oneof; anything else must not.
                let synthetic = d.containing_oneof().is_some_and(|o| o.is_synthetic());
                if synthetic != proto.proto3_optional() {
                    diffs.push(format!(
                        "{at}: synthetic oneof {synthetic} but proto3_optional {}",
                        proto.proto3_optional()
                    ));
                }
                // Real oneof membership. For an `optional` field the reference may name the synthetic
                // oneof (or give null): that is presence, checked by the label above.
                let oneof = d.containing_oneof().filter(|o| !o.is_synthetic()).map(|o| o.name().to_owned());
                let expected_oneof = if expected_label == "optional" { None } else { f["oneof"].as_str() };
                if oneof.as_deref() != expected_oneof {
                    diffs.push(format!(
                        "{at}: oneof {} expected {}",
                        oneof.as_deref().unwrap_or("none"),
                        expected_oneof.unwrap_or("none")
                    ));
                }
                let deprecated = proto.options.as_ref().is_some_and(|o| o.deprecated());
                let expected_deprecated = bool_of(f, "deprecated", &at);
                if deprecated != expected_deprecated {
                    diffs.push(format!("{at}: deprecated {deprecated} expected {expected_deprecated}"));
                }
                let json_name = f["json_name"].as_str().map_or_else(|| default_json_name(fname), str::to_owned);
                if d.json_name() != json_name {
                    diffs.push(format!("{at}: json_name {} expected {json_name}", d.json_name()));
                }
            }
            for d in m.fields() {
                if !fields.iter().any(|f| f["name"] == d.name()) {
                    diffs.push(format!("field {name}.{}: not in the wire reference", d.name()));
                }
            }
            check_order(
                &mut diffs,
                &format!("message {name}"),
                "field",
                m.descriptor_proto().field.iter().map(|d| d.name().to_owned()).collect(),
                fields.iter().map(|f| str_of(f, "name", name).to_owned()).collect(),
            );
        }

        // Enums and their values.
        for (name, values) in object_of(spec, "enums", file) {
            expected_enums.insert(name.clone());
            let Some(e) = pool.get_enum_by_name(name) else {
                diffs.push(format!("enum {name}: missing"));
                continue;
            };
            if e.parent_file().name() != file {
                diffs.push(format!("enum {name}: in {}, expected {file}", e.parent_file().name()));
            }
            let values = values.as_array().unwrap_or_else(|| panic!("wire reference: enum {name} is not an array"));
            for v in values {
                let vname = str_of(v, "name", name);
                let at = format!("enum value {name}.{vname}");
                let Some(d) = e.get_value_by_name(vname) else {
                    diffs.push(format!("{at}: missing"));
                    continue;
                };
                let number = int_of(v, "number", &at);
                if i64::from(d.number()) != number {
                    diffs.push(format!("{at}: number {} expected {number}", d.number()));
                }
                let deprecated = d.enum_value_descriptor_proto().options.as_ref().is_some_and(|o| o.deprecated());
                let expected_deprecated = bool_of(v, "deprecated", &at);
                if deprecated != expected_deprecated {
                    diffs.push(format!("{at}: deprecated {deprecated} expected {expected_deprecated}"));
                }
            }
            for d in e.values() {
                if !values.iter().any(|v| v["name"] == d.name()) {
                    diffs.push(format!("enum value {name}.{}: not in the wire reference", d.name()));
                }
            }
            check_order(
                &mut diffs,
                &format!("enum {name}"),
                "value",
                e.enum_descriptor_proto().value.iter().map(|d| d.name().to_owned()).collect(),
                values.iter().map(|v| str_of(v, "name", name).to_owned()).collect(),
            );
        }

        // Services and their RPCs.
        let full_names = object_of(spec, "service_full_names", file);
        for (service, rpcs) in object_of(spec, "services", file) {
            let full = match full_names.get(service).and_then(Value::as_str) {
                Some(full) => full.to_owned(),
                None => format!("gitpod.v1.{service}"),
            };
            expected_services.insert(full.clone());
            let Some(s) = pool.get_service_by_name(&full) else {
                diffs.push(format!("service {full}: missing"));
                continue;
            };
            if s.parent_file().name() != file {
                diffs.push(format!("service {full}: in {}, expected {file}", s.parent_file().name()));
            }
            let rpcs = rpcs.as_array().unwrap_or_else(|| panic!("wire reference: service {full} is not an array"));
            for r in rpcs {
                let rname = str_of(r, "name", &full);
                let at = format!("rpc {full}/{rname}");
                let Some(m) = s.methods().find(|m| m.name() == rname) else {
                    diffs.push(format!("{at}: missing"));
                    continue;
                };
                let request = str_of(r, "request", &at);
                if m.input().full_name() != request {
                    diffs.push(format!("{at}: request {} expected {request}", m.input().full_name()));
                }
                let response = str_of(r, "response", &at);
                if m.output().full_name() != response {
                    diffs.push(format!("{at}: response {} expected {response}", m.output().full_name()));
                }
                let kind = match (m.is_client_streaming(), m.is_server_streaming()) {
                    (false, false) => "unary",
                    (false, true) => "server_streaming",
                    (true, false) => "client_streaming",
                    (true, true) => "bidi_streaming",
                };
                let expected_kind = r["method_kind"].as_str().unwrap_or("unary");
                if kind != expected_kind {
                    diffs.push(format!("{at}: {kind} expected {expected_kind}"));
                }
                if let Some(expected) = r["idempotency_level"].as_str() {
                    let level =
                        m.method_descriptor_proto().options.as_ref().map_or(0, |o| o.idempotency_level.unwrap_or(0));
                    let level = prost_reflect::prost_types::method_options::IdempotencyLevel::try_from(level)
                        .map_or("invalid", |l| l.as_str_name());
                    if level != expected {
                        diffs.push(format!("{at}: idempotency level {level} expected {expected}"));
                    }
                }
            }
            for m in s.methods() {
                if !rpcs.iter().any(|r| r["name"] == m.name()) {
                    diffs.push(format!("rpc {full}/{}: not in the wire reference", m.name()));
                }
            }
            check_order(
                &mut diffs,
                &format!("service {full}"),
                "rpc",
                s.service_descriptor_proto().method.iter().map(|m| m.name().to_owned()).collect(),
                rpcs.iter().map(|r| str_of(r, "name", &full).to_owned()).collect(),
            );
        }
    }

    // Nothing extra in the descriptor set, the imported well-known-type files aside.
    for f in pool.files().filter(|f| !outside_reference(f.name())) {
        if !expected_files.contains(f.name()) {
            diffs.push(format!("file {}: not in the wire reference", f.name()));
        }
    }
    // A map field's entry message is part of the field (`map<K, V>`), not an item of its own.
    for m in pool.all_messages().filter(|m| !outside_reference(m.parent_file().name()) && !m.is_map_entry()) {
        if !expected_messages.contains(m.full_name()) {
            diffs.push(format!("message {}: not in the wire reference", m.full_name()));
        }
    }
    for e in pool.all_enums().filter(|e| !outside_reference(e.parent_file().name())) {
        if !expected_enums.contains(e.full_name()) {
            diffs.push(format!("enum {}: not in the wire reference", e.full_name()));
        }
    }
    for s in pool.services().filter(|s| !outside_reference(s.parent_file().name())) {
        if !expected_services.contains(s.full_name()) {
            diffs.push(format!("service {}: not in the wire reference", s.full_name()));
        }
    }
    for x in pool.all_extensions().filter(|x| !outside_reference(x.parent_file().name())) {
        diffs.push(format!("extension {}: not in the wire reference", x.full_name()));
    }
    diffs
}

/// The idempotency level as the real references write it.
fn idempotency_level(m: &prost_reflect::MethodDescriptor) -> &'static str {
    use prost_reflect::prost_types::method_options::IdempotencyLevel;
    match m.method_descriptor_proto().options.as_ref().map(|o| o.idempotency_level()) {
        Some(IdempotencyLevel::NoSideEffects) => "NO_SIDE_EFFECTS",
        Some(IdempotencyLevel::Idempotent) => "IDEMPOTENT",
        _ => "IDEMPOTENCY_UNKNOWN",
    }
}

/// The field's `(buf.validate.field)` rules as protobuf text (fields in number order, one space
/// between tokens), or `None` without rules.
fn rules_text(pool: &DescriptorPool, field: &prost_reflect::FieldDescriptor) -> Option<String> {
    let extension = pool.get_extension_by_name("buf.validate.field").expect("buf.validate is in the descriptor set");
    let options = field.options();
    if !options.has_extension(&extension) {
        return None;
    }
    let mut out = String::new();
    write_text(&mut out, options.get_extension(&extension).as_message().expect("FieldRules is a message"));
    Some(out.trim_end().to_owned())
}

fn write_text(out: &mut String, message: &prost_reflect::DynamicMessage) {
    use prost_reflect::Value;
    let mut fields: Vec<_> = message.fields().collect();
    fields.sort_by_key(|(f, _)| f.number());
    for (field, value) in fields {
        let values = match value {
            Value::List(items) => items.iter().collect(),
            other => vec![other],
        };
        for v in values {
            match v {
                Value::Message(m) => {
                    out.push_str(&format!("{} {{ ", field.name()));
                    write_text(out, m);
                    out.push_str("} ");
                }
                Value::EnumNumber(n) => {
                    let Kind::Enum(e) = field.kind() else { unreachable!("an enum number of an enum field") };
                    let name = e.get_value(*n).map_or_else(|| n.to_string(), |v| v.name().to_owned());
                    out.push_str(&format!("{}: {name} ", field.name()));
                }
                Value::String(text) => {
                    out.push_str(&format!(
                        "{}: \"{}\" ",
                        field.name(),
                        text.replace('\\', "\\\\").replace('"', "\\\"")
                    ));
                }
                other => out.push_str(&format!("{}: {other} ", field.name())),
            }
        }
    }
}

/// A reference's rule text in the same form: one space between tokens, and the two `Ignore`
/// values of protovalidate before 1.0 (`IGNORE_IF_UNPOPULATED`, `IGNORE_IF_DEFAULT_VALUE`) as the
/// one value 1.0 merged them into: for proto3 fields both meant "skip the zero value".
fn normalized_rules(text: &str) -> String {
    text.split_whitespace()
        .map(|t| match t {
            "IGNORE_IF_UNPOPULATED" | "IGNORE_IF_DEFAULT_VALUE" => "IGNORE_IF_ZERO_VALUE",
            t => t,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every difference between the descriptor pool and one reference from the real descriptors,
/// for the items it lists (it lists what its services reach, not the whole API).
fn real_differences(pool: &DescriptorPool, reference: &Value) -> Vec<String> {
    let mut diffs = Vec::new();
    for (file, spec) in object_of(reference, "files", "root") {
        for (service, rpcs) in object_of(spec, "services", file) {
            let full = format!("gitpod.v1.{service}");
            let Some(s) = pool.get_service_by_name(&full) else {
                diffs.push(format!("service {full}: missing"));
                continue;
            };
            for r in rpcs.as_array().unwrap_or_else(|| panic!("reference: service {full} is not an array")) {
                let rname = str_of(r, "name", &full);
                let at = format!("rpc {full}/{rname}");
                let Some(m) = s.methods().find(|m| m.name() == rname) else {
                    diffs.push(format!("{at}: missing"));
                    continue;
                };
                for (what, ours, theirs) in [
                    ("request", m.input().full_name().to_owned(), str_of(r, "request", &at)),
                    ("response", m.output().full_name().to_owned(), str_of(r, "response", &at)),
                    ("idempotency level", idempotency_level(&m).to_owned(), str_of(r, "idempotency_level", &at)),
                    ("path", format!("/{full}/{rname}"), str_of(r, "http_path", &at)),
                ] {
                    if ours != theirs {
                        diffs.push(format!("{at}: {what} {ours} expected {theirs}"));
                    }
                }
                let kind = match (m.is_client_streaming(), m.is_server_streaming()) {
                    (false, false) => "unary",
                    (false, true) => "server_streaming",
                    (true, false) => "client_streaming",
                    (true, true) => "bidi_streaming",
                };
                let expected_kind = str_of(r, "method_kind", &at);
                if kind != expected_kind {
                    diffs.push(format!("{at}: {kind} expected {expected_kind}"));
                }
            }
        }
        for (name, msg) in object_of(spec, "messages", file) {
            let Some(m) = pool.get_message_by_name(name) else {
                diffs.push(format!("message {name}: missing"));
                continue;
            };
            let fields = array_of(msg, "fields", name);
            for f in fields {
                let fname = str_of(f, "name", name);
                let at = format!("field {name}.{fname}");
                let Some(d) = m.get_field_by_name(fname) else {
                    diffs.push(format!("{at}: missing"));
                    continue;
                };
                if i64::from(d.number()) != int_of(f, "number", &at) {
                    diffs.push(format!("{at}: number {} expected {}", d.number(), f["number"]));
                }
                let ty = field_type(&d);
                if ty != str_of(f, "type", &at) {
                    diffs.push(format!("{at}: type {ty} expected {}", f["type"]));
                }
                let json_name = str_of(f, "json_name", &at);
                if d.json_name() != json_name {
                    diffs.push(format!("{at}: json_name {} expected {json_name}", d.json_name()));
                }
                let ours = rules_text(pool, &d);
                let theirs = f["validation"].as_str().map(normalized_rules);
                if ours != theirs {
                    diffs.push(format!(
                        "{at}: rules {} expected {}",
                        ours.as_deref().unwrap_or("none"),
                        theirs.as_deref().unwrap_or("none")
                    ));
                }
            }
            for d in m.fields() {
                if !fields.iter().any(|f| f["name"] == d.name()) {
                    diffs.push(format!("field {name}.{}: not in the reference", d.name()));
                }
            }
        }
    }
    diffs
}

fn pool() -> DescriptorPool {
    DescriptorPool::decode(gitpod_api::FILE_DESCRIPTOR_SET).expect("FILE_DESCRIPTOR_SET decodes")
}

/// The reference: the runner services' wire reference with the access reference's files (those
/// of [`ACCESS_FILES`]) merged in, in the first one's shape. A file both describe gets the items
/// of both; an item both describe is taken from the access reference, which has JSON names and
/// idempotency levels. Its enums (`{"values": [..]}`, no deprecation) become value arrays.
fn wire() -> Value {
    let mut wire: Value = serde_json::from_str(WIRE).expect("the wire reference is JSON");
    let access: Value = serde_json::from_str(WIRE_ACCESS).expect("the access reference is JSON");
    merge(&mut wire, &access, &ACCESS_FILES);
    let events: Value = serde_json::from_str(WIRE_EVENTS).expect("the events reference is JSON");
    merge(&mut wire, &events, &EVENTS_FILES);
    let sso: Value = serde_json::from_str(WIRE_SSO).expect("the sign-in reference is JSON");
    merge(&mut wire, &sso, &SSO_FILES);
    wire
}

fn merge(wire: &mut Value, access: &Value, files: &[&str]) {
    for (file, spec) in object_of(access, "files", "access root") {
        if !files.contains(&file.as_str()) {
            continue;
        }
        let target = wire["files"]
            .as_object_mut()
            .expect("files")
            .entry(file.clone())
            .or_insert_with(|| serde_json::json!({"messages": {}, "enums": {}, "services": {}}));
        for (name, item) in object_of(spec, "messages", file) {
            if target["messages"].is_null() {
                target["messages"] = serde_json::json!({});
            }
            target["messages"][name.as_str()] = item.clone();
        }
        // A service both describe gets the methods of both, the earlier reference's first (the
        // sign-in reference adds nine methods to OrganizationService).
        for (name, item) in object_of(spec, "services", file) {
            if target["services"].is_null() {
                target["services"] = serde_json::json!({});
            }
            let methods = &mut target["services"][name.as_str()];
            match methods.as_array_mut() {
                Some(known) => {
                    let added =
                        item.as_array().unwrap_or_else(|| panic!("wire reference: service {name} is not an array"));
                    for m in added {
                        known.retain(|k| k["name"] != m["name"]);
                        known.push(m.clone());
                    }
                }
                None => *methods = item.clone(),
            }
        }
        for (name, item) in object_of(spec, "enums", file) {
            let values: Vec<Value> = array_of(item, "values", name)
                .iter()
                .map(|v| serde_json::json!({"name": v["name"], "number": v["number"], "deprecated": false}))
                .collect();
            if target["enums"].is_null() {
                target["enums"] = serde_json::json!({});
            }
            target["enums"][name.as_str()] = Value::Array(values);
        }
    }
}

#[test]
fn descriptor_matches_the_wire_reference() {
    let (pool, wire) = (pool(), wire());
    let diffs = differences(&pool, &wire);
    for d in &diffs {
        println!("{d}");
    }
    assert!(diffs.is_empty(), "{} differences from the wire reference (printed above)", diffs.len());

    // The counts, from the descriptor set itself (outside the imported well-known types).
    let ours = |file: &str| !outside_reference(file);
    let messages = pool.all_messages().filter(|m| ours(m.parent_file().name()) && !m.is_map_entry()).count();
    let enums = pool.all_enums().filter(|e| ours(e.parent_file().name())).count();
    let methods = |name: &str| pool.get_service_by_name(name).map_or(0, |s| s.methods().len());
    let runner = methods("gitpod.v1.RunnerService");
    let configuration = methods("gitpod.v1.RunnerConfigurationService");
    let rpcs: usize = pool.services().filter(|s| ours(s.parent_file().name())).map(|s| s.methods().len()).sum();
    // The runner services' 127 messages, 16 enums and 37 RPCs, and the access services' 107
    // messages, 11 enums and 42 RPCs (Subject, PaginationRequest, PaginationResponse and
    // Principal are in both), and the events reference's 15 messages, 6 enums and 3 RPCs
    // (Principal, ResourceType, SortOrder and the two pagination messages are already there), and
    // the sign-in reference's 37 messages, 5 enums and 13 RPCs (OrganizationMember, the two
    // pagination messages, OrganizationRole, OrganizationTier and UserStatus are already there).
    assert_eq!((messages, enums, rpcs), (278, 31, 95), "(messages, enums, RPCs)");
    assert_eq!((runner, configuration), (16, 21), "RPCs of (RunnerService, RunnerConfigurationService)");
    // And the references agree with themselves.
    let counts = &wire["counts"];
    assert_eq!(
        (counts["messages"].as_u64(), counts["enums"].as_u64(), counts["rpcs"].as_u64()),
        (Some(127), Some(16), Some(37))
    );
    let access: Value = serde_json::from_str(WIRE_ACCESS).unwrap();
    let counts = &access["counts"];
    assert_eq!(
        (counts["messages"].as_u64(), counts["enums"].as_u64(), counts["rpcs"].as_u64()),
        (Some(107), Some(11), Some(42))
    );
    let sso: Value = serde_json::from_str(WIRE_SSO).unwrap();
    let counts = &sso["counts"];
    assert_eq!(
        (counts["messages"].as_u64(), counts["enums"].as_u64(), counts["rpcs"].as_u64()),
        (Some(37), Some(5), Some(13))
    );

    // The well-known types are there, as imports.
    for wkt in ["google/protobuf/duration.proto", "google/protobuf/timestamp.proto"] {
        assert!(pool.get_file_by_name(wkt).is_some(), "{wkt} is in FILE_DESCRIPTOR_SET");
    }

    // SERVICE_NAMES lists exactly the services of the descriptor set.
    let mut services: Vec<String> =
        pool.services().filter(|s| ours(s.parent_file().name())).map(|s| s.full_name().to_owned()).collect();
    services.sort();
    let mut names: Vec<String> = gitpod_api::SERVICE_NAMES.iter().map(|s| s.to_string()).collect();
    names.sort();
    assert_eq!(names, services, "gitpod_api::SERVICE_NAMES");
    assert_eq!(
        names,
        [
            "gitpod.v1.AccountService",
            "gitpod.v1.EventService",
            "gitpod.v1.GroupService",
            "gitpod.v1.IdentityService",
            "gitpod.v1.OrganizationService",
            "gitpod.v1.RunnerConfigurationService",
            "gitpod.v1.RunnerService",
            "gitpod.v1.ServiceAccountService",
            "gitpod.v1.UserService",
        ]
    );

    // The runner-side services, from our own files.
    let mut own: Vec<String> = pool
        .services()
        .filter(|s| OWN_FILES.contains(&s.parent_file().name()))
        .map(|s| s.full_name().to_owned())
        .collect();
    own.sort();
    let mut names: Vec<String> = gitpod_api::RUNNER_SIDE_SERVICE_NAMES.iter().map(|s| s.to_string()).collect();
    names.sort();
    assert_eq!(names, own, "gitpod_api::RUNNER_SIDE_SERVICE_NAMES");
}

#[test]
fn descriptor_matches_the_real_references() {
    let pool = pool();
    let mut rpcs_with_get = Vec::new();
    for (name, text) in REAL_REFERENCES {
        let reference: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
        let diffs = real_differences(&pool, &reference);
        for d in &diffs {
            println!("{name}: {d}");
        }
        assert!(diffs.is_empty(), "{} differences from {name} (printed above)", diffs.len());
        let rules = object_of(&reference, "files", name)
            .values()
            .flat_map(|f| object_of(f, "messages", name).values())
            .flat_map(|m| array_of(m, "fields", name))
            .filter(|f| f["validation"].is_string())
            .count();
        println!("{name}: {rules} field rules compared");
        for (file, spec) in object_of(&reference, "files", name) {
            for rpcs in object_of(spec, "services", file).values() {
                for r in rpcs.as_array().unwrap() {
                    if r["idempotency_level"] == "NO_SIDE_EFFECTS" {
                        rpcs_with_get.push(str_of(r, "name", file).to_owned());
                    }
                }
            }
        }
    }
    // Exactly the twelve Get/List methods of the runner services, sixteen of the access
    // services, the two audit log reads of EventService and seven of the sign-in methods
    // (GetOrganizationInvite is not: it makes an invite when there is none) are free of side
    // effects (GetIDToken is not: each call signs a new token), in the references and in the
    // descriptor set alike.
    rpcs_with_get.sort();
    let expected = [
        "GetAccount",
        "GetAuditLog",
        "GetAuthenticatedIdentity",
        "GetAuthenticatedUser",
        "GetEnvironmentClass",
        "GetGroup",
        "GetHostAuthenticationToken",
        "GetLLMIntegration",
        "GetMembership",
        "GetOrganization",
        "GetOrganizationInviteSummary",
        "GetPersonalAccessToken",
        "GetRunner",
        "GetRunnerConfigurationSchema",
        "GetSCMIntegration",
        "GetSSOConfiguration",
        "GetSSOLoginURL",
        "GetServiceAccount",
        "GetServiceAccountToken",
        "GetUser",
        "ListAuditLogs",
        "ListEnvironmentClasses",
        "ListGroups",
        "ListHostAuthenticationTokens",
        "ListJoinableOrganizations",
        "ListLLMIntegrations",
        "ListLoginProviders",
        "ListMembers",
        "ListMemberships",
        "ListPersonalAccessTokens",
        "ListRoleAssignments",
        "ListRunnerPolicies",
        "ListRunners",
        "ListSCMIntegrations",
        "ListSSOConfigurations",
        "ListServiceAccountTokens",
        "ListServiceAccounts",
    ];
    assert_eq!(rpcs_with_get, expected);
    let mut ours: Vec<String> = pool
        .services()
        .filter(|s| s.package_name() == "gitpod.v1")
        .flat_map(|s| s.methods().collect::<Vec<_>>())
        .filter(|m| idempotency_level(m) == "NO_SIDE_EFFECTS")
        .map(|m| m.name().to_owned())
        .collect();
    ours.sort();
    assert_eq!(ours, expected);
}

/// The comparison with the real references is not vacuous either.
#[test]
fn the_real_comparison_catches_differences() {
    let (_, text) = REAL_REFERENCES[0];
    let mut reference: Value = serde_json::from_str(text).unwrap();
    let file = &mut reference["files"]["gitpod/v1/runner.proto"];
    let rpcs = file["services"]["RunnerService"].as_array_mut().unwrap();
    assert_eq!((&rpcs[1]["name"], &rpcs[1]["idempotency_level"]), (&"GetRunner".into(), &"NO_SIDE_EFFECTS".into()));
    rpcs[1]["idempotency_level"] = "IDEMPOTENCY_UNKNOWN".into();
    rpcs[0]["idempotency_level"] = "NO_SIDE_EFFECTS".into();
    let fields = file["messages"]["gitpod.v1.GetRunnerRequest"]["fields"].as_array_mut().unwrap();
    fields[0]["json_name"] = "runner_id".into();
    fields[0]["validation"] = "string {   min_len: 1 }".into();
    let fields = file["messages"]["gitpod.v1.CreateRunnerRequest"]["fields"].as_array_mut().unwrap();
    assert_eq!(fields[4]["name"], "runner_manager_id");
    fields[4]["validation"] = "string {   uuid: true }".into();
    let fields = file["messages"]["gitpod.v1.DeleteRunnerRequest"]["fields"].as_array_mut().unwrap();
    fields[0]["validation"] = Value::Null;
    let mut diffs = real_differences(&pool(), &reference);
    diffs.sort();
    assert_eq!(
        diffs,
        [
            "field gitpod.v1.CreateRunnerRequest.runner_manager_id: rules string { uuid: true } ignore: \
             IGNORE_IF_ZERO_VALUE expected string { uuid: true }",
            "field gitpod.v1.DeleteRunnerRequest.runner_id: rules string { uuid: true } expected none",
            "field gitpod.v1.GetRunnerRequest.runner_id: json_name runnerId expected runner_id",
            "field gitpod.v1.GetRunnerRequest.runner_id: rules string { uuid: true } expected string { min_len: 1 }",
            "rpc gitpod.v1.RunnerService/CreateRunner: idempotency level IDEMPOTENCY_UNKNOWN expected NO_SIDE_EFFECTS",
            "rpc gitpod.v1.RunnerService/GetRunner: idempotency level NO_SIDE_EFFECTS expected IDEMPOTENCY_UNKNOWN",
        ]
    );
}

/// The runner-side files are ours, and say so where a reader starts: in the header comment.
#[test]
fn own_files_say_so() {
    let protos = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
    for file in OWN_FILES {
        let text = std::fs::read_to_string(protos.join(file)).unwrap();
        let header: String = text.lines().take_while(|l| l.starts_with("//")).collect::<Vec<_>>().join("\n");
        assert!(header.contains("NOT a reconstruction"), "{file}");
        assert!(header.contains("field number in this file is ours"), "{file}");
        let fd = pool().get_file_by_name(file).unwrap_or_else(|| panic!("{file} is compiled"));
        // Nothing we made up sits in the real namespace.
        assert_eq!(fd.package_name(), "runnerside.v1", "{file}");
    }
}

/// The comparison is not vacuous: a reference changed in memory gives exactly those differences.
#[test]
fn the_comparison_catches_differences() {
    let mut wire = wire();
    let file = &mut wire["files"]["gitpod/v1/runner.proto"];
    // A field number: GetRunnerRequest.runner_id is 1.
    let fields = file["messages"]["gitpod.v1.GetRunnerRequest"]["fields"].as_array_mut().unwrap();
    assert_eq!((&fields[0]["name"], &fields[0]["number"]), (&"runner_id".into(), &1.into()));
    fields[0]["number"] = 7.into();
    // A label: UpdateRunnerRequest.name is proto3 `optional`.
    let fields = file["messages"]["gitpod.v1.UpdateRunnerRequest"]["fields"].as_array_mut().unwrap();
    assert_eq!((&fields[1]["name"], &fields[1]["label"]), (&"name".into(), &"optional".into()));
    fields[1]["label"] = "singular".into();
    // An enum value removed: the last RunnerPhase value.
    let removed = file["enums"]["gitpod.v1.RunnerPhase"].as_array_mut().unwrap().pop().unwrap();
    assert_eq!(removed["name"], "RUNNER_PHASE_DEGRADED");
    // A field the descriptor does not have.
    let fields = file["messages"]["gitpod.v1.GetRunnerRequest"]["fields"].as_array_mut().unwrap();
    fields.push(serde_json::json!({
        "name": "extra", "number": 99, "type": "string", "label": "singular", "oneof": null, "deprecated": false
    }));
    // An RPC response.
    file["services"]["RunnerService"][1]["response"] = "gitpod.v1.ListRunnersResponse".into();
    // A message the reference no longer lists.
    file["messages"].as_object_mut().unwrap().remove("gitpod.v1.DeleteRunnerResponse").unwrap();
    // Declaration order: PaginationRequest declares page_size, then token.
    let file = &mut wire["files"]["gitpod/v1/pagination.proto"];
    file["messages"]["gitpod.v1.PaginationRequest"]["fields"].as_array_mut().unwrap().swap(0, 1);

    // From the access reference: a JSON name and an idempotency level.
    let file = &mut wire["files"]["gitpod/v1/identity.proto"];
    let fields = file["messages"]["gitpod.v1.ExchangeTokenRequest"]["fields"].as_array_mut().unwrap();
    assert_eq!(fields[0]["json_name"], "exchangeToken");
    fields[0]["json_name"] = "exchange_token".into();
    let rpc = &mut file["services"]["IdentityService"][1];
    assert_eq!(
        (&rpc["name"], &rpc["idempotency_level"]),
        (&"GetAuthenticatedIdentity".into(), &"NO_SIDE_EFFECTS".into())
    );
    rpc["idempotency_level"] = "IDEMPOTENT".into();

    let mut diffs = differences(&pool(), &wire);
    diffs.sort();
    assert_eq!(
        diffs,
        [
            "enum value gitpod.v1.RunnerPhase.RUNNER_PHASE_DEGRADED: not in the wire reference",
            "field gitpod.v1.ExchangeTokenRequest.exchange_token: json_name exchangeToken expected exchange_token",
            "field gitpod.v1.GetRunnerRequest.extra: missing",
            "field gitpod.v1.GetRunnerRequest.runner_id: number 1 expected 7",
            "field gitpod.v1.UpdateRunnerRequest.name: label optional expected singular",
            "message gitpod.v1.DeleteRunnerResponse: not in the wire reference",
            "message gitpod.v1.PaginationRequest: field order [page_size, token] expected [token, page_size]",
            "rpc gitpod.v1.IdentityService/GetAuthenticatedIdentity: idempotency level NO_SIDE_EFFECTS expected IDEMPOTENT",
            "rpc gitpod.v1.RunnerService/GetRunner: response gitpod.v1.GetRunnerResponse expected gitpod.v1.ListRunnersResponse",
        ]
    );
}
