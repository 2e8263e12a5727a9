//! What to check, read once from the descriptor set: per message, the fields that carry
//! `(buf.validate.field)` rules or lead to a message that does, with their rules as Rust values.
//! Every rule is understood or the build fails ([`BuildError`]): a rule is never skipped.

use std::collections::HashMap;

use prost_reflect::{Cardinality, DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};

use crate::rules::{
    BytesRules, EnumRules, ItemRules, MapRules, NumRules, RepeatedRules, StringRules, TimeRules, TypeRules,
};

/// A rule this crate cannot check (CEL, predefined rules, a format it does not know), or a
/// descriptor set it cannot read.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the descriptor set does not decode: {0}")]
    Descriptors(String),
    #[error("{at}: rule `{rule}` is not supported")]
    Unsupported { at: String, rule: String },
    #[error("{at}: rule `{rule}` does not apply to a field of this type")]
    Mismatch { at: String, rule: String },
    #[error("{at}: {what}")]
    Invalid { at: String, what: String },
}

/// How the value of a field (or of a list item or map value) is read from the wire.
#[derive(Debug, Clone)]
pub enum ValueKind {
    Int32,
    Int64,
    UInt32,
    UInt64,
    SInt32,
    SInt64,
    Fixed32,
    Fixed64,
    SFixed32,
    SFixed64,
    Float,
    Double,
    Bool,
    String,
    Bytes,
    Enum,
    Message,
}

impl ValueKind {
    fn of(kind: &Kind) -> ValueKind {
        match kind {
            Kind::Int32 => ValueKind::Int32,
            Kind::Int64 => ValueKind::Int64,
            Kind::Uint32 => ValueKind::UInt32,
            Kind::Uint64 => ValueKind::UInt64,
            Kind::Sint32 => ValueKind::SInt32,
            Kind::Sint64 => ValueKind::SInt64,
            Kind::Fixed32 => ValueKind::Fixed32,
            Kind::Fixed64 => ValueKind::Fixed64,
            Kind::Sfixed32 => ValueKind::SFixed32,
            Kind::Sfixed64 => ValueKind::SFixed64,
            Kind::Float => ValueKind::Float,
            Kind::Double => ValueKind::Double,
            Kind::Bool => ValueKind::Bool,
            Kind::String => ValueKind::String,
            Kind::Bytes => ValueKind::Bytes,
            Kind::Enum(_) => ValueKind::Enum,
            Kind::Message(_) => ValueKind::Message,
        }
    }

    /// The wire type of one value of a packable kind.
    pub fn wire_type(&self) -> u8 {
        match self {
            ValueKind::Fixed64 | ValueKind::SFixed64 | ValueKind::Double => 1,
            ValueKind::Fixed32 | ValueKind::SFixed32 | ValueKind::Float => 5,
            ValueKind::String | ValueKind::Bytes | ValueKind::Message => 2,
            _ => 0,
        }
    }
}

/// `buf.validate.Ignore`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignore {
    /// Rules apply, except to an unset field that tracks presence.
    Unspecified,
    /// Rules skip the zero value too (a no-op on fields that track presence).
    IfZeroValue,
    /// No rule applies, `required` neither.
    Always,
}

/// How a field holds its values.
#[derive(Debug, Clone)]
pub enum Shape {
    /// One value; `presence`: set and unset are told apart (messages, `optional`, oneof members).
    Singular {
        presence: bool,
    },
    Repeated,
    /// A map: entries with key (1) and value (2); the field's `kind` is the value's.
    Map {
        key: ValueKind,
    },
}

#[derive(Debug)]
pub struct FieldPlan {
    pub number: u32,
    pub json_name: String,
    pub shape: Shape,
    pub kind: ValueKind,
    pub ignore: Ignore,
    pub required: bool,
    pub rules: Option<TypeRules>,
    /// The plan of the (item or value) message type, when it has rules to check.
    pub message: Option<usize>,
}

/// A oneof that must have a member set: `(buf.validate.oneof).required`, or a message-level
/// `oneof` rule (`required` or not: at most one of its fields may be set either way).
#[derive(Debug)]
pub struct OneofPlan {
    pub name: String,
    pub numbers: Vec<u32>,
    pub required: bool,
    /// A message `oneof` rule (fields that are no proto oneof): at most one may be set.
    pub exclusive: bool,
}

#[derive(Debug, Default)]
pub struct MessagePlan {
    pub fields: Vec<FieldPlan>,
    pub oneofs: Vec<OneofPlan>,
    /// Checking it can find something: it has rules, or reaches a message that has.
    pub active: bool,
}

pub struct Plans {
    pub by_name: HashMap<String, usize>,
    pub messages: Vec<MessagePlan>,
    /// Fields that carry rules, over every message.
    pub rule_count: usize,
}

pub fn build(descriptor_set: &[u8]) -> Result<Plans, BuildError> {
    let pool = DescriptorPool::decode(descriptor_set).map_err(|e| BuildError::Descriptors(e.to_string()))?;
    let field_ext = pool.get_extension_by_name("buf.validate.field");
    let oneof_ext = pool.get_extension_by_name("buf.validate.oneof");
    let message_ext = pool.get_extension_by_name("buf.validate.message");
    let messages: Vec<MessageDescriptor> = pool.all_messages().filter(|m| !m.is_map_entry()).collect();
    let by_name: HashMap<String, usize> =
        messages.iter().enumerate().map(|(i, m)| (m.full_name().to_owned(), i)).collect();

    let mut plans = Vec::with_capacity(messages.len());
    let mut rule_count = 0;
    // Per message: its own rules, and the messages its fields lead to.
    let mut edges: Vec<Vec<(usize, u32)>> = Vec::with_capacity(messages.len());
    for m in &messages {
        let mut plan = MessagePlan::default();
        let mut leads_to = Vec::new();
        if let Some(ext) = &message_ext {
            let options = m.options();
            if options.has_extension(ext) {
                let rules = options.get_extension(ext);
                let rules = rules.as_message().expect("MessageRules is a message");
                if message_rules(m, rules, &mut plan)? {
                    // `disabled`: nothing of this message is checked.
                    plans.push(plan);
                    edges.push(leads_to);
                    continue;
                }
            }
        }
        for oneof in m.oneofs().filter(|o| !o.is_synthetic()) {
            let Some(ext) = &oneof_ext else { break };
            let options = oneof.options();
            if !options.has_extension(ext) {
                continue;
            }
            let at = format!("{}.{}", m.full_name(), oneof.name());
            let rules = options.get_extension(ext);
            let rules = rules.as_message().expect("OneofRules is a message");
            let mut required = false;
            for (f, v) in rules.fields() {
                match f.name() {
                    "required" => required = v.as_bool() == Some(true),
                    other => return Err(unsupported(&at, other)),
                }
            }
            check_unknown(&at, rules)?;
            if required {
                plan.oneofs.push(OneofPlan {
                    name: oneof.name().to_owned(),
                    numbers: oneof.fields().map(|f| f.number()).collect(),
                    required,
                    exclusive: false,
                });
            }
        }
        for field in m.fields() {
            let at = format!("{}.{}", m.full_name(), field.name());
            let rules = match &field_ext {
                Some(ext) if field.options().has_extension(ext) => {
                    let options = field.options();
                    Some(options.get_extension(ext).as_message().expect("FieldRules is a message").clone())
                }
                _ => None,
            };
            let nested = element_message(&field).map(|n| by_name[n.full_name()]);
            if rules.is_none() && nested.is_none() {
                continue;
            }
            let mut plan_field = field_plan(&at, &field, rules.as_ref())?;
            if rules.is_some() {
                rule_count += 1;
            }
            if let Some(n) = nested
                && plan_field.ignore != Ignore::Always
            {
                leads_to.push((n, field.number()));
            }
            plan_field.message = nested;
            plan.fields.push(plan_field);
        }
        plan.active = !plan.oneofs.is_empty()
            || plan.fields.iter().any(|f| f.required || f.rules.is_some() && f.ignore != Ignore::Always);
        plans.push(plan);
        edges.push(leads_to);
    }

    // A message is active when it reaches an active one; a field leads somewhere only then.
    loop {
        let mut changed = false;
        for i in 0..plans.len() {
            if !plans[i].active && edges[i].iter().any(|(n, _)| plans[*n].active) {
                plans[i].active = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for i in 0..plans.len() {
        let active: Vec<bool> = plans[i].fields.iter().map(|f| f.message.is_some_and(|n| plans[n].active)).collect();
        let plan = &mut plans[i];
        for (f, active) in plan.fields.iter_mut().zip(active) {
            if !active {
                f.message = None;
            }
        }
        plan.fields.retain(|f| f.message.is_some() || f.required || f.rules.is_some());
    }
    Ok(Plans { by_name, messages: plans, rule_count })
}

/// Message-level rules; `true` when they disable every rule of the message.
fn message_rules(m: &MessageDescriptor, rules: &DynamicMessage, plan: &mut MessagePlan) -> Result<bool, BuildError> {
    let at = m.full_name();
    check_unknown(at, rules)?;
    let mut disabled = false;
    for (f, v) in rules.fields() {
        match f.name() {
            "disabled" => disabled = v.as_bool() == Some(true),
            "oneof" => {
                for rule in v.as_list().into_iter().flatten() {
                    let rule = rule.as_message().expect("MessageOneofRule is a message");
                    let mut numbers = Vec::new();
                    let mut required = false;
                    for (rf, rv) in rule.fields() {
                        match rf.name() {
                            "fields" => {
                                for name in rv.as_list().into_iter().flatten().filter_map(Value::as_str) {
                                    let field = m.get_field_by_name(name).ok_or_else(|| BuildError::Invalid {
                                        at: at.to_owned(),
                                        what: format!("oneof rule names no field {name}"),
                                    })?;
                                    numbers.push(field.number());
                                }
                            }
                            "required" => required = rv.as_bool() == Some(true),
                            other => return Err(unsupported(at, &format!("oneof.{other}"))),
                        }
                    }
                    let name = numbers
                        .iter()
                        .filter_map(|n| m.get_field(*n))
                        .map(|f| f.json_name().to_owned())
                        .collect::<Vec<_>>()
                        .join(", ");
                    plan.oneofs.push(OneofPlan { name, numbers, required, exclusive: true });
                }
            }
            other => return Err(unsupported(at, other)),
        }
    }
    Ok(disabled)
}

/// The message type of a field, of its list items or of its map values.
fn element_message(field: &FieldDescriptor) -> Option<MessageDescriptor> {
    let kind = if field.is_map() {
        let Kind::Message(entry) = field.kind() else { return None };
        entry.map_entry_value_field().kind()
    } else {
        field.kind()
    };
    match kind {
        Kind::Message(m) if !is_time(&m) => Some(m),
        _ => None,
    }
}

fn is_time(m: &MessageDescriptor) -> bool {
    matches!(m.full_name(), "google.protobuf.Duration" | "google.protobuf.Timestamp")
}

pub fn unsupported(at: &str, rule: &str) -> BuildError {
    BuildError::Unsupported { at: at.to_owned(), rule: rule.to_owned() }
}

fn mismatch(at: &str, rule: &str) -> BuildError {
    BuildError::Mismatch { at: at.to_owned(), rule: rule.to_owned() }
}

/// Extensions on a rule message are predefined (custom) rules, and unknown fields are rules of a
/// newer protovalidate: neither is checked here, so neither may pass silently.
pub fn check_unknown(at: &str, rules: &DynamicMessage) -> Result<(), BuildError> {
    if let Some((ext, _)) = rules.extensions().next() {
        return Err(unsupported(at, ext.full_name()));
    }
    if let Some(unknown) = rules.unknown_fields().next() {
        return Err(unsupported(at, &format!("field number {}", unknown.number())));
    }
    Ok(())
}

fn field_plan(at: &str, field: &FieldDescriptor, rules: Option<&DynamicMessage>) -> Result<FieldPlan, BuildError> {
    let (shape, kind) = if field.is_map() {
        let Kind::Message(entry) = field.kind() else { unreachable!("a map field is a message") };
        let key = ValueKind::of(&entry.map_entry_key_field().kind());
        (Shape::Map { key }, ValueKind::of(&entry.map_entry_value_field().kind()))
    } else if field.cardinality() == Cardinality::Repeated {
        (Shape::Repeated, ValueKind::of(&field.kind()))
    } else {
        (Shape::Singular { presence: field.supports_presence() }, ValueKind::of(&field.kind()))
    };
    let mut plan = FieldPlan {
        number: field.number(),
        json_name: field.json_name().to_owned(),
        shape,
        kind,
        ignore: Ignore::Unspecified,
        required: false,
        rules: None,
        message: None,
    };
    let Some(rules) = rules else { return Ok(plan) };
    check_unknown(at, rules)?;
    let field_kind = field.kind();
    for (f, v) in rules.fields() {
        match f.name() {
            "required" => plan.required = v.as_bool() == Some(true),
            "ignore" => plan.ignore = ignore(at, v)?,
            "repeated" => {
                if !matches!(plan.shape, Shape::Repeated) {
                    return Err(mismatch(at, "repeated"));
                }
                plan.rules = Some(TypeRules::Repeated(repeated_rules(at, &field_kind, message(v))?));
            }
            "map" => {
                let Shape::Map { .. } = plan.shape else { return Err(mismatch(at, "map")) };
                let Kind::Message(entry) = field.kind() else { unreachable!("a map field is a message") };
                plan.rules = Some(TypeRules::Map(map_rules(
                    at,
                    &entry.map_entry_key_field().kind(),
                    &entry.map_entry_value_field().kind(),
                    message(v),
                )?));
            }
            name @ ("cel" | "cel_expression") => return Err(unsupported(at, name)),
            name => {
                if !matches!(plan.shape, Shape::Singular { .. }) {
                    return Err(mismatch(at, name));
                }
                plan.rules = Some(type_rules(at, &field_kind, name, message(v))?);
            }
        }
    }
    Ok(plan)
}

fn message(v: &Value) -> &DynamicMessage {
    v.as_message().expect("a rule message")
}

fn ignore(at: &str, v: &Value) -> Result<Ignore, BuildError> {
    match v.as_enum_number() {
        Some(0) => Ok(Ignore::Unspecified),
        // 1: IGNORE_IF_ZERO_VALUE, which was IGNORE_IF_UNPOPULATED before protovalidate 1.0;
        // 2: IGNORE_IF_DEFAULT_VALUE before 1.0, merged into it (the same for proto3 fields).
        Some(1 | 2) => Ok(Ignore::IfZeroValue),
        Some(3) => Ok(Ignore::Always),
        other => Err(BuildError::Invalid { at: at.to_owned(), what: format!("unknown ignore value {other:?}") }),
    }
}

fn item_rules(at: &str, kind: &Kind, rules: &DynamicMessage) -> Result<ItemRules, BuildError> {
    check_unknown(at, rules)?;
    let mut item = ItemRules { ignore: Ignore::Unspecified, rules: None };
    for (f, v) in rules.fields() {
        match f.name() {
            "ignore" => item.ignore = ignore(at, v)?,
            // Items and map entries are never absent.
            "required" => {}
            name @ ("cel" | "cel_expression" | "repeated" | "map") => return Err(unsupported(at, name)),
            name => item.rules = Some(type_rules(at, kind, name, message(v))?),
        }
    }
    Ok(item)
}

fn repeated_rules(at: &str, kind: &Kind, rules: &DynamicMessage) -> Result<RepeatedRules, BuildError> {
    check_unknown(at, rules)?;
    let mut out = RepeatedRules::default();
    for (f, v) in rules.fields() {
        match f.name() {
            "min_items" => out.min_items = v.as_u64(),
            "max_items" => out.max_items = v.as_u64(),
            "unique" => out.unique = v.as_bool() == Some(true),
            "items" => out.items = Some(Box::new(item_rules(&format!("{at}[]"), kind, message(v))?)),
            other => return Err(unsupported(at, &format!("repeated.{other}"))),
        }
    }
    if out.unique && matches!(kind, Kind::Message(_)) {
        return Err(mismatch(at, "repeated.unique"));
    }
    Ok(out)
}

fn map_rules(at: &str, key: &Kind, value: &Kind, rules: &DynamicMessage) -> Result<MapRules, BuildError> {
    check_unknown(at, rules)?;
    let mut out = MapRules::default();
    for (f, v) in rules.fields() {
        match f.name() {
            "min_pairs" => out.min_pairs = v.as_u64(),
            "max_pairs" => out.max_pairs = v.as_u64(),
            "keys" => out.keys = Some(Box::new(item_rules(&format!("{at}[key]"), key, message(v))?)),
            "values" => out.values = Some(Box::new(item_rules(&format!("{at}[value]"), value, message(v))?)),
            other => return Err(unsupported(at, &format!("map.{other}"))),
        }
    }
    Ok(out)
}

/// The rules of one value type (`string`, `int32`, …) for a value of `kind`.
fn type_rules(at: &str, kind: &Kind, name: &str, rules: &DynamicMessage) -> Result<TypeRules, BuildError> {
    check_unknown(at, rules)?;
    let fits = match (name, kind) {
        ("string", Kind::String) | ("bytes", Kind::Bytes) | ("bool", Kind::Bool) | ("enum", Kind::Enum(_)) => true,
        ("int32", Kind::Int32) | ("int64", Kind::Int64) | ("sint32", Kind::Sint32) | ("sint64", Kind::Sint64) => true,
        ("sfixed32", Kind::Sfixed32) | ("sfixed64", Kind::Sfixed64) => true,
        ("uint32", Kind::Uint32) | ("uint64", Kind::Uint64) | ("fixed32", Kind::Fixed32) => true,
        ("fixed64", Kind::Fixed64) | ("float", Kind::Float) | ("double", Kind::Double) => true,
        ("duration", Kind::Message(m)) => m.full_name() == "google.protobuf.Duration",
        ("timestamp", Kind::Message(m)) => m.full_name() == "google.protobuf.Timestamp",
        _ => false,
    };
    if !fits {
        return Err(mismatch(at, name));
    }
    let rule = |field: &str| format!("{name}.{field}");
    Ok(match name {
        "string" => TypeRules::String(StringRules::read(at, rules)?),
        "bytes" => TypeRules::Bytes(BytesRules::read(at, rules)?),
        "bool" => {
            let mut constant = None;
            for (f, v) in rules.fields() {
                match f.name() {
                    "const" => constant = v.as_bool(),
                    "example" => {}
                    other => return Err(unsupported(at, &rule(other))),
                }
            }
            TypeRules::Bool(constant)
        }
        "enum" => {
            let mut enum_rules = EnumRules::read(at, rules)?;
            if let Kind::Enum(e) = kind {
                enum_rules.defined = e.values().map(|v| v.number()).collect();
            }
            TypeRules::Enum(enum_rules)
        }
        "uint32" | "uint64" | "fixed32" | "fixed64" => {
            TypeRules::UInt(NumRules::read(at, name, rules, |v| v.as_u32().map(u64::from).or_else(|| v.as_u64()))?)
        }
        "float" | "double" => {
            TypeRules::Float(NumRules::read(at, name, rules, |v| v.as_f32().map(f64::from).or_else(|| v.as_f64()))?)
        }
        "duration" | "timestamp" => TypeRules::Time(TimeRules::read(at, name, rules)?),
        _ => TypeRules::Int(NumRules::read(at, name, rules, |v| v.as_i32().map(i64::from).or_else(|| v.as_i64()))?),
    })
}

/// A rule message field holding a `google.protobuf.Duration` or `Timestamp`, in nanoseconds.
pub fn nanos_of(v: &Value) -> Option<i128> {
    let m = v.as_message()?;
    let seconds = m.get_field_by_name("seconds")?.as_i64()?;
    let nanos = m.get_field_by_name("nanos")?.as_i32()?;
    Some(i128::from(seconds) * 1_000_000_000 + i128::from(nanos))
}

/// Helpers for reading rule messages, shared by the rule types in `rules`.
pub fn read_list<T>(v: &Value, each: impl Fn(&Value) -> Option<T>) -> Vec<T> {
    v.as_list().into_iter().flatten().filter_map(each).collect()
}
