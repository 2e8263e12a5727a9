//! Component schemas of messages and enums in proto3 JSON form, with the declared
//! `buf.validate` rules as constraints.

use std::collections::{BTreeMap, HashSet};

use prost_reflect::{Cardinality, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor};
use proto_validate::{FieldRules, Format, Ignore, NumRules, StringRules, TypeRules, Validator};
use serde_json::{Map, Value, json};

use crate::Comments;

/// The component schemas reached so far.
pub(crate) struct Schemas<'a> {
    validator: &'a Validator,
    comments: &'a Comments,
    /// The messages an answer can hold: their `required` rules (and rules that refuse a zero
    /// value) are not made `required` properties, since the server checks requests only.
    answers: HashSet<String>,
    done: BTreeMap<String, Value>,
    todo: Vec<Pending>,
}

enum Pending {
    Message(MessageDescriptor),
    Enum(EnumDescriptor),
}

impl<'a> Schemas<'a> {
    pub(crate) fn new(validator: &'a Validator, comments: &'a Comments, answers: HashSet<String>) -> Self {
        Self { validator, comments, answers, done: BTreeMap::new(), todo: Vec::new() }
    }

    /// The schema of a message-typed value: a well-known type's JSON form, else a reference to
    /// the message's component (described later, in [`Schemas::finish`]).
    pub(crate) fn message_ref(&mut self, m: &MessageDescriptor) -> Value {
        if let Some(wkt) = well_known(m) {
            return wkt;
        }
        if !self.done.contains_key(m.full_name()) {
            // A placeholder keeps recursive messages from being queued twice.
            self.done.insert(m.full_name().to_owned(), Value::Null);
            self.todo.push(Pending::Message(m.clone()));
        }
        json!({ "$ref": format!("#/components/schemas/{}", m.full_name()) })
    }

    fn enum_ref(&mut self, e: &EnumDescriptor) -> Value {
        if e.full_name() == "google.protobuf.NullValue" {
            return json!({ "type": "null" });
        }
        if !self.done.contains_key(e.full_name()) {
            self.done.insert(e.full_name().to_owned(), Value::Null);
            self.todo.push(Pending::Enum(e.clone()));
        }
        json!({ "$ref": format!("#/components/schemas/{}", e.full_name()) })
    }

    /// Every component schema reached from the references handed out.
    pub(crate) fn finish(mut self) -> BTreeMap<String, Value> {
        while let Some(next) = self.todo.pop() {
            let (name, schema) = match next {
                Pending::Message(m) => (m.full_name().to_owned(), self.message(&m)),
                Pending::Enum(e) => (e.full_name().to_owned(), self.enumeration(&e)),
            };
            self.done.insert(name, schema);
        }
        self.done
    }

    fn enumeration(&self, e: &EnumDescriptor) -> Value {
        let names: Vec<String> = e.values().map(|v| v.name().to_owned()).collect();
        let mut schema = json!({ "type": "string", "enum": names });
        let mut text = self.comments.of(&e.parent_file(), e.path()).unwrap_or_default();
        let values: Vec<String> = e
            .values()
            .filter_map(|v| {
                let about = self.comments.of(&v.parent_file(), v.path())?;
                Some(format!("- `{}`: {}", v.name(), about.replace('\n', " ")))
            })
            .collect();
        if !values.is_empty() {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&values.join("\n"));
        }
        if !text.is_empty() {
            schema["description"] = text.into();
        }
        schema
    }

    fn message(&mut self, m: &MessageDescriptor) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        // Fields whose rules refuse their zero value: left out of the JSON they are that value
        // (no presence), so they must be there. The validator says which, on the empty message.
        let answer = self.answers.contains(m.full_name());
        let zero_refused: Vec<String> = match self.validator.validate_encoded(m.full_name(), &[]) {
            Err(violations) if !answer => violations.into_iter().map(|v| v.field).collect(),
            _ => Vec::new(),
        };
        for field in m.fields() {
            let mut rules = self.validator.field_rules(m.full_name(), field.number());
            if answer && let Some(r) = rules.as_mut() {
                r.required = false;
            }
            let mut schema = self.field(&field, rules);
            if let Some(text) = self.comments.of(&field.parent_file(), field.path()) {
                schema.insert("description".to_owned(), text.into());
            }
            let refused = zero_refused.iter().any(|f| f == field.json_name());
            if refused || rules.is_some_and(|r| r.required && r.ignore != Ignore::Always) {
                required.push(Value::from(field.json_name()));
            }
            properties.insert(field.json_name().to_owned(), Value::Object(schema));
        }
        let mut schema = json!({ "type": "object", "properties": properties });
        if let Some(text) = self.comments.of(&m.parent_file(), m.path()) {
            schema["description"] = text.into();
        }
        if !required.is_empty() {
            schema["required"] = required.into();
        }
        let mut all_of = Vec::new();
        // Proto oneofs: at most one member set, exactly one when a rule requires it.
        let oneof_rules: Vec<_> = self.validator.oneof_rules(m.full_name()).collect();
        for oneof in m.oneofs().filter(|o| !o.is_synthetic()) {
            let numbers: Vec<u32> = oneof.fields().map(|f| f.number()).collect();
            let must = oneof_rules.iter().any(|r| r.required && !r.exclusive && r.fields == numbers.as_slice());
            let names: Vec<String> = oneof.fields().map(|f| f.json_name().to_owned()).collect();
            all_of.extend(exclusive(&names, must));
        }
        // Message-level oneof rules: at most one of the fields, exactly one when required.
        for rule in oneof_rules.iter().filter(|r| r.exclusive) {
            let names: Vec<String> =
                rule.fields.iter().filter_map(|n| m.get_field(*n)).map(|f| f.json_name().to_owned()).collect();
            all_of.extend(exclusive(&names, rule.required));
        }
        if !all_of.is_empty() {
            schema["allOf"] = all_of.into();
        }
        schema
    }

    /// A field's schema: its value's, as a list or map when it is one, with its rules.
    fn field(&mut self, field: &FieldDescriptor, rules: Option<FieldRules<'_>>) -> Map<String, Value> {
        let rules = rules.filter(|r| r.ignore != Ignore::Always);
        let kind = field.kind();
        let (mut schema, zero) = if field.is_map() {
            let Kind::Message(entry) = &kind else { unreachable!("a map field is a message") };
            let key = entry.map_entry_key_field().kind();
            let value = entry.map_entry_value_field().kind();
            let mut values = self.value(&value);
            let mut schema = object(json!({ "type": "object" }));
            if let Some(pattern) = key_pattern(&key) {
                schema.insert("propertyNames".to_owned(), json!({ "pattern": pattern }));
            }
            if let Some(TypeRules::Map(r)) = rules.and_then(|r| r.rules) {
                put(&mut schema, "minProperties", r.min_pairs);
                put(&mut schema, "maxProperties", r.max_pairs);
                if let Some(keys) = r.keys.as_deref().and_then(|k| self.item_constraints(k, &key)) {
                    let names = schema.entry("propertyNames").or_insert_with(|| json!({}));
                    merge(names.as_object_mut().expect("an object"), keys);
                }
                if let Some(vals) = r.values.as_deref().and_then(|v| self.item_constraints(v, &value)) {
                    merge(&mut values, vals);
                }
            }
            schema.insert("additionalProperties".to_owned(), Value::Object(values));
            (schema, json!({ "maxProperties": 0 }))
        } else if field.cardinality() == Cardinality::Repeated {
            let mut items = self.value(&kind);
            let mut schema = object(json!({ "type": "array" }));
            if let Some(TypeRules::Repeated(r)) = rules.and_then(|r| r.rules) {
                put(&mut schema, "minItems", r.min_items);
                put(&mut schema, "maxItems", r.max_items);
                if r.unique {
                    schema.insert("uniqueItems".to_owned(), true.into());
                }
                if let Some(c) = r.items.as_deref().and_then(|i| self.item_constraints(i, &kind)) {
                    merge(&mut items, c);
                }
            }
            schema.insert("items".to_owned(), Value::Object(items));
            (schema, json!({ "maxItems": 0 }))
        } else {
            let mut schema = self.value(&kind);
            if let Some(c) = rules.and_then(|r| r.rules).map(|r| self.constraints(r, &kind)) {
                merge(&mut schema, c);
            }
            (schema, zero_value(&kind))
        };
        let Some(rules) = rules else { return schema };
        // `required` on a field without presence: not its zero value (an empty list or map, "",
        // 0, false, the enum's first value).
        let presence = field.supports_presence() && !field.is_list() && !field.is_map();
        let mut extra = Map::new();
        if rules.required && !presence {
            extra.insert("not".to_owned(), zero.clone());
        }
        if rules.ignore == Ignore::IfZeroValue && !presence && !rules.required {
            // The zero value is accepted whatever the other rules say.
            let keep = ["type", "$ref", "items", "additionalProperties", "propertyNames"];
            let constraints: Map<String, Value> = schema
                .iter()
                .filter(|(k, _)| !keep.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if !constraints.is_empty() {
                schema.retain(|k, _| keep.contains(&k.as_str()));
                schema.insert("anyOf".to_owned(), json!([zero, constraints]));
            }
        }
        merge(&mut schema, extra);
        schema
    }

    /// The constraints of a list item, map key or map value.
    fn item_constraints(&mut self, item: &proto_validate::ItemRules, kind: &Kind) -> Option<Map<String, Value>> {
        if item.ignore == Ignore::Always {
            return None;
        }
        let constraints = self.constraints(item.rules.as_ref()?, kind);
        if item.ignore == Ignore::IfZeroValue && !constraints.is_empty() {
            return Some(object(json!({ "anyOf": [zero_value(kind), constraints] })));
        }
        Some(constraints)
    }

    /// The schema of one value of `kind` (a field's, a list item's or a map value's).
    fn value(&mut self, kind: &Kind) -> Map<String, Value> {
        object(match kind {
            Kind::Message(m) => self.message_ref(m),
            Kind::Enum(e) => self.enum_ref(e),
            other => scalar(other),
        })
    }

    /// What JSON Schema can say of one value's rules.
    fn constraints(&mut self, rules: &TypeRules, kind: &Kind) -> Map<String, Value> {
        let mut out = Map::new();
        match rules {
            TypeRules::String(r) => string_constraints(r, &mut out),
            TypeRules::Int(r) => number_constraints(r, is_64_bit(kind), &mut out),
            TypeRules::UInt(r) => number_constraints(r, is_64_bit(kind), &mut out),
            TypeRules::Float(r) => number_constraints(r, false, &mut out),
            TypeRules::Bool(Some(c)) => {
                out.insert("const".to_owned(), (*c).into());
            }
            TypeRules::Enum(r) => {
                let Kind::Enum(e) = kind else { return out };
                let name = |n: &i32| e.get_value(*n).map(|v| Value::from(v.name()));
                if let Some(c) = r.constant.as_ref().and_then(name) {
                    out.insert("const".to_owned(), c);
                }
                if !r.r#in.is_empty() {
                    out.insert("enum".to_owned(), r.r#in.iter().filter_map(name).collect());
                }
                if !r.not_in.is_empty() {
                    out.insert(
                        "not".to_owned(),
                        json!({ "enum": r.not_in.iter().filter_map(name).collect::<Vec<_>>() }),
                    );
                }
            }
            // Byte lengths of base64 text, time bounds and lists of times are left to the server.
            TypeRules::Bool(None) | TypeRules::Bytes(_) | TypeRules::Time(_) => {}
            TypeRules::Repeated(_) | TypeRules::Map(_) => {}
        }
        out
    }
}

/// "At most one of `names`" (`must`: exactly one), as schemas for `allOf`.
fn exclusive(names: &[String], must: bool) -> Option<Value> {
    let each: Vec<Value> = names.iter().map(|n| json!({ "required": [n] })).collect();
    if must {
        return Some(json!({ "oneOf": each }));
    }
    let pairs: Vec<Value> = names
        .iter()
        .enumerate()
        .flat_map(|(i, a)| names[i + 1..].iter().map(move |b| json!({ "required": [a, b] })))
        .collect();
    match pairs.len() {
        0 => None,
        1 => Some(json!({ "not": pairs[0] })),
        _ => Some(json!({ "not": { "anyOf": pairs } })),
    }
}

fn string_constraints(r: &StringRules, out: &mut Map<String, Value>) {
    if let Some(c) = &r.constant {
        out.insert("const".to_owned(), c.clone().into());
    }
    put(out, "minLength", r.len.or(r.min_len));
    put(out, "maxLength", r.len.or(r.max_len));
    let mut patterns: Vec<String> = Vec::new();
    patterns.extend(r.pattern.as_ref().map(|p| p.as_str().to_owned()));
    patterns.extend(r.prefix.as_deref().map(|p| format!("^{}", regex::escape(p))));
    patterns.extend(r.suffix.as_deref().map(|p| format!("{}$", regex::escape(p))));
    patterns.extend(r.contains.as_deref().map(regex::escape));
    if let Some(p) = r.not_contains.as_deref() {
        out.insert("not".to_owned(), json!({ "pattern": regex::escape(p) }));
    }
    if !r.r#in.is_empty() {
        out.insert("enum".to_owned(), r.r#in.clone().into());
    }
    if !r.not_in.is_empty() {
        let not = json!({ "enum": r.not_in });
        match out.get_mut("not") {
            Some(existing) => {
                let first = existing.take();
                *existing = json!({ "anyOf": [first, not] });
            }
            None => {
                out.insert("not".to_owned(), not);
            }
        }
    }
    let mut all_of = Vec::new();
    for format in &r.formats {
        match format {
            Format::Uuid => put_or_all(out, &mut all_of, "format", "uuid".into()),
            Format::Email => put_or_all(out, &mut all_of, "format", "email".into()),
            Format::Hostname => put_or_all(out, &mut all_of, "format", "hostname".into()),
            Format::Ipv4 => put_or_all(out, &mut all_of, "format", "ipv4".into()),
            Format::Ipv6 => put_or_all(out, &mut all_of, "format", "ipv6".into()),
            Format::Uri => put_or_all(out, &mut all_of, "format", "uri".into()),
            Format::UriRef => put_or_all(out, &mut all_of, "format", "uri-reference".into()),
            Format::Ip => all_of.push(json!({ "anyOf": [{ "format": "ipv4" }, { "format": "ipv6" }] })),
            Format::Tuuid => patterns.push("^[0-9a-fA-F]{32}$".to_owned()),
            // No JSON Schema format says these; the description and the server's answer do.
            Format::Address | Format::HostAndPort => {
                let text = format!("Must be a valid `{}` (buf.validate).", format.name());
                out.insert("x-buf-validate-format".to_owned(), format.name().into());
                out.entry("description").or_insert(text.into());
            }
        }
        // A format rule refuses the empty string too.
        if out.get("minLength").is_none() {
            out.insert("minLength".to_owned(), 1.into());
        }
    }
    for (i, p) in patterns.into_iter().enumerate() {
        if i == 0 {
            out.insert("pattern".to_owned(), p.into());
        } else {
            all_of.push(json!({ "pattern": p }));
        }
    }
    if !all_of.is_empty() {
        out.insert("allOf".to_owned(), all_of.into());
    }
}

/// `key` once; a second value of it goes into `allOf`.
fn put_or_all(out: &mut Map<String, Value>, all_of: &mut Vec<Value>, key: &str, value: Value) {
    if out.contains_key(key) {
        all_of.push(json!({ key: value }));
    } else {
        out.insert(key.to_owned(), value);
    }
}

/// Numeric rules. A 64-bit integer is a decimal string in JSON: only its `const`, `in` and
/// `not_in` can be said (as strings), its bounds are left to the server.
fn number_constraints<T>(r: &NumRules<T>, as_string: bool, out: &mut Map<String, Value>)
where
    T: Copy + PartialOrd + ToString + Into<NumberValue>,
{
    let v = |x: T| -> Value { if as_string { x.to_string().into() } else { x.into().0 } };
    let r = &r.bounds;
    if let Some(c) = r.constant {
        out.insert("const".to_owned(), v(c));
    }
    if !r.r#in.is_empty() {
        out.insert("enum".to_owned(), r.r#in.iter().map(|x| v(*x)).collect());
    }
    if !r.not_in.is_empty() {
        out.insert("not".to_owned(), json!({ "enum": r.not_in.iter().map(|x| v(*x)).collect::<Vec<_>>() }));
    }
    if as_string {
        return;
    }
    let lower = r.gt.map(|b| ("exclusiveMinimum", b)).or(r.gte.map(|b| ("minimum", b)));
    let upper = r.lt.map(|b| ("exclusiveMaximum", b)).or(r.lte.map(|b| ("maximum", b)));
    match (lower, upper) {
        // A lower bound above the upper one: the values outside the two.
        (Some((lk, lb)), Some((uk, ub))) if lb > ub || lb == ub && (lk.starts_with("ex") || uk.starts_with("ex")) => {
            out.insert("anyOf".to_owned(), json!([{ lk: v(lb) }, { uk: v(ub) }]));
        }
        (lower, upper) => {
            for (k, b) in lower.into_iter().chain(upper) {
                out.insert(k.to_owned(), v(b));
            }
        }
    }
}

/// A number as a JSON value.
struct NumberValue(Value);

impl From<i64> for NumberValue {
    fn from(x: i64) -> Self {
        NumberValue(x.into())
    }
}

impl From<u64> for NumberValue {
    fn from(x: u64) -> Self {
        NumberValue(x.into())
    }
}

impl From<f64> for NumberValue {
    fn from(x: f64) -> Self {
        NumberValue(serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number))
    }
}

fn put(out: &mut Map<String, Value>, key: &str, value: Option<u64>) {
    if let Some(v) = value {
        out.insert(key.to_owned(), v.into());
    }
}

/// Adds `extra`'s keywords to `schema`; a keyword both have goes into `allOf`, but for the
/// type's own bounds, which a rule's bound replaces (the rule applies within the type anyway).
fn merge(schema: &mut Map<String, Value>, extra: Map<String, Value>) {
    const BOUNDS: [&str; 4] = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"];
    for (k, v) in extra {
        if BOUNDS.contains(&k.as_str()) {
            schema.insert(k, v);
        } else if schema.contains_key(&k) {
            let all = schema.entry("allOf").or_insert_with(|| json!([]));
            if let Value::Array(list) = all {
                list.push(json!({ k: v }));
            }
        } else {
            schema.insert(k, v);
        }
    }
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => {
            let mut m = Map::new();
            m.insert("allOf".to_owned(), json!([other]));
            m
        }
    }
}

fn is_64_bit(kind: &Kind) -> bool {
    matches!(kind, Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 | Kind::Uint64 | Kind::Fixed64)
}

/// The zero value of a singular field of `kind`, as a schema. Said with bounds rather than
/// `const` where it can be: code generators read `anyOf: [{const: ""}, …]` as a type of its own.
fn zero_value(kind: &Kind) -> Value {
    match kind {
        Kind::String | Kind::Bytes => json!({ "maxLength": 0 }),
        Kind::Bool => json!({ "const": false }),
        k if is_64_bit(k) => json!({ "pattern": "^-?0+$" }),
        Kind::Enum(e) => json!({ "const": e.default_value().name() }),
        Kind::Message(_) => json!({ "type": "null" }),
        _ => json!({ "minimum": 0, "maximum": 0 }),
    }
}

/// A map key's JSON form (keys are strings in JSON), when it is not any string.
fn key_pattern(kind: &Kind) -> Option<&'static str> {
    match kind {
        Kind::Bool => Some("^(true|false)$"),
        Kind::String => None,
        Kind::Uint32 | Kind::Uint64 | Kind::Fixed32 | Kind::Fixed64 => Some("^[0-9]+$"),
        _ => Some("^-?[0-9]+$"),
    }
}

/// The JSON form of a scalar.
fn scalar(kind: &Kind) -> Value {
    match kind {
        Kind::String => json!({ "type": "string" }),
        Kind::Bytes => json!({ "type": "string", "contentEncoding": "base64" }),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            json!({ "type": "integer", "format": "int32", "minimum": i32::MIN, "maximum": i32::MAX })
        }
        Kind::Uint32 | Kind::Fixed32 => json!({ "type": "integer", "minimum": 0, "maximum": u32::MAX }),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            json!({ "type": "string", "format": "int64", "pattern": "^-?[0-9]+$" })
        }
        Kind::Uint64 | Kind::Fixed64 => json!({ "type": "string", "format": "uint64", "pattern": "^[0-9]+$" }),
        Kind::Float | Kind::Double => json!({
            "anyOf": [{ "type": "number" }, { "type": "string", "enum": ["NaN", "Infinity", "-Infinity"] }],
        }),
        Kind::Message(_) | Kind::Enum(_) => unreachable!("messages and enums have their own schemas"),
    }
}

/// The JSON form of a well-known type, if `m` is one.
fn well_known(m: &MessageDescriptor) -> Option<Value> {
    Some(match m.full_name() {
        "google.protobuf.Timestamp" => json!({
            "type": "string",
            "format": "date-time",
            "description": "An RFC 3339 time in UTC (`google.protobuf.Timestamp`).",
        }),
        "google.protobuf.Duration" => json!({
            "type": "string",
            "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$",
            "description": "Seconds with up to nine decimals and an `s`: `1.5s` (`google.protobuf.Duration`).",
        }),
        "google.protobuf.FieldMask" => json!({
            "type": "string",
            "description": "Field paths in lowerCamelCase, separated by commas (`google.protobuf.FieldMask`).",
        }),
        "google.protobuf.Struct" => json!({ "type": "object", "additionalProperties": true }),
        "google.protobuf.Value" => json!({ "description": "Any JSON value (`google.protobuf.Value`)." }),
        "google.protobuf.ListValue" => json!({ "type": "array", "items": {} }),
        "google.protobuf.Empty" => json!({ "type": "object" }),
        "google.protobuf.Any" => json!({
            "type": "object",
            "properties": { "@type": { "type": "string" } },
            "required": ["@type"],
            "additionalProperties": true,
        }),
        "google.protobuf.DoubleValue" | "google.protobuf.FloatValue" => scalar(&Kind::Double),
        "google.protobuf.Int64Value" => scalar(&Kind::Int64),
        "google.protobuf.UInt64Value" => scalar(&Kind::Uint64),
        "google.protobuf.Int32Value" => scalar(&Kind::Int32),
        "google.protobuf.UInt32Value" => scalar(&Kind::Uint32),
        "google.protobuf.BoolValue" => scalar(&Kind::Bool),
        "google.protobuf.StringValue" => scalar(&Kind::String),
        "google.protobuf.BytesValue" => scalar(&Kind::Bytes),
        _ => return None,
    })
}
