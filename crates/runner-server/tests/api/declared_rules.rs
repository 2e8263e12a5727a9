//! The validation table, generated from the references of the real descriptors
//! ([`REFERENCES`], copies of `shared/spec/wire-*.json` in `tests/data/`): for every field rule
//! they list, requests built from the rule itself. Each request that breaks it (one per
//! constraint: a malformed UUID, one item too many, a number past each bound, …) must get
//! `invalid_argument` naming the field, with the rule as the BadRequest reason; a request that
//! keeps it must not be refused for it. Both over Connect JSON and gRPC, to every RPC whose
//! request reaches the rule's message.
//!
//! A rule of a kind the generator does not know fails the test, and so does a rule the server
//! does not enforce: adding a rule to a reference without enforcing it cannot pass. Requests are
//! sent to the methods the server serves ([`SERVED_SERVICES`]). Rules of messages no request of
//! a served method reaches (answers, and the requests of services not served yet) are checked on
//! the validator alone: it must refuse a message that breaks them, and accept one that keeps
//! them.

use std::collections::{BTreeMap, VecDeque};

use serde_json::{Value, json};

use runner_server::mount::SERVED_SERVICES;
use runner_testkit::{Client, Protocol, TestServer};

const REFERENCES: &[(&str, &str)] = &[
    ("gitpod-v1-wire-runner-v2.json", include_str!("../../../../tests/data/gitpod-v1-wire-runner-v2.json")),
    ("gitpod-v1-wire-access.json", include_str!("../../../../tests/data/gitpod-v1-wire-access.json")),
    ("gitpod-v1-wire-sso.json", include_str!("../../../../tests/data/gitpod-v1-wire-sso.json")),
];

/// Whether requests to the method at `path` reach its handler: a method of the
/// [`SERVED_SERVICES`] that has a handler (a service not served yet has none: its calls
/// are `unimplemented`).
fn served(path: &str) -> bool {
    let service = path.trim_start_matches('/').split('/').next().unwrap_or_default();
    SERVED_SERVICES.contains(&service) && runner_server::mount::is_served(path)
}

const UUID: &str = "018f0c5e-1b2a-7c3d-8e4f-a0b1c2d3e4f5";

#[derive(Debug, Clone)]
struct Field {
    name: String,
    json_name: String,
    ty: String,
    label: String,
    rule: Option<String>,
}

/// How a request reaches a message: the fields from the request down, each with whether it is a
/// list (one item is sent).
type Steps = Vec<(Field, bool)>;

#[derive(Default)]
struct Model {
    messages: BTreeMap<String, Vec<Field>>,
    enums: BTreeMap<String, Vec<i64>>,
    /// (path, request type)
    rpcs: Vec<(String, String)>,
}

impl Model {
    fn read() -> Model {
        let mut model = Model::default();
        for (name, text) in REFERENCES {
            let reference: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            for file in reference["files"].as_object().unwrap().values() {
                for rpcs in file["services"].as_object().into_iter().flat_map(|s| s.values()) {
                    for rpc in rpcs.as_array().unwrap() {
                        let entry = (
                            rpc["http_path"].as_str().unwrap().to_owned(),
                            rpc["request"].as_str().unwrap().to_owned(),
                        );
                        if served(&entry.0) && !model.rpcs.contains(&entry) {
                            model.rpcs.push(entry);
                        }
                    }
                }
                for (m, spec) in file["messages"].as_object().unwrap() {
                    let fields = spec["fields"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|f| Field {
                            name: f["name"].as_str().unwrap().to_owned(),
                            json_name: f["json_name"].as_str().unwrap().to_owned(),
                            ty: f["type"].as_str().unwrap().to_owned(),
                            label: f["label"].as_str().unwrap().to_owned(),
                            rule: f["validation"].as_str().map(str::to_owned),
                        })
                        .collect();
                    model.messages.insert(m.clone(), fields);
                }
                for (e, values) in file["enums"].as_object().unwrap() {
                    let values = values["values"].as_array().or(values.as_array()).unwrap();
                    model.enums.insert(e.clone(), values.iter().map(|v| v["number"].as_i64().unwrap()).collect());
                }
            }
        }
        model
    }

    /// The shortest way from some RPC's request to `target`: the RPC's path and the steps (field,
    /// repeated) from its request message down to the message.
    fn reach(&self, target: &str) -> Option<(String, Steps)> {
        let mut queue: VecDeque<(String, String, Steps)> =
            self.rpcs.iter().map(|(path, req)| (path.clone(), req.clone(), Vec::new())).collect();
        let mut seen = std::collections::HashSet::new();
        while let Some((path, message, steps)) = queue.pop_front() {
            if message == target {
                return Some((path, steps));
            }
            if !seen.insert((path.clone(), message.clone())) || steps.len() > 4 {
                continue;
            }
            for f in self.messages.get(&message).into_iter().flatten() {
                if self.messages.contains_key(&f.ty) {
                    let mut next = steps.clone();
                    next.push((f.clone(), f.label == "repeated"));
                    queue.push_back((path.clone(), f.ty.clone(), next));
                }
            }
        }
        None
    }
}

/// A rule as protobuf text, parsed: `string { uuid: true } ignore: IGNORE_IF_UNPOPULATED`.
#[derive(Debug, Clone)]
enum Node {
    Scalar(String),
    Message(Vec<(String, Node)>),
}

fn parse_rule(text: &str) -> Vec<(String, Node)> {
    let mut tokens = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            rest = &rest[1..];
        } else if c == '{' || c == '}' || c == ':' {
            tokens.push(c.to_string());
            rest = &rest[1..];
        } else if c == '"' {
            let end = rest[1..].find('"').expect("a closed string") + 2;
            tokens.push(rest[..end].to_owned());
            rest = &rest[end..];
        } else {
            let end = rest.find(|c: char| c.is_whitespace() || "{}:".contains(c)).unwrap_or(rest.len());
            tokens.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    fn message(tokens: &[String], i: &mut usize) -> Vec<(String, Node)> {
        let mut out = Vec::new();
        while *i < tokens.len() && tokens[*i] != "}" {
            let key = tokens[*i].clone();
            *i += 1;
            if tokens[*i] == ":" {
                *i += 1;
            }
            if tokens[*i] == "{" {
                *i += 1;
                out.push((key, Node::Message(message(tokens, i))));
                *i += 1;
            } else {
                out.push((key, Node::Scalar(tokens[*i].clone())));
                *i += 1;
            }
        }
        out
    }
    message(&tokens, &mut 0)
}

fn get<'a>(node: &'a [(String, Node)], key: &str) -> Option<&'a Node> {
    node.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn number(node: &[(String, Node)], key: &str) -> Option<i64> {
    match get(node, key) {
        Some(Node::Scalar(v)) => Some(v.parse().unwrap_or_else(|_| panic!("{key}: {v} is not a number"))),
        _ => None,
    }
}

fn flag(node: &[(String, Node)], key: &str) -> bool {
    matches!(get(node, key), Some(Node::Scalar(v)) if v == "true")
}

/// A value that breaks one constraint: the JSON value (`None`: the field left out), the path
/// suffix the violation has (`[0]` for an item), and the reason it carries.
#[derive(Debug)]
struct Breach {
    value: Option<Value>,
    suffix: String,
    reason: String,
}

/// The breaches of one rule and a value that keeps it (`None`: left out).
struct Plan {
    breaches: Vec<Breach>,
    keeps: Option<Value>,
}

const SCALARS: &[&str] =
    &["int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32", "sfixed64"];

/// What breaks and what keeps the rules of one value (a field's, or each item's), by type.
fn value_plan(
    model: &Model,
    field: &Field,
    kind: &str,
    rules: &[(String, Node)],
    skip_zero: bool,
) -> Result<Plan, String> {
    let reason = |id: &str| format!("{}_{}", kind.to_uppercase(), id.to_uppercase());
    let mut breaches = Vec::new();
    let mut push = |value: Value, reason: String| {
        breaches.push(Breach { value: Some(value), suffix: String::new(), reason });
    };
    let known = |allowed: &[&str]| -> Result<(), String> {
        match rules.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            Some((k, _)) => Err(format!("no generator for {kind}.{k}")),
            None => Ok(()),
        }
    };
    let keeps = match kind {
        "string" => {
            known(&["uuid", "uri", "min_len", "max_len", "email", "pattern"])?;
            let (min, max) = (number(rules, "min_len"), number(rules, "max_len"));
            if let Some(Node::Scalar(quoted)) = get(rules, "pattern") {
                // A value from a few candidates that keeps the pattern (and the lengths), and one that
                // breaks it but keeps the lengths; a pattern none fits is reported.
                let text = quoted.trim_matches('"').replace("\\\\", "\\");
                let re = regex::Regex::new(&text).map_err(|e| format!("string.pattern {text}: {e}"))?;
                let fits = |c: &str| {
                    let n = c.chars().count() as i64;
                    min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m)
                };
                let candidates =
                    ["example.com", "gitpod.io", "a.b.example.org", "localhost", "x y z", "-bad-.com", "abc"];
                let keeps = candidates.into_iter().find(|c| fits(c) && re.is_match(c));
                let breaks = candidates.into_iter().find(|c| fits(c) && !re.is_match(c));
                let (Some(keeps), Some(breaks)) = (keeps, breaks) else {
                    return Err(format!("no candidate value for string.pattern {text}"));
                };
                push(json!(breaks), reason("pattern"));
                if let Some(min) = min.filter(|m| *m > 1 || *m == 1 && !skip_zero) {
                    push(json!("a".repeat(min as usize - 1)), reason("min_len"));
                }
                if let Some(max) = max {
                    push(json!("a".repeat(max as usize + 1)), reason("max_len"));
                }
                return Ok(Plan { breaches, keeps: Some(json!(keeps)) });
            }
            if flag(rules, "uuid") {
                push(json!("not-a-uuid"), reason("uuid"));
            }
            if flag(rules, "uri") {
                push(json!("not a uri"), reason("uri"));
            }
            if flag(rules, "email") {
                push(json!("not-an-email"), reason("email"));
            }
            if let Some(min) = min.filter(|m| *m > 1 || *m == 1 && !skip_zero) {
                push(json!("a".repeat(min as usize - 1)), reason("min_len"));
            }
            if let Some(max) = max {
                push(json!("a".repeat(max as usize + 1)), reason("max_len"));
            }
            if flag(rules, "uuid") {
                json!(UUID)
            } else if flag(rules, "uri") {
                json!("https://github.com/gitpod-io/gitpod")
            } else if flag(rules, "email") {
                json!("someone@example.com")
            } else {
                let len = min.unwrap_or(1).max(3).min(max.unwrap_or(i64::MAX));
                json!("a".repeat(len as usize))
            }
        }
        kind if SCALARS.contains(&kind) => {
            known(&["gte", "lte", "gt", "lt"])?;
            let low = number(rules, "gte").or(number(rules, "gt").map(|g| g + 1));
            let high = number(rules, "lte").or(number(rules, "lt").map(|l| l - 1));
            let id = |bound: &str| {
                let parts: Vec<&str> = ["gt", "gte"]
                    .iter()
                    .filter(|k| get(rules, k).is_some())
                    .chain(["lt", "lte"].iter().filter(|k| get(rules, k).is_some()))
                    .copied()
                    .collect();
                if parts.len() == 2 { reason(&parts.join("_")) } else { reason(bound) }
            };
            let lower_rule = if get(rules, "gt").is_some() { "gt" } else { "gte" };
            let upper_rule = if get(rules, "lt").is_some() { "lt" } else { "lte" };
            if let Some(low) = low.filter(|l| !(skip_zero && l - 1 == 0)) {
                push(json!(low - 1), id(lower_rule));
            }
            if let Some(high) = high.filter(|h| !(skip_zero && h + 1 == 0)) {
                push(json!(high + 1), id(upper_rule));
            }
            json!(low.or(high).unwrap_or(1))
        }
        "enum" => {
            known(&["defined_only", "in", "not_in"])?;
            let defined =
                model.enums.get(&field.ty).ok_or_else(|| format!("enum {} not in the references", field.ty))?;
            if flag(rules, "defined_only") {
                push(json!(defined.iter().max().unwrap() + 1000), reason("defined_only"));
            }
            let listed = |key: &str| -> Vec<i64> {
                rules
                    .iter()
                    .filter(|(k, _)| k == key)
                    .filter_map(|(_, v)| match v {
                        Node::Scalar(n) => n.parse().ok(),
                        Node::Message(_) => None,
                    })
                    .collect()
            };
            let (within, without) = (listed("in"), listed("not_in"));
            // A defined value outside `in`, and each value of `not_in`.
            if !within.is_empty() {
                let outside = defined.iter().copied().find(|n| !within.contains(n)).ok_or("every value is in `in`")?;
                push(json!(outside), reason("in"));
            }
            for n in &without {
                push(json!(n), reason("not_in"));
            }
            let keeps = defined
                .iter()
                .copied()
                .find(|n| *n != 0 && (within.is_empty() || within.contains(n)) && !without.contains(n))
                .ok_or("no defined value keeps the rule")?;
            json!(keeps)
        }
        "duration" => {
            known(&["gte", "lte", "gt", "lt"])?;
            let seconds = |key: &str| match get(rules, key) {
                Some(Node::Message(d)) => Some(number(d, "seconds").unwrap_or(0)),
                _ => None,
            };
            let (low, high) = (seconds("gte"), seconds("lte"));
            if seconds("gt").is_some() || seconds("lt").is_some() {
                return Err("no generator for duration.gt or duration.lt".into());
            }
            let id = if low.is_some() && high.is_some() {
                reason("gte_lte")
            } else if low.is_some() {
                reason("gte")
            } else {
                reason("lte")
            };
            if let Some(low) = low {
                push(json!(format!("{}s", low - 1)), id.clone());
            }
            if let Some(high) = high {
                push(json!(format!("{}s", high + 1)), id);
            }
            json!(format!("{}s", low.unwrap_or(0).max(high.map_or(60, |h| h.min(60)))))
        }
        "bytes" => {
            use base64::Engine;
            known(&["len", "min_len", "max_len"])?;
            let b64 = |n: i64| json!(base64::engine::general_purpose::STANDARD.encode(vec![7u8; n as usize]));
            if let Some(len) = number(rules, "len") {
                push(b64(len + 1), reason("len"));
                push(b64(len - 1), reason("len"));
                b64(len)
            } else {
                if let Some(min) = number(rules, "min_len").filter(|m| *m > 0) {
                    push(b64(min - 1), reason("min_len"));
                }
                if let Some(max) = number(rules, "max_len") {
                    push(b64(max + 1), reason("max_len"));
                }
                b64(number(rules, "min_len").unwrap_or(1).max(1))
            }
        }
        other => return Err(format!("no generator for {other} rules")),
    };
    Ok(Plan { breaches, keeps: Some(keeps) })
}

/// What breaks and what keeps a field's whole rule.
fn field_plan(model: &Model, field: &Field, rule: &str) -> Result<Plan, String> {
    let rule = parse_rule(rule);
    let mut ignore_zero = false;
    let mut required = false;
    let mut typed = None;
    for (key, node) in &rule {
        match (key.as_str(), node) {
            ("ignore", Node::Scalar(v)) if v == "IGNORE_IF_UNPOPULATED" || v == "IGNORE_IF_DEFAULT_VALUE" => {
                ignore_zero = true
            }
            ("ignore", Node::Scalar(v)) if v == "IGNORE_ALWAYS" => {
                return Ok(Plan { breaches: Vec::new(), keeps: None });
            }
            ("required", Node::Scalar(v)) => required = v == "true",
            (kind, Node::Message(rules)) => typed = Some((kind.to_owned(), rules.clone())),
            (other, _) => return Err(format!("no generator for {other}")),
        }
    }
    // `optional` fields and messages track presence: unset is no value to check.
    let presence =
        field.label == "optional" || model.messages.contains_key(&field.ty) || field.ty.starts_with("google.protobuf.");
    // A zero value that the rule ignores, or that `required` refuses first (a required string of
    // `min_len: 1`: its only breaking value, "", is reported as REQUIRED), breaks no length.
    let skip_zero = (ignore_zero || required) && !presence;
    let mut plan = match typed {
        Some((kind, rules)) if kind == "repeated" => {
            let (min, max) = (number(&rules, "min_items"), number(&rules, "max_items"));
            let items = match get(&rules, "items") {
                Some(Node::Message(items)) => {
                    let (kind, item_rules) = match items.as_slice() {
                        [(kind, Node::Message(r))] => (kind.clone(), r.clone()),
                        other => return Err(format!("no generator for items {other:?}")),
                    };
                    Some(value_plan(model, field, &kind, &item_rules, false)?)
                }
                Some(other) => return Err(format!("no generator for items {other:?}")),
                None => None,
            };
            if let Some((k, _)) =
                rules.iter().find(|(k, _)| !["min_items", "max_items", "items", "unique"].contains(&k.as_str()))
            {
                return Err(format!("no generator for repeated.{k}"));
            }
            // One item that keeps the item rules (any value when there are none).
            let good = items.as_ref().and_then(|p| p.keeps.clone()).unwrap_or_else(|| default_item(model, field));
            let mut breaches = Vec::new();
            if let Some(max) = max {
                breaches.push(Breach {
                    value: Some(Value::Array(vec![good.clone(); max as usize + 1])),
                    suffix: String::new(),
                    reason: "REPEATED_MAX_ITEMS".into(),
                });
            }
            if let Some(min) = min.filter(|m| *m > 0) {
                breaches.push(Breach {
                    value: Some(Value::Array(vec![good.clone(); min as usize - 1])),
                    suffix: String::new(),
                    reason: "REPEATED_MIN_ITEMS".into(),
                });
            }
            if flag(&rules, "unique") {
                breaches.push(Breach {
                    value: Some(Value::Array(vec![good.clone(), good.clone()])),
                    suffix: String::new(),
                    reason: "REPEATED_UNIQUE".into(),
                });
            }
            for item in items.into_iter().flat_map(|p| p.breaches) {
                breaches.push(Breach {
                    value: Some(Value::Array(vec![good.clone(), item.value.unwrap()])),
                    suffix: "[1]".into(),
                    reason: item.reason,
                });
            }
            let count = min.unwrap_or(1).max(1).min(max.unwrap_or(i64::MAX));
            Plan { breaches, keeps: Some(Value::Array(vec![good; count as usize])) }
        }
        Some((kind, rules)) => value_plan(model, field, &kind, &rules, skip_zero)?,
        None => {
            let one = || default_item(model, field);
            let keeps = presence.then(|| if field.label == "repeated" { json!([one()]) } else { one() });
            Plan { breaches: Vec::new(), keeps }
        }
    };
    if required {
        plan.breaches.push(Breach { value: None, suffix: String::new(), reason: "REQUIRED".into() });
        if plan.keeps.is_none() {
            let one = default_item(model, field);
            plan.keeps = Some(if field.label == "repeated" { json!([one]) } else { one });
        }
    }
    if ignore_zero && plan.breaches.is_empty() && presence {
        // `ignore` alone on a message: nothing can break it; leaving it out must pass.
        plan.keeps = None;
    }
    Ok(plan)
}

fn default_item(model: &Model, field: &Field) -> Value {
    match field.ty.as_str() {
        "string" => json!("a"),
        "google.protobuf.Timestamp" => json!("2026-01-01T00:00:00Z"),
        "google.protobuf.Duration" => json!("60s"),
        ty if model.enums.contains_key(ty) => json!(model.enums[ty].iter().copied().find(|n| *n != 0).unwrap_or(0)),
        ty if model.messages.contains_key(ty) => json!({}),
        _ => json!(1),
    }
}

/// The request: `value` (or nothing) at the field, inside the objects (or one-item lists) of the
/// steps; and the field's JSON path in it.
fn request(steps: &[(Field, bool)], field: &Field, value: Option<&Value>) -> (Value, String) {
    let mut inner = serde_json::Map::new();
    if let Some(v) = value {
        inner.insert(field.json_name.clone(), v.clone());
    }
    let mut body = Value::Object(inner);
    let mut path = field.json_name.clone();
    for (step, repeated) in steps.iter().rev() {
        body = json!({ step.json_name.clone(): if *repeated { json!([body]) } else { body } });
        path = format!("{}{}.{path}", step.json_name, if *repeated { "[0]" } else { "" });
    }
    (body, path)
}

/// A message of type `full_name` given in proto3 JSON, encoded.
fn encode_json(full_name: &str, json: &Value) -> Vec<u8> {
    let pool = prost_reflect::DescriptorPool::decode(gitpod_api::FILE_DESCRIPTOR_SET).unwrap();
    let desc = pool.get_message_by_name(full_name).unwrap_or_else(|| panic!("no message {full_name}"));
    let message = prost_reflect::DynamicMessage::deserialize(desc, json).unwrap_or_else(|e| panic!("{json}: {e}"));
    prost::Message::encode_to_vec(&message)
}

/// The (field, reason) pairs an answer refused the request for; empty when it did not refuse.
async fn refusals(client: &Client, rpc: &str, body: &Value) -> (String, Vec<(String, String)>) {
    match client.call_json(rpc, body.clone()).await {
        Ok(_) => ("ok".into(), Vec::new()),
        Err(f) => (f.code.clone(), f.bad_request),
    }
}

/// Every problem with one field's rule: breaches not refused (naming the field with the rule's
/// reason), a keeping value refused for it.
async fn check_field(
    model: &Model,
    clients: &[Client],
    message: &str,
    field: &Field,
    requests: &mut usize,
) -> Vec<String> {
    let rule = field.rule.as_deref().expect("a field with a rule");
    let at = format!("{message}.{} [{rule}]", field.name);
    let plan = match field_plan(model, field, rule) {
        Ok(plan) => plan,
        Err(e) => return vec![format!("{at}: {e}")],
    };
    let mut problems = Vec::new();
    let Some((rpc, steps)) = model.reach(message) else {
        // Answers only: the validator refuses an answer that breaks the rule, and accepts one
        // that keeps it.
        let validator = runner_server::validation::rules();
        let check = |value: Option<&Value>| {
            let (body, _) = request(&[], field, value);
            let bytes = encode_json(message, &body);
            validator.validate_encoded(message, &bytes).err().unwrap_or_default()
        };
        for breach in &plan.breaches {
            let path = format!("{}{}", field.json_name, breach.suffix);
            if !check(breach.value.as_ref()).iter().any(|v| v.field == path && v.reason() == breach.reason) {
                problems.push(format!("{at}: an answer with {:?} is not refused ({})", breach.value, breach.reason));
            }
        }
        let reasons: Vec<&str> = plan.breaches.iter().map(|b| b.reason.as_str()).collect();
        // The field's own violations: on it, or on one of its items (not inside an item, where the
        // item message's own rules apply).
        let own = |v: &proto_validate::Violation| {
            v.field == field.json_name
                || v.field.strip_prefix(&format!("{}[", field.json_name)).is_some_and(|rest| !rest.contains('.'))
        };
        if check(plan.keeps.as_ref()).iter().any(|v| own(v) && reasons.contains(&v.reason().as_str())) {
            problems.push(format!("{at}: an answer with {:?} is refused", plan.keeps));
        }
        return problems;
    };
    for client in clients {
        for breach in &plan.breaches {
            let (body, path) = request(&steps, field, breach.value.as_ref());
            let path = format!("{path}{}", breach.suffix);
            *requests += 1;
            let (code, refused) = refusals(client, &rpc, &body).await;
            let named = refused.iter().any(|(f, r)| *f == path && *r == breach.reason);
            if code != "invalid_argument" || !named {
                problems.push(format!(
                    "{at} {:?} {rpc} {body}: expected invalid_argument naming {path} ({}), got {code} {refused:?}",
                    client.protocol, breach.reason
                ));
            }
        }
        let (body, path) = request(&steps, field, plan.keeps.as_ref());
        *requests += 1;
        let (code, refused) = refusals(client, &rpc, &body).await;
        let reasons: Vec<&str> = plan.breaches.iter().map(|b| b.reason.as_str()).collect();
        if refused.iter().any(|(f, r)| f.starts_with(&path) && reasons.contains(&r.as_str())) {
            problems.push(format!(
                "{at} {:?} {rpc} {body}: refused for a value that keeps the rule: {code} {refused:?}",
                client.protocol
            ));
        }
    }
    problems
}

#[tokio::test]
async fn every_declared_rule_is_enforced() {
    let model = Model::read();
    let server = TestServer::start().await;
    let clients = [server.client(Protocol::ConnectJson).await, server.client(Protocol::Grpc).await];
    let (mut rules, mut requests, mut answers_only) = (0, 0, 0);
    let mut problems = Vec::new();
    for (message, fields) in &model.messages {
        for field in fields.iter().filter(|f| f.rule.is_some()) {
            rules += 1;
            answers_only += usize::from(model.reach(message).is_none());
            problems.extend(check_field(&model, &clients, message, field, &mut requests).await);
        }
    }
    println!(
        "{rules} rules: {requests} requests over Connect JSON and gRPC; {answers_only} rules checked on the \
         validator alone (answers, and requests of services not served yet)"
    );
    for p in &problems {
        println!("{p}");
    }
    assert!(problems.is_empty(), "{} problems (printed above)", problems.len());
    // 88 of the runner services and 116 of the access services, three of them in both, and 69
    // of the sign-in reference, eight of them already there (OrganizationMember's seven and
    // PaginationRequest.page_size).
    assert_eq!(rules, 262, "rules in the references");

    // Not vacuous: a rule the server does not have, added to the reference, is found unenforced.
    let mut spec = model.messages["gitpod.v1.RunnerSpec"].clone();
    let phase = spec.iter_mut().find(|f| f.name == "desired_phase").unwrap();
    assert!(phase.rule.is_none());
    phase.rule = Some("enum {   defined_only: true }".into());
    let problems = check_field(&model, &clients, "gitpod.v1.RunnerSpec", phase, &mut requests).await;
    // Over gRPC (over Connect JSON the decoder refuses every undefined enum value anyway).
    assert!(problems.iter().any(|p| p.contains("Grpc") && p.contains("spec.desiredPhase")), "{problems:#?}");
}

/// The generator reports what it cannot build, rather than passing over it.
#[test]
fn a_rule_the_generator_cannot_build_is_reported() {
    let model = Model::read();
    let name = Field {
        name: "name".into(),
        json_name: "name".into(),
        ty: "string".into(),
        label: "singular".into(),
        rule: None,
    };
    // A pattern no candidate value keeps.
    assert!(field_plan(&model, &name, "string {   pattern: \"^q+z$\" }").is_err_and(|e| e.contains("string.pattern")));
    assert!(field_plan(&model, &name, "cel {   id: \"x\" }").is_err());
    assert!(field_plan(&model, &name, "string {   hostname: true }").is_err_and(|e| e.contains("string.hostname")));
}
