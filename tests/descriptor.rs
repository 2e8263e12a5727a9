//! The compiled descriptor set against the wire reference (`tests/data/gitpod-v1-wire.json`, a
//! copy of `shared/spec/wire.json`), item by item: every message, field (name, number, type,
//! label, oneof, deprecation), enum value and RPC. Every difference is printed; any fails.

use prost_reflect::{DescriptorPool, Kind};
use serde_json::Value;

const WIRE: &str = include_str!("data/gitpod-v1-wire.json");

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

/// Every difference between the descriptor pool and the wire reference.
fn differences(pool: &DescriptorPool, wire: &Value) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut expected_messages = std::collections::BTreeSet::new();
    let mut expected_enums = std::collections::BTreeSet::new();
    let mut expected_services = std::collections::BTreeSet::new();
    for (file, spec) in wire["files"].as_object().unwrap() {
        for (name, msg) in spec["messages"].as_object().unwrap() {
            expected_messages.insert(name.clone());
            let Some(m) = pool.get_message_by_name(name) else {
                diffs.push(format!("message {name}: missing"));
                continue;
            };
            if m.parent_file().name() != file {
                diffs.push(format!("message {name}: in {}, expected {file}", m.parent_file().name()));
            }
            let fields = msg["fields"].as_array().unwrap();
            for f in fields {
                let fname = f["name"].as_str().unwrap();
                let Some(d) = m.get_field_by_name(fname) else {
                    diffs.push(format!("field {name}.{fname}: missing"));
                    continue;
                };
                let at = format!("field {name}.{fname}");
                if i64::from(d.number()) != f["number"].as_i64().unwrap() {
                    diffs.push(format!("{at}: number {} expected {}", d.number(), f["number"]));
                }
                let ty = kind_name(&d.kind());
                if ty != f["type"].as_str().unwrap() {
                    diffs.push(format!("{at}: type {ty} expected {}", f["type"]));
                }
                let proto3_optional = d.field_descriptor_proto().proto3_optional();
                let label = if d.is_list() {
                    "repeated"
                } else if proto3_optional {
                    "optional"
                } else {
                    "singular"
                };
                if label != f["label"].as_str().unwrap() {
                    diffs.push(format!("{at}: label {label} expected {}", f["label"]));
                }
                let oneof = d.containing_oneof().filter(|o| !o.is_synthetic()).map(|o| o.name().to_owned());
                if oneof.as_deref() != f["oneof"].as_str() {
                    diffs.push(format!("{at}: oneof {oneof:?} expected {}", f["oneof"]));
                }
                let deprecated = d.field_descriptor_proto().options.as_ref().is_some_and(|o| o.deprecated());
                if deprecated != f["deprecated"].as_bool().unwrap() {
                    diffs.push(format!("{at}: deprecated {deprecated} expected {}", f["deprecated"]));
                }
            }
            for d in m.fields() {
                if !fields.iter().any(|f| f["name"] == d.name()) {
                    diffs.push(format!("field {name}.{}: not in the wire reference", d.name()));
                }
            }
        }
        for (name, values) in spec["enums"].as_object().unwrap() {
            expected_enums.insert(name.clone());
            let Some(e) = pool.get_enum_by_name(name) else {
                diffs.push(format!("enum {name}: missing"));
                continue;
            };
            if e.parent_file().name() != file {
                diffs.push(format!("enum {name}: in {}, expected {file}", e.parent_file().name()));
            }
            let values = values.as_array().unwrap();
            for v in values {
                let vname = v["name"].as_str().unwrap();
                match e.get_value_by_name(vname) {
                    None => diffs.push(format!("enum value {name}.{vname}: missing")),
                    Some(d) => {
                        if i64::from(d.number()) != v["number"].as_i64().unwrap() {
                            diffs.push(format!(
                                "enum value {name}.{vname}: number {} expected {}",
                                d.number(),
                                v["number"]
                            ));
                        }
                        let deprecated =
                            d.enum_value_descriptor_proto().options.as_ref().is_some_and(|o| o.deprecated());
                        if deprecated != v["deprecated"].as_bool().unwrap() {
                            diffs.push(format!(
                                "enum value {name}.{vname}: deprecated {deprecated} expected {}",
                                v["deprecated"]
                            ));
                        }
                    }
                }
            }
            for d in e.values() {
                if !values.iter().any(|v| v["name"] == d.name()) {
                    diffs.push(format!("enum value {name}.{}: not in the wire reference", d.name()));
                }
            }
        }
        for (service, rpcs) in spec["services"].as_object().unwrap() {
            let full = format!("gitpod.v1.{service}");
            expected_services.insert(full.clone());
            let Some(s) = pool.get_service_by_name(&full) else {
                diffs.push(format!("service {full}: missing"));
                continue;
            };
            if s.parent_file().name() != file {
                diffs.push(format!("service {full}: in {}, expected {file}", s.parent_file().name()));
            }
            let rpcs = rpcs.as_array().unwrap();
            for r in rpcs {
                let rname = r["name"].as_str().unwrap();
                let Some(m) = s.methods().find(|m| m.name() == rname) else {
                    diffs.push(format!("rpc {full}/{rname}: missing"));
                    continue;
                };
                if m.input().full_name() != r["request"].as_str().unwrap() {
                    diffs.push(format!(
                        "rpc {full}/{rname}: request {} expected {}",
                        m.input().full_name(),
                        r["request"]
                    ));
                }
                if m.output().full_name() != r["response"].as_str().unwrap() {
                    diffs.push(format!(
                        "rpc {full}/{rname}: response {} expected {}",
                        m.output().full_name(),
                        r["response"]
                    ));
                }
                if m.is_client_streaming() || m.is_server_streaming() {
                    diffs.push(format!("rpc {full}/{rname}: streaming, expected unary"));
                }
            }
            for m in s.methods() {
                if !rpcs.iter().any(|r| r["name"] == m.name()) {
                    diffs.push(format!("rpc {full}/{}: not in the wire reference", m.name()));
                }
            }
        }
    }
    // Nothing extra in the API's own files (the imported well-known types aside).
    for m in pool.all_messages().filter(|m| m.package_name() == "gitpod.v1") {
        if !expected_messages.contains(m.full_name()) {
            diffs.push(format!("message {}: not in the wire reference", m.full_name()));
        }
    }
    for e in pool.all_enums().filter(|e| e.package_name() == "gitpod.v1") {
        if !expected_enums.contains(e.full_name()) {
            diffs.push(format!("enum {}: not in the wire reference", e.full_name()));
        }
    }
    for s in pool.services().filter(|s| s.package_name() == "gitpod.v1") {
        if !expected_services.contains(s.full_name()) {
            diffs.push(format!("service {}: not in the wire reference", s.full_name()));
        }
    }
    diffs
}

fn pool() -> DescriptorPool {
    DescriptorPool::decode(gitpod_api::FILE_DESCRIPTOR_SET).expect("the descriptor set decodes")
}

#[test]
fn descriptor_matches_the_wire_reference() {
    let wire: Value = serde_json::from_str(WIRE).unwrap();
    let pool = pool();
    let diffs = differences(&pool, &wire);
    for d in &diffs {
        println!("{d}");
    }
    assert!(diffs.is_empty(), "{} differences from the wire reference", diffs.len());

    let messages = pool.all_messages().filter(|m| m.package_name() == "gitpod.v1").count();
    let enums = pool.all_enums().filter(|e| e.package_name() == "gitpod.v1").count();
    assert_eq!((messages, enums), (127, 16));
    let methods = |name: &str| pool.get_service_by_name(name).unwrap().methods().count();
    assert_eq!(methods("gitpod.v1.RunnerService"), 16);
    assert_eq!(methods("gitpod.v1.RunnerConfigurationService"), 21);
    let services: Vec<String> =
        pool.services().filter(|s| s.package_name() == "gitpod.v1").map(|s| s.full_name().to_owned()).collect();
    let mut expected: Vec<String> = gitpod_api::SERVICE_NAMES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    let mut services = services;
    services.sort();
    assert_eq!(services, expected);
}

#[test]
fn the_comparison_catches_differences() {
    let mut wire: Value = serde_json::from_str(WIRE).unwrap();
    let file = &mut wire["files"]["gitpod/v1/runner.proto"];
    // A field number, a label, a removed enum value and a renamed response.
    let fields = file["messages"]["gitpod.v1.GetRunnerRequest"]["fields"].as_array_mut().unwrap();
    fields[0]["number"] = 7.into();
    let fields = file["messages"]["gitpod.v1.UpdateRunnerRequest"]["fields"].as_array_mut().unwrap();
    fields[1]["label"] = "singular".into();
    file["enums"]["gitpod.v1.RunnerPhase"].as_array_mut().unwrap().pop();
    file["services"]["RunnerService"][1]["response"] = "gitpod.v1.ListRunnersResponse".into();
    let mut diffs = differences(&pool(), &wire);
    diffs.sort();
    assert_eq!(
        diffs,
        vec![
            "enum value gitpod.v1.RunnerPhase.RUNNER_PHASE_DEGRADED: not in the wire reference",
            "field gitpod.v1.GetRunnerRequest.runner_id: number 1 expected 7",
            "field gitpod.v1.UpdateRunnerRequest.name: label optional expected \"singular\"",
            "rpc gitpod.v1.RunnerService/GetRunner: response gitpod.v1.GetRunnerResponse expected \"gitpod.v1.ListRunnersResponse\"",
        ]
    );
}
