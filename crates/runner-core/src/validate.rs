//! Input rules shared by every RPC. Each check returns a [`FieldViolation`] naming the field by
//! its JSON path, so the caller can collect several before failing.

use uuid::Uuid;

use crate::error::FieldViolation;
use crate::model::ApiEnum;

/// Default number of items in a page.
pub const DEFAULT_PAGE_SIZE: u32 = 25;
/// Largest page a caller may ask for.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Largest number of values in one list filter.
pub const MAX_FILTER_VALUES: usize = 25;
/// Longest URL accepted (context URLs, repository URLs, endpoints, links).
pub const MAX_URL_LEN: usize = 2048;
/// The longest an access token (a user's personal access token, a service account's token) may
/// be valid: 90 days, as the API declares for personal access tokens.
pub const MAX_TOKEN_VALIDITY_SECS: i64 = 90 * 86_400;
/// The longest description of an access token.
pub const MAX_TOKEN_DESCRIPTION: usize = 255;

/// How long a new access token is valid, in whole seconds: required (every token expires),
/// positive, and at most [`MAX_TOKEN_VALIDITY_SECS`].
pub fn token_validity(field: &str, seconds: Option<i64>) -> Result<i64, FieldViolation> {
    match seconds.filter(|s| *s > 0) {
        None => Err(FieldViolation::new(field, "is required: how long the token is valid, at most 90 days")),
        Some(s) if s > MAX_TOKEN_VALIDITY_SECS => Err(FieldViolation::new(field, "must be at most 90 days")),
        Some(s) => Ok(s),
    }
}

/// A required UUID string.
pub fn uuid(field: &str, value: &str) -> Result<Uuid, FieldViolation> {
    if value.is_empty() {
        return Err(FieldViolation::new(field, "is required"));
    }
    // Only the canonical hyphenated form, as protovalidate's `string.uuid` accepts.
    if value.len() != 36 {
        return Err(FieldViolation::new(field, "must be a UUID"));
    }
    Uuid::try_parse(value).map_err(|_| FieldViolation::new(field, "must be a UUID"))
}

/// An optional UUID string: empty means absent.
pub fn optional_uuid(field: &str, value: &str) -> Result<Option<Uuid>, FieldViolation> {
    if value.is_empty() { Ok(None) } else { uuid(field, value).map(Some) }
}

/// A string whose length in characters lies in `min..=max`.
pub fn length(field: &str, value: &str, min: usize, max: usize) -> Result<(), FieldViolation> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(FieldViolation::new(field, format!("must be {min} to {max} characters long, got {n}")));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(FieldViolation::new(field, "must not contain control characters"));
    }
    Ok(())
}

/// Free text of at most `max` characters that may span lines (tabs and line breaks allowed,
/// other control characters not).
pub fn text(field: &str, value: &str, max: usize) -> Result<(), FieldViolation> {
    length(field, &value.replace(['\n', '\r', '\t'], " "), 0, max)
}

/// An optional `http` or `https` URL with a host: empty means absent.
pub fn optional_http_url(field: &str, value: &str) -> Result<(), FieldViolation> {
    if value.is_empty() {
        return Ok(());
    }
    length(field, value, 1, MAX_URL_LEN)?;
    if !is_http_url(value) {
        return Err(FieldViolation::new(field, "must be an http or https URL"));
    }
    Ok(())
}

/// A required absolute http(s) URL with a host, as repository and other URLs are.
pub fn check_url(field: &str, url: &str) -> Result<(), FieldViolation> {
    length(field, url, 1, MAX_URL_LEN)?;
    if !is_http_url(url) {
        return Err(FieldViolation::new(
            field,
            "must be an absolute http(s) URL, for example https://github.com/org/repo",
        ));
    }
    Ok(())
}

/// `http://` or `https://`, a non-empty host, and no white space anywhere.
fn is_http_url(value: &str) -> bool {
    let rest = value.strip_prefix("https://").or_else(|| value.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
    host.is_some_and(|h| !h.is_empty()) && !value.contains(char::is_whitespace)
}

/// A domain name such as `example.com`, lower case: at least two labels of letters, digits and
/// inner hyphens, each at most 63 long, at most 253 in all. The rule for the email domains of an
/// SSO configuration, and so for the domain of an address that could be matched to one.
pub fn is_domain_name(d: &str) -> bool {
    d.len() >= 4
        && d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// A host: a DNS name, optionally with a port and a path (`dev.azure.com/acme`), no scheme.
pub fn check_host(field: &str, host: &str) -> Result<(), FieldViolation> {
    length(field, host, 1, 255)?;
    if host.contains("://") || host.chars().any(|c| c.is_whitespace()) || host.starts_with('/') {
        return Err(FieldViolation::new(field, "must be a host name such as github.com, without scheme or spaces"));
    }
    Ok(())
}

/// An optional string of at most `max` characters: absent passes.
pub fn optional_text(field: &str, value: &Option<String>, max: usize) -> Result<(), FieldViolation> {
    match value {
        Some(v) => length(field, v, 0, max),
        None => Ok(()),
    }
}

/// A human name: `min..=max` characters, not only white space.
pub fn name(field: &str, value: &str, min: usize, max: usize) -> Result<String, FieldViolation> {
    length(field, value, min, max)?;
    if value.trim().is_empty() {
        return Err(FieldViolation::new(field, "must not be blank"));
    }
    Ok(value.to_owned())
}

/// An enum number that must name a defined, non-UNSPECIFIED value.
pub fn enum_value<E: ApiEnum>(field: &str, number: i32) -> Result<E, FieldViolation> {
    if number == 0 {
        return Err(FieldViolation::new(field, "must not be unspecified"));
    }
    E::from_number(number).ok_or_else(|| FieldViolation::new(field, format!("unknown value {number}")))
}

/// An optional enum: 0 (UNSPECIFIED) means absent.
pub fn optional_enum<E: ApiEnum>(field: &str, number: i32) -> Result<Option<E>, FieldViolation> {
    if number == 0 { Ok(None) } else { enum_value(field, number).map(Some) }
}

/// A page size: 0 means the default; negative or above the maximum is refused
/// (semantics.md §1.4: invalid_argument rather than a silent clamp).
pub fn page_size(field: &str, size: i32) -> Result<u32, FieldViolation> {
    match size {
        0 => Ok(DEFAULT_PAGE_SIZE),
        1..=100 => Ok(size as u32),
        _ => Err(FieldViolation::new(field, format!("must be between 0 and {MAX_PAGE_SIZE}, got {size}"))),
    }
}

/// A list filter of at most [`MAX_FILTER_VALUES`] entries, each checked by `item`.
pub fn filter_list<T, U>(
    field: &str,
    values: &[T],
    mut item: impl FnMut(&str, &T) -> Result<U, FieldViolation>,
) -> Result<Vec<U>, FieldViolation> {
    if values.len() > MAX_FILTER_VALUES {
        return Err(FieldViolation::new(
            field,
            format!("must have at most {MAX_FILTER_VALUES} entries, got {}", values.len()),
        ));
    }
    let mut out: Vec<U> = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        out.push(item(&format!("{field}[{i}]"), v)?);
    }
    Ok(out)
}

/// Collects the violations of several independent checks.
#[derive(Debug, Default)]
pub struct Violations(pub Vec<FieldViolation>);

impl Violations {
    /// Keeps the value of a passed check, records the violation of a failed one.
    pub fn check<T>(&mut self, r: Result<T, FieldViolation>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub fn push(&mut self, v: FieldViolation) {
        self.0.push(v);
    }

    /// `Ok(())` when nothing was recorded.
    pub fn finish(self) -> Result<(), crate::CoreError> {
        if self.0.is_empty() { Ok(()) } else { Err(crate::CoreError::InvalidArgument(self.0)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RunnerKind;

    #[test]
    fn text_and_urls() {
        assert!(text("f", "line one\nline two\ttabbed", 100).is_ok());
        assert!(text("f", "bell\u{7}", 100).is_err());
        assert!(text("f", "abc", 2).is_err());
        for ok in ["", "https://logs.example.com/runner?x=1", "http://10.0.0.1:8080"] {
            assert!(optional_http_url("u", ok).is_ok(), "{ok}");
        }
        for bad in ["ftp://x", "https://", "https:///path", "logs.example.com", "https://a b", "javascript:alert(1)"] {
            assert!(optional_http_url("u", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn required_urls() {
        for ok in [
            "https://github.com/org/repo",
            "http://gitlab.example.com:8080/a/b/-/tree/main",
            "https://dev.azure.com/o/p/_git/r?version=GBmain",
        ] {
            assert!(check_url("u", ok).is_ok(), "{ok}");
        }
        for bad in ["", "github.com/org/repo", "ftp://x/y", "https://", "https:///path", "https://github.com/a b"] {
            assert!(check_url("u", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn uuids() {
        assert!(uuid("id", "d2c94c27-3b76-4a42-b88c-95a85e392c68").is_ok());
        assert_eq!(uuid("id", "").unwrap_err().description, "is required");
        for bad in [
            "abc",
            "d2c94c273b764a42b88c95a85e392c68",
            "{d2c94c27-3b76-4a42-b88c-95a85e392c68}",
            "d2c94c27-3b76-4a42-b88c-95a85e392c6g",
        ] {
            assert_eq!(uuid("id", bad).unwrap_err().description, "must be a UUID", "{bad}");
        }
    }

    #[test]
    fn lengths_count_characters() {
        assert!(name("name", "abc", 3, 127).is_ok());
        assert!(name("name", "ab", 3, 127).is_err());
        assert!(name("name", "äöü", 3, 127).is_ok());
        assert!(name("name", &"x".repeat(128), 3, 127).is_err());
        assert!(name("name", "   ", 3, 127).is_err());
        assert!(name("name", "a\0bc", 3, 127).is_err());
    }

    #[test]
    fn page_sizes() {
        assert_eq!(page_size("p", 0).unwrap(), 25);
        assert_eq!(page_size("p", 100).unwrap(), 100);
        assert!(page_size("p", 101).is_err());
        assert!(page_size("p", -1).is_err());
    }

    #[test]
    fn enums() {
        assert_eq!(enum_value::<RunnerKind>("k", 2).unwrap(), RunnerKind::Remote);
        assert!(enum_value::<RunnerKind>("k", 0).is_err());
        assert!(enum_value::<RunnerKind>("k", 9).is_err());
        assert_eq!(optional_enum::<RunnerKind>("k", 0).unwrap(), None);
    }

    #[test]
    fn filter_lists() {
        let ids: Vec<String> = (0..26).map(|_| "x".to_owned()).collect();
        assert!(filter_list("ids", &ids, |f, v| uuid(f, v)).unwrap_err().description.contains("at most 25"));
        let e = filter_list("ids", &["d2c94c27-3b76-4a42-b88c-95a85e392c68".to_owned(), "bad".to_owned()], |f, v| {
            uuid(f, v)
        })
        .unwrap_err();
        assert_eq!(e.field, "ids[1]");
    }
}
