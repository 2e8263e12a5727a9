//! The rules of one value, as read from the descriptors, and their check. Rule ids and messages
//! follow protovalidate's (`string.uuid`, "value must be a valid UUID").

use std::collections::HashSet;
use std::fmt::Display;

use prost_reflect::{DynamicMessage, Value};
use regex::Regex;

use crate::formats;
use crate::plan::{
    BuildError, Ignore, check_unknown as check_rule_message, nanos_of, read_list, unsupported as unsupported_rule,
};
use crate::wire::Val;

/// One failed rule of one value: its id and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub rule: String,
    pub message: String,
}

fn failed(rule: impl Into<String>, message: impl Into<String>) -> Option<Failed> {
    Some(Failed { rule: rule.into(), message: message.into() })
}

#[derive(Debug)]
pub enum TypeRules {
    Int(NumRules<i64>),
    UInt(NumRules<u64>),
    Float(NumRules<f64>),
    Bool(Option<bool>),
    String(StringRules),
    Bytes(BytesRules),
    Enum(EnumRules),
    Time(TimeRules),
    Repeated(RepeatedRules),
    Map(MapRules),
}

/// The rules of each list item, map key or map value.
#[derive(Debug)]
pub struct ItemRules {
    pub ignore: Ignore,
    pub rules: Option<TypeRules>,
}

#[derive(Debug, Default)]
pub struct RepeatedRules {
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub unique: bool,
    pub items: Option<Box<ItemRules>>,
}

impl RepeatedRules {
    pub(crate) fn check_list(&self, items: &[Val<'_>]) -> Vec<Failed> {
        let n = items.len() as u64;
        let mut out = Vec::new();
        if let Some(min) = self.min_items.filter(|m| n < *m) {
            out.extend(failed("repeated.min_items", format!("value must contain at least {min} item(s)")));
        }
        if let Some(max) = self.max_items.filter(|m| n > *m) {
            out.extend(failed("repeated.max_items", format!("value must contain no more than {max} item(s)")));
        }
        if self.unique && items.iter().enumerate().any(|(i, v)| items[..i].contains(v)) {
            out.extend(failed("repeated.unique", "repeated value must contain unique items"));
        }
        out
    }
}

#[derive(Debug, Default)]
pub struct MapRules {
    pub min_pairs: Option<u64>,
    pub max_pairs: Option<u64>,
    pub keys: Option<Box<ItemRules>>,
    pub values: Option<Box<ItemRules>>,
}

impl MapRules {
    pub(crate) fn check_size(&self, n: usize) -> Vec<Failed> {
        let n = n as u64;
        let mut out = Vec::new();
        if let Some(min) = self.min_pairs.filter(|m| n < *m) {
            out.extend(failed("map.min_pairs", format!("map must be at least {min} entries")));
        }
        if let Some(max) = self.max_pairs.filter(|m| n > *m) {
            out.extend(failed("map.max_pairs", format!("map must be at most {max} entries")));
        }
        out
    }
}

impl TypeRules {
    /// Checks one value (never a list or map: those have their own checks).
    pub(crate) fn check(&self, v: &Val<'_>) -> Vec<Failed> {
        let one = match (self, v) {
            (TypeRules::Int(r), Val::Int(x)) => r.check(*x),
            (TypeRules::UInt(r), Val::UInt(x)) => r.check(*x),
            (TypeRules::Float(r), Val::Float(x)) => r.check(*x),
            (TypeRules::Bool(Some(c)), Val::Bool(x)) if c != x => failed("bool.const", format!("value must equal {c}")),
            (TypeRules::String(r), Val::Str(s)) => return r.check(s),
            (TypeRules::Bytes(r), Val::Bytes(b)) => return r.check(b),
            (TypeRules::Enum(r), Val::Enum(n)) => return r.check(*n),
            (TypeRules::Time(r), Val::Message(m)) => match crate::wire::seconds_nanos(m) {
                Ok(nanos) => r.check(nanos),
                Err(_) => failed(format!("{}.malformed", r.name), "value is not a well-formed message"),
            },
            _ => None,
        };
        one.into_iter().collect()
    }
}

/// A value in a rule message, as the rules compare it.
pub trait Bound: PartialOrd + PartialEq + Copy + Display {}
impl Bound for i64 {}
impl Bound for u64 {}
impl Bound for f64 {}

/// `const`, `lt`/`lte`, `gt`/`gte`, `in`, `not_in`: the rules every number type and the time
/// types (`duration`, `timestamp`) share.
#[derive(Debug)]
pub struct Bounds<T> {
    pub constant: Option<T>,
    pub lt: Option<T>,
    pub lte: Option<T>,
    pub gt: Option<T>,
    pub gte: Option<T>,
    pub r#in: Vec<T>,
    pub not_in: Vec<T>,
}

impl<T> Bounds<T> {
    /// Reads the rule message `name` (`int32`, `duration`, …): the shared rules here, each other
    /// field through `extra`, which says whether it took it; a field neither knows (nor
    /// `example`) cannot be planned.
    fn read(
        at: &str,
        name: &str,
        rules: &DynamicMessage,
        get: impl Fn(&Value) -> Option<T>,
        mut extra: impl FnMut(&str, &Value) -> bool,
    ) -> Result<Self, BuildError> {
        check_rule_message(at, rules)?;
        let mut out =
            Bounds { constant: None, lt: None, lte: None, gt: None, gte: None, r#in: Vec::new(), not_in: Vec::new() };
        for (f, v) in rules.fields() {
            match f.name() {
                "const" => out.constant = get(v),
                "lt" => out.lt = get(v),
                "lte" => out.lte = get(v),
                "gt" => out.gt = get(v),
                "gte" => out.gte = get(v),
                "in" => out.r#in = read_list(v, &get),
                "not_in" => out.not_in = read_list(v, &get),
                "example" => {}
                other if extra(other, v) => {}
                other => return Err(unsupported_rule(at, &format!("{name}.{other}"))),
            }
        }
        Ok(out)
    }
}

/// The rules of a number type.
#[derive(Debug)]
pub struct NumRules<T> {
    /// `int32`, `uint64`, …: the prefix of the rule ids.
    pub name: String,
    pub bounds: Bounds<T>,
    pub finite: bool,
}

impl<T: Bound> NumRules<T> {
    pub(crate) fn read(
        at: &str,
        name: &str,
        rules: &DynamicMessage,
        get: impl Fn(&Value) -> Option<T>,
    ) -> Result<Self, BuildError> {
        let mut finite = false;
        let bounds = Bounds::read(at, name, rules, get, |field, v| {
            let known = field == "finite";
            finite |= known && v.as_bool() == Some(true);
            known
        })?;
        Ok(NumRules { name: name.to_owned(), bounds, finite })
    }

    pub(crate) fn check(&self, x: T) -> Option<Failed> {
        let (name, b) = (&self.name, &self.bounds);
        if let Some(c) = b.constant.filter(|c| *c != x) {
            return failed(format!("{name}.const"), format!("value must equal {c}"));
        }
        if let Some(f) = range(name, x, b.gt, b.gte, b.lt, b.lte, |v| v.to_string()) {
            return Some(f);
        }
        if !b.r#in.is_empty() && !b.r#in.contains(&x) {
            return failed(format!("{name}.in"), format!("value must be in list {}", list(&b.r#in)));
        }
        if b.not_in.contains(&x) {
            return failed(format!("{name}.not_in"), format!("value must not be in list {}", list(&b.not_in)));
        }
        if self.finite && !x.to_string().parse::<f64>().is_ok_and(f64::is_finite) {
            return failed(format!("{name}.finite"), "value must be finite");
        }
        None
    }
}

fn list<T: Display>(values: &[T]) -> String {
    format!("[{}]", values.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
}

/// The range rules (`gt`/`gte` with `lt`/`lte`) as protovalidate words and names them: a lower
/// bound above the upper one means the range outside them.
fn range<T: PartialOrd + Copy>(
    name: &str,
    x: T,
    gt: Option<T>,
    gte: Option<T>,
    lt: Option<T>,
    lte: Option<T>,
    show: impl Fn(T) -> String,
) -> Option<Failed> {
    let lower =
        gt.map(|b| ("gt", "greater than", b, x > b)).or(gte.map(|b| ("gte", "greater than or equal to", b, x >= b)));
    let upper = lt.map(|b| ("lt", "less than", b, x < b)).or(lte.map(|b| ("lte", "less than or equal to", b, x <= b)));
    match (lower, upper) {
        (Some((lid, lword, lb, lok)), Some((uid, uword, ub, uok))) => {
            let exclusive = lb > ub || lb == ub && (lid == "gt" || uid == "lt");
            let (ok, joint, suffix) =
                if exclusive { (lok || uok, "or", "_exclusive") } else { (lok && uok, "and", "") };
            (!ok).then(|| Failed {
                rule: format!("{name}.{lid}_{uid}{suffix}"),
                message: format!("value must be {lword} {} {joint} {uword} {}", show(lb), show(ub)),
            })
        }
        (Some((id, word, b, ok)), None) | (None, Some((id, word, b, ok))) => {
            (!ok).then(|| Failed { rule: format!("{name}.{id}"), message: format!("value must be {word} {}", show(b)) })
        }
        (None, None) => None,
    }
}

/// `duration` and `timestamp` rules, in nanoseconds.
#[derive(Debug)]
pub struct TimeRules {
    pub name: String,
    pub bounds: Bounds<i128>,
    pub lt_now: bool,
    pub gt_now: bool,
    pub within: Option<i128>,
}

impl TimeRules {
    pub(crate) fn read(at: &str, name: &str, rules: &DynamicMessage) -> Result<Self, BuildError> {
        let (mut lt_now, mut gt_now, mut within) = (false, false, None);
        let bounds = Bounds::read(at, name, rules, nanos_of, |field, v| {
            match field {
                "lt_now" => lt_now = v.as_bool() == Some(true),
                "gt_now" => gt_now = v.as_bool() == Some(true),
                "within" => within = nanos_of(v),
                _ => return false,
            }
            true
        })?;
        Ok(TimeRules { name: name.to_owned(), bounds, lt_now, gt_now, within })
    }

    fn show(&self, nanos: i128) -> String {
        if self.name == "timestamp" {
            return format!("{}s since the epoch", seconds(nanos));
        }
        format!("{}s", seconds(nanos))
    }

    pub(crate) fn check(&self, x: i128) -> Option<Failed> {
        let (name, b) = (&self.name, &self.bounds);
        if let Some(c) = b.constant.filter(|c| *c != x) {
            return failed(format!("{name}.const"), format!("value must equal {}", self.show(c)));
        }
        if let Some(f) = range(name, x, b.gt, b.gte, b.lt, b.lte, |v| self.show(v)) {
            return Some(f);
        }
        if !b.r#in.is_empty() && !b.r#in.contains(&x) {
            return failed(format!("{name}.in"), "value must be in the listed values");
        }
        if b.not_in.contains(&x) {
            return failed(format!("{name}.not_in"), "value must not be in the listed values");
        }
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128);
        if self.lt_now && x >= now {
            return failed(format!("{name}.lt_now"), "value must be less than now");
        }
        if self.gt_now && x <= now {
            return failed(format!("{name}.gt_now"), "value must be greater than now");
        }
        if let Some(w) = self.within.filter(|w| (x - now).abs() > *w) {
            return failed(format!("{name}.within"), format!("value must be within {}s of now", seconds(w)));
        }
        None
    }
}

/// Nanoseconds as seconds, without trailing zeros.
fn seconds(nanos: i128) -> String {
    let (s, n) = (nanos / 1_000_000_000, (nanos % 1_000_000_000).abs());
    if n == 0 { s.to_string() } else { format!("{s}.{}", format!("{n:09}").trim_end_matches('0')) }
}

#[derive(Debug, Default)]
pub struct EnumRules {
    pub constant: Option<i32>,
    pub defined_only: bool,
    pub r#in: Vec<i32>,
    pub not_in: Vec<i32>,
    /// The numbers the enum defines, when `defined_only`.
    pub defined: HashSet<i32>,
}

impl EnumRules {
    pub(crate) fn read(at: &str, rules: &DynamicMessage) -> Result<Self, BuildError> {
        let mut out = EnumRules::default();
        for (f, v) in rules.fields() {
            match f.name() {
                "const" => out.constant = v.as_i32(),
                "defined_only" => out.defined_only = v.as_bool() == Some(true),
                "in" => out.r#in = read_list(v, Value::as_i32),
                "not_in" => out.not_in = read_list(v, Value::as_i32),
                "example" => {}
                other => return Err(unsupported_rule(at, &format!("enum.{other}"))),
            }
        }
        Ok(out)
    }

    pub(crate) fn check(&self, n: i32) -> Vec<Failed> {
        let mut out = Vec::new();
        if let Some(c) = self.constant.filter(|c| *c != n) {
            out.extend(failed("enum.const", format!("value must equal {c}")));
        }
        if self.defined_only && !self.defined.contains(&n) {
            out.extend(failed("enum.defined_only", "value must be one of the defined enum values"));
        }
        if !self.r#in.is_empty() && !self.r#in.contains(&n) {
            out.extend(failed("enum.in", format!("value must be in list {}", list(&self.r#in))));
        }
        if self.not_in.contains(&n) {
            out.extend(failed("enum.not_in", format!("value must not be in list {}", list(&self.not_in))));
        }
        out
    }
}

/// The well-known formats of `string` rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Email,
    Hostname,
    Ip,
    Ipv4,
    Ipv6,
    Uri,
    UriRef,
    Address,
    Uuid,
    Tuuid,
    HostAndPort,
}

impl Format {
    fn of(name: &str) -> Option<Format> {
        Some(match name {
            "email" => Format::Email,
            "hostname" => Format::Hostname,
            "ip" => Format::Ip,
            "ipv4" => Format::Ipv4,
            "ipv6" => Format::Ipv6,
            "uri" => Format::Uri,
            "uri_ref" => Format::UriRef,
            "address" => Format::Address,
            "uuid" => Format::Uuid,
            "tuuid" => Format::Tuuid,
            "host_and_port" => Format::HostAndPort,
            _ => return None,
        })
    }

    /// The rule's name in `buf.validate.StringRules`: `uuid`, `uri_ref`, `host_and_port`.
    pub fn name(self) -> &'static str {
        self.describe().0
    }

    /// The rule id's last part, and what a valid value is.
    fn describe(self) -> (&'static str, &'static str) {
        match self {
            Format::Email => ("email", "a valid email address"),
            Format::Hostname => ("hostname", "a valid hostname"),
            Format::Ip => ("ip", "a valid IP address"),
            Format::Ipv4 => ("ipv4", "a valid IPv4 address"),
            Format::Ipv6 => ("ipv6", "a valid IPv6 address"),
            Format::Uri => ("uri", "a valid URI"),
            Format::UriRef => ("uri_ref", "a valid URI Reference"),
            Format::Address => ("address", "a valid hostname, or ip address"),
            Format::Uuid => ("uuid", "a valid UUID"),
            Format::Tuuid => ("tuuid", "a valid trimmed UUID"),
            Format::HostAndPort => ("host_and_port", "a valid host (hostname or IP address) and port pair"),
        }
    }

    fn accepts(self, s: &str) -> bool {
        match self {
            Format::Email => formats::email(s),
            Format::Hostname => formats::hostname(s),
            Format::Ip => s.parse::<std::net::IpAddr>().is_ok(),
            Format::Ipv4 => s.parse::<std::net::Ipv4Addr>().is_ok(),
            Format::Ipv6 => s.parse::<std::net::Ipv6Addr>().is_ok(),
            Format::Uri => fluent_uri::Uri::parse(s).is_ok(),
            Format::UriRef => fluent_uri::UriRef::parse(s).is_ok(),
            Format::Address => formats::hostname(s) || s.parse::<std::net::IpAddr>().is_ok(),
            Format::Uuid => formats::uuid(s),
            Format::Tuuid => s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()),
            Format::HostAndPort => formats::host_and_port(s),
        }
    }
}

#[derive(Debug, Default)]
pub struct StringRules {
    pub constant: Option<String>,
    pub len: Option<u64>,
    pub min_len: Option<u64>,
    pub max_len: Option<u64>,
    pub len_bytes: Option<u64>,
    pub min_bytes: Option<u64>,
    pub max_bytes: Option<u64>,
    pub pattern: Option<Regex>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub contains: Option<String>,
    pub not_contains: Option<String>,
    pub r#in: Vec<String>,
    pub not_in: Vec<String>,
    pub formats: Vec<Format>,
}

impl StringRules {
    pub(crate) fn read(at: &str, rules: &DynamicMessage) -> Result<Self, BuildError> {
        let mut out = StringRules::default();
        let text = |v: &Value| v.as_str().map(str::to_owned);
        for (f, v) in rules.fields() {
            match f.name() {
                "const" => out.constant = text(v),
                "len" => out.len = v.as_u64(),
                "min_len" => out.min_len = v.as_u64(),
                "max_len" => out.max_len = v.as_u64(),
                "len_bytes" => out.len_bytes = v.as_u64(),
                "min_bytes" => out.min_bytes = v.as_u64(),
                "max_bytes" => out.max_bytes = v.as_u64(),
                "pattern" => out.pattern = Some(pattern(at, v.as_str().unwrap_or_default())?),
                "prefix" => out.prefix = text(v),
                "suffix" => out.suffix = text(v),
                "contains" => out.contains = text(v),
                "not_contains" => out.not_contains = text(v),
                "in" => out.r#in = read_list(v, text),
                "not_in" => out.not_in = read_list(v, text),
                "example" => {}
                name => match Format::of(name) {
                    Some(format) => {
                        if v.as_bool() == Some(true) {
                            out.formats.push(format);
                        }
                    }
                    None => return Err(unsupported_rule(at, &format!("string.{name}"))),
                },
            }
        }
        Ok(out)
    }

    pub(crate) fn check(&self, s: &str) -> Vec<Failed> {
        let mut out = Vec::new();
        let mut add = |f: Option<Failed>| out.extend(f);
        if let Some(c) = self.constant.as_deref().filter(|c| *c != s) {
            add(failed("string.const", format!("value must equal `{c}`")));
        }
        let chars = s.chars().count() as u64;
        if let Some(n) = self.len.filter(|n| chars != *n) {
            add(failed("string.len", format!("value length must be {n} characters")));
        }
        if let Some(n) = self.min_len.filter(|n| chars < *n) {
            add(failed("string.min_len", format!("value length must be at least {n} characters")));
        }
        if let Some(n) = self.max_len.filter(|n| chars > *n) {
            add(failed("string.max_len", format!("value length must be at most {n} characters")));
        }
        let bytes = s.len() as u64;
        if let Some(n) = self.len_bytes.filter(|n| bytes != *n) {
            add(failed("string.len_bytes", format!("value length must be {n} bytes")));
        }
        if let Some(n) = self.min_bytes.filter(|n| bytes < *n) {
            add(failed("string.min_bytes", format!("value length must be at least {n} bytes")));
        }
        if let Some(n) = self.max_bytes.filter(|n| bytes > *n) {
            add(failed("string.max_bytes", format!("value length must be at most {n} bytes")));
        }
        if let Some(p) = self.pattern.as_ref().filter(|p| !p.is_match(s)) {
            add(failed("string.pattern", format!("value does not match regex pattern `{}`", p.as_str())));
        }
        if let Some(p) = self.prefix.as_deref().filter(|p| !s.starts_with(p)) {
            add(failed("string.prefix", format!("value does not have prefix `{p}`")));
        }
        if let Some(p) = self.suffix.as_deref().filter(|p| !s.ends_with(p)) {
            add(failed("string.suffix", format!("value does not have suffix `{p}`")));
        }
        if let Some(p) = self.contains.as_deref().filter(|p| !s.contains(p)) {
            add(failed("string.contains", format!("value does not contain substring `{p}`")));
        }
        if let Some(p) = self.not_contains.as_deref().filter(|p| s.contains(p)) {
            add(failed("string.not_contains", format!("value contains substring `{p}`")));
        }
        if !self.r#in.is_empty() && !self.r#in.iter().any(|v| v == s) {
            add(failed("string.in", format!("value must be in list {}", list(&self.r#in))));
        }
        if self.not_in.iter().any(|v| v == s) {
            add(failed("string.not_in", format!("value must not be in list {}", list(&self.not_in))));
        }
        for format in &self.formats {
            let (id, what) = format.describe();
            if s.is_empty() {
                add(failed(format!("string.{id}_empty"), format!("value is empty, which is not {what}")));
            } else if !format.accepts(s) {
                add(failed(format!("string.{id}"), format!("value must be {what}")));
            }
        }
        out
    }
}

/// A `pattern` rule: RE2 syntax, matched anywhere unless anchored, as protovalidate does.
fn pattern(at: &str, source: &str) -> Result<Regex, BuildError> {
    Regex::new(source).map_err(|e| BuildError::Invalid { at: at.to_owned(), what: format!("pattern {source:?}: {e}") })
}

#[derive(Debug, Default)]
pub struct BytesRules {
    pub constant: Option<Vec<u8>>,
    pub len: Option<u64>,
    pub min_len: Option<u64>,
    pub max_len: Option<u64>,
    pub pattern: Option<Regex>,
    pub prefix: Option<Vec<u8>>,
    pub suffix: Option<Vec<u8>>,
    pub contains: Option<Vec<u8>>,
    pub r#in: Vec<Vec<u8>>,
    pub not_in: Vec<Vec<u8>>,
    /// `ip`, `ipv4`, `ipv6`: the accepted lengths (4 and/or 16) and the rule's name.
    pub ip: Option<(&'static [usize], &'static str)>,
}

impl BytesRules {
    pub(crate) fn read(at: &str, rules: &DynamicMessage) -> Result<Self, BuildError> {
        let mut out = BytesRules::default();
        let bytes = |v: &Value| v.as_bytes().map(|b| b.to_vec());
        for (f, v) in rules.fields() {
            let on = v.as_bool() == Some(true);
            match f.name() {
                "const" => out.constant = bytes(v),
                "len" => out.len = v.as_u64(),
                "min_len" => out.min_len = v.as_u64(),
                "max_len" => out.max_len = v.as_u64(),
                "pattern" => out.pattern = Some(pattern(at, v.as_str().unwrap_or_default())?),
                "prefix" => out.prefix = bytes(v),
                "suffix" => out.suffix = bytes(v),
                "contains" => out.contains = bytes(v),
                "in" => out.r#in = read_list(v, bytes),
                "not_in" => out.not_in = read_list(v, bytes),
                "ip" if on => out.ip = Some((&[4, 16], "ip")),
                "ipv4" if on => out.ip = Some((&[4], "ipv4")),
                "ipv6" if on => out.ip = Some((&[16], "ipv6")),
                "ip" | "ipv4" | "ipv6" | "example" => {}
                other => return Err(unsupported_rule(at, &format!("bytes.{other}"))),
            }
        }
        Ok(out)
    }

    pub(crate) fn check(&self, b: &[u8]) -> Vec<Failed> {
        let mut out = Vec::new();
        let mut add = |f: Option<Failed>| out.extend(f);
        let n = b.len() as u64;
        if self.constant.as_deref().is_some_and(|c| c != b) {
            add(failed("bytes.const", "value must equal the given bytes"));
        }
        if let Some(l) = self.len.filter(|l| n != *l) {
            add(failed("bytes.len", format!("value length must be {l} bytes")));
        }
        if let Some(l) = self.min_len.filter(|l| n < *l) {
            add(failed("bytes.min_len", format!("value length must be at least {l} bytes")));
        }
        if let Some(l) = self.max_len.filter(|l| n > *l) {
            add(failed("bytes.max_len", format!("value length must be at most {l} bytes")));
        }
        if let Some(p) = &self.pattern {
            match std::str::from_utf8(b) {
                Ok(s) if p.is_match(s) => {}
                Ok(_) => add(failed("bytes.pattern", format!("value must match regex pattern `{}`", p.as_str()))),
                Err(_) => add(failed("bytes.pattern", "value must be valid UTF-8 to apply regexp")),
            }
        }
        if self.prefix.as_deref().is_some_and(|p| !b.starts_with(p)) {
            add(failed("bytes.prefix", "value does not have the given prefix"));
        }
        if self.suffix.as_deref().is_some_and(|p| !b.ends_with(p)) {
            add(failed("bytes.suffix", "value does not have the given suffix"));
        }
        if self.contains.as_deref().is_some_and(|p| !p.is_empty() && !b.windows(p.len()).any(|w| w == p)) {
            add(failed("bytes.contains", "value does not contain the given bytes"));
        }
        if !self.r#in.is_empty() && !self.r#in.iter().any(|v| v == b) {
            add(failed("bytes.in", "value must be in the listed values"));
        }
        if self.not_in.iter().any(|v| v == b) {
            add(failed("bytes.not_in", "value must not be in the listed values"));
        }
        if let Some((lens, name)) = self.ip {
            if b.is_empty() {
                add(failed(format!("bytes.{name}_empty"), "value is empty, which is not a valid IP address"));
            } else if !lens.contains(&b.len()) {
                add(failed(format!("bytes.{name}"), "value must be a valid IP address"));
            }
        }
        out
    }
}
