//! `buf.validate` (protovalidate) field rules, read from a descriptor set once and checked on
//! prost messages.
//!
//! [`Validator::new`] reads every `(buf.validate.field)`, `(buf.validate.oneof)` and
//! `(buf.validate.message)` option of the set into plain Rust values, and fails on any rule it
//! cannot check (CEL expressions, predefined rules, a format it does not know): a rule is
//! never skipped. [`Validator::validate`] encodes the message (prost's canonical encoding) and
//! walks the bytes with that plan: no generated code per message, no reflection or dynamic
//! message per call, and a message type without rules costs one map lookup.
//!
//! Violations name the field by its JSON path (`filter.creatorIds[2]`, `labels["k"]`), with
//! protovalidate's rule id (`repeated.items`, `string.uuid`) and wording.
//!
//! Semantics (protovalidate 1.0): a field without presence (a proto3 scalar, a list, a map) is
//! checked even when unset, as its zero value; one with presence (a message, `optional`, a oneof
//! member) only when set. `required` demands presence, or a non-zero value, or a non-empty list
//! or map. `ignore: IGNORE_IF_ZERO_VALUE` skips the zero value; `IGNORE_ALWAYS` everything.

mod formats;
mod plan;
mod rules;
mod wire;

use std::collections::HashMap;

pub use plan::{BuildError, Ignore};
use plan::{FieldPlan, MessagePlan, Shape, ValueKind};
use rules::Failed;
pub use rules::{
    Bounds, BytesRules, EnumRules, Format, ItemRules, MapRules, NumRules, RepeatedRules, StringRules, TimeRules,
    TypeRules,
};
use wire::{Malformed, Raw, Val};

/// One rule a message breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field's path in JSON form: `filter.creatorIds[2]`, `spec.configuration.region`.
    pub field: String,
    /// protovalidate's rule id: `string.uuid`, `repeated.max_items`, `required`.
    pub rule: String,
    /// What the rule asks: "value must be a valid UUID".
    pub message: String,
}

impl Violation {
    /// The rule id in the UPPER_SNAKE_CASE of `google.rpc.BadRequest.FieldViolation.reason`:
    /// `string.uuid` is `STRING_UUID`.
    pub fn reason(&self) -> String {
        self.rule.replace('.', "_").to_ascii_uppercase()
    }
}

/// The declared rules of one field, to describe them (an OpenAPI schema, say) rather than to
/// check a value: [`Validator::field_rules`].
#[derive(Debug, Clone, Copy)]
pub struct FieldRules<'v> {
    /// `required`: set (a field with presence), or non-zero (a scalar), or non-empty (a list or map).
    pub required: bool,
    pub ignore: Ignore,
    /// The rules of the value: of its type for a singular field, `Repeated` or `Map` for a list
    /// or map (their items, keys and values inside).
    pub rules: Option<&'v TypeRules>,
}

/// A rule on several fields of a message: a `(buf.validate.oneof)` on a proto oneof, or a
/// message-level `oneof` rule; [`Validator::oneof_rules`].
#[derive(Debug, Clone, Copy)]
pub struct OneofRules<'v> {
    /// The fields' numbers.
    pub fields: &'v [u32],
    /// One of them must be set.
    pub required: bool,
    /// A message-level rule: at most one of them may be set (a proto oneof is exclusive anyway).
    pub exclusive: bool,
}

/// The rules of every message of a descriptor set.
pub struct Validator {
    by_name: HashMap<String, usize>,
    messages: Vec<MessagePlan>,
    rule_count: usize,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator").field("messages", &self.messages.len()).field("rules", &self.rule_count).finish()
    }
}

impl Validator {
    /// Reads the rules of every message of an encoded `FileDescriptorSet` (which must hold
    /// `buf/validate/validate.proto` when any file uses it: it does when encoded with imports).
    pub fn new(descriptor_set: &[u8]) -> Result<Self, BuildError> {
        let plans = plan::build(descriptor_set)?;
        Ok(Self { by_name: plans.by_name, messages: plans.messages, rule_count: plans.rule_count })
    }

    /// How many fields carry rules, over every message.
    pub fn rule_count(&self) -> usize {
        self.rule_count
    }

    /// The declared rules of field `number` of message `full_name`, if it has any.
    pub fn field_rules(&self, full_name: &str, number: u32) -> Option<FieldRules<'_>> {
        let plan = &self.messages[*self.by_name.get(full_name)?];
        let field = plan.fields.iter().find(|f| f.number == number)?;
        (field.required || field.rules.is_some()).then_some(FieldRules {
            required: field.required,
            ignore: field.ignore,
            rules: field.rules.as_ref(),
        })
    }

    /// The rules on several fields of message `full_name`.
    pub fn oneof_rules(&self, full_name: &str) -> impl Iterator<Item = OneofRules<'_>> {
        let plan = self.by_name.get(full_name).map(|i| &self.messages[*i]);
        plan.into_iter().flat_map(|p| &p.oneofs).map(|o| OneofRules {
            fields: &o.numbers,
            required: o.required,
            exclusive: o.exclusive,
        })
    }

    /// Whether checking a message of this type can find anything.
    pub fn has_rules(&self, full_name: &str) -> bool {
        self.by_name.get(full_name).is_some_and(|i| self.messages[*i].active)
    }

    /// Checks a message against the rules of its type; every violation, or `Ok`.
    pub fn validate<M: prost::Message + prost::Name>(&self, message: &M) -> Result<(), Vec<Violation>> {
        let Some(&index) = self.by_name.get(&M::full_name()) else { return Ok(()) };
        if !self.messages[index].active {
            return Ok(());
        }
        self.check(index, &message.encode_to_vec())
    }

    /// Checks an encoded message of type `full_name` (`gitpod.v1.GetRunnerRequest`).
    pub fn validate_encoded(&self, full_name: &str, bytes: &[u8]) -> Result<(), Vec<Violation>> {
        match self.by_name.get(full_name) {
            Some(&index) if self.messages[index].active => self.check(index, bytes),
            _ => Ok(()),
        }
    }

    fn check(&self, index: usize, bytes: &[u8]) -> Result<(), Vec<Violation>> {
        let mut walk = Walk { validator: self, path: Vec::new(), out: Vec::new() };
        if walk.message(index, bytes).is_err() {
            walk.out.push(Violation {
                field: String::new(),
                rule: "malformed".to_owned(),
                message: "the message is not a well-formed protobuf encoding".to_owned(),
            });
        }
        if walk.out.is_empty() { Ok(()) } else { Err(walk.out) }
    }
}

/// A step of a field path.
enum Step<'p> {
    Field(&'p str),
    Index(usize),
    Key(String),
}

struct Walk<'v> {
    validator: &'v Validator,
    path: Vec<Step<'v>>,
    out: Vec<Violation>,
}

impl<'v> Walk<'v> {
    fn path(&self) -> String {
        let mut out = String::new();
        for step in &self.path {
            match step {
                Step::Field(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Step::Index(i) => out.push_str(&format!("[{i}]")),
                Step::Key(k) => out.push_str(&format!("[{k}]")),
            }
        }
        out
    }

    fn report(&mut self, failures: impl IntoIterator<Item = Failed>) {
        for f in failures {
            let field = self.path();
            self.out.push(Violation { field, rule: f.rule, message: f.message });
        }
    }

    fn required(&mut self) {
        self.report([Failed { rule: "required".to_owned(), message: "value is required".to_owned() }]);
    }

    fn message(&mut self, index: usize, bytes: &[u8]) -> Result<(), Malformed> {
        let plan = &self.validator.messages[index];
        // The occurrences of the planned fields, in wire order, and which oneof members are set.
        let mut seen: Vec<(usize, Raw<'_>)> = Vec::new();
        let mut set_numbers: Vec<u32> = Vec::new();
        for field in wire::fields(bytes) {
            let (number, raw) = field?;
            if !plan.oneofs.is_empty() {
                set_numbers.push(number);
            }
            if let Some(i) = plan.fields.iter().position(|f| f.number == number) {
                seen.push((i, raw));
            }
        }
        for oneof in &plan.oneofs {
            let set = oneof.numbers.iter().filter(|n| set_numbers.contains(n)).count();
            self.path.push(Step::Field(&oneof.name));
            if oneof.exclusive && set > 1 {
                let names = oneof.name.clone();
                self.report([Failed {
                    rule: "message.oneof".to_owned(),
                    message: format!("only one of {names} can be set"),
                }]);
            } else if oneof.required && set == 0 {
                let message = if oneof.exclusive {
                    format!("one of {} must be set", oneof.name)
                } else {
                    "exactly one field is required in oneof".to_owned()
                };
                let rule = if oneof.exclusive { "message.oneof" } else { "required" };
                self.report([Failed { rule: rule.to_owned(), message }]);
            }
            self.path.pop();
        }
        let mut values = Vec::new();
        for (i, field) in plan.fields.iter().enumerate() {
            values.clear();
            for (_, raw) in seen.iter().filter(|(f, _)| *f == i) {
                match &field.shape {
                    Shape::Map { .. } => match raw {
                        Raw::Len(entry) => values.push(Val::Message(entry)),
                        _ => return Err(Malformed),
                    },
                    _ => wire::values(&field.kind, *raw, &mut values)?,
                }
            }
            self.path.push(Step::Field(&field.json_name));
            self.field(field, &values)?;
            self.path.pop();
        }
        Ok(())
    }

    fn field(&mut self, field: &'v FieldPlan, values: &[Val<'_>]) -> Result<(), Malformed> {
        if field.ignore == Ignore::Always {
            return Ok(());
        }
        match &field.shape {
            Shape::Singular { presence } => {
                let value = values.last().copied();
                let zero = value.is_none_or(|v| v.is_zero());
                if field.required && if *presence { value.is_none() } else { zero } {
                    self.required();
                    return Ok(());
                }
                let value = match value {
                    Some(v) => v,
                    None if *presence => return Ok(()),
                    None => Val::zero(&field.kind),
                };
                if field.ignore == Ignore::IfZeroValue && !*presence && zero {
                    return Ok(());
                }
                if let Some(rules) = &field.rules {
                    let failures = rules.check(&value);
                    self.report(failures);
                }
                if let (Some(nested), Val::Message(bytes)) = (field.message, value) {
                    self.message(nested, bytes)?;
                }
            }
            Shape::Repeated => {
                if field.required && values.is_empty() {
                    self.required();
                    return Ok(());
                }
                if field.ignore == Ignore::IfZeroValue && values.is_empty() {
                    return Ok(());
                }
                let items = match &field.rules {
                    Some(rules::TypeRules::Repeated(r)) => {
                        let failures = r.check_list(values);
                        self.report(failures);
                        r.items.as_deref()
                    }
                    _ => None,
                };
                for (i, v) in values.iter().enumerate() {
                    self.path.push(Step::Index(i));
                    self.item(items, v, field.message)?;
                    self.path.pop();
                }
            }
            Shape::Map { key } => {
                if field.required && values.is_empty() {
                    self.required();
                    return Ok(());
                }
                if field.ignore == Ignore::IfZeroValue && values.is_empty() {
                    return Ok(());
                }
                let (keys, vals) = match &field.rules {
                    Some(rules::TypeRules::Map(r)) => {
                        let failures = r.check_size(values.len());
                        self.report(failures);
                        (r.keys.as_deref(), r.values.as_deref())
                    }
                    _ => (None, None),
                };
                for entry in values {
                    let Val::Message(entry) = entry else { return Err(Malformed) };
                    let (k, v) = map_entry(key, &field.kind, entry)?;
                    self.path.push(Step::Key(show_key(&k)));
                    self.item(keys, &k, None)?;
                    self.item(vals, &v, field.message)?;
                    self.path.pop();
                }
            }
        }
        Ok(())
    }

    /// A list item, map key or map value: its own rules, and its message's.
    fn item(&mut self, rules: Option<&ItemRules>, v: &Val<'_>, message: Option<usize>) -> Result<(), Malformed> {
        if let Some(item) = rules {
            let skip = item.ignore == Ignore::Always || item.ignore == Ignore::IfZeroValue && v.is_zero();
            if skip {
                return Ok(());
            }
            if let Some(r) = &item.rules {
                let failures = r.check(v);
                self.report(failures);
            }
        }
        if let (Some(nested), Val::Message(bytes)) = (message, v) {
            self.message(nested, bytes)?;
        }
        Ok(())
    }
}

/// The key (1) and value (2) of a map entry, zero when absent.
fn map_entry<'a>(key: &ValueKind, value: &ValueKind, entry: &'a [u8]) -> Result<(Val<'a>, Val<'a>), Malformed> {
    let (mut k, mut v) = (Val::zero(key), Val::zero(value));
    let mut one = Vec::with_capacity(1);
    for field in wire::fields(entry) {
        let (number, raw) = field?;
        let kind = match number {
            1 => key,
            2 => value,
            _ => continue,
        };
        one.clear();
        wire::values(kind, raw, &mut one)?;
        if let Some(x) = one.last() {
            if number == 1 { k = *x } else { v = *x }
        }
    }
    Ok((k, v))
}

/// A map key as protovalidate shows it in a path: strings quoted, numbers and booleans bare.
fn show_key(k: &Val<'_>) -> String {
    match k {
        Val::Str(s) => format!("{s:?}"),
        Val::Int(i) => i.to_string(),
        Val::UInt(u) => u.to_string(),
        Val::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}
