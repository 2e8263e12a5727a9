//! Page tokens: opaque to callers, self-contained and tamper-evident.
//!
//! A token carries the list it belongs to, the filter of the first request and the position
//! after the last item served, so that a request carrying only the token (as the TypeScript
//! SDK sends for page 2) continues the same listing. It is signed with HMAC-SHA256 under a
//! server key; any change to it is refused with `invalid_argument`. Every replica that shares
//! the key accepts the tokens of the others.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sha2::Sha256;

use crate::error::FieldViolation;

const VERSION: u8 = 1;
const MAC_LEN: usize = 16;
/// Longer tokens are refused before any decoding work.
const MAX_TOKEN_LEN: usize = 4096;

#[derive(Serialize, Deserialize)]
struct Payload<F> {
    v: u8,
    /// Which listing this token continues.
    k: String,
    f: F,
    /// Sort key of the last item served.
    a: String,
}

/// Where a page starts: the filter and the position after which to continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor<F> {
    pub filter: F,
    pub after: Option<String>,
}

impl<F> Cursor<F> {
    /// The position as an id: every listing here is ordered by a UUID.
    pub fn after_id(&self) -> Result<Option<uuid::Uuid>, FieldViolation> {
        self.after
            .as_deref()
            .map(|a| {
                uuid::Uuid::try_parse(a).map_err(|_| FieldViolation::new("pagination.token", "invalid page token"))
            })
            .transpose()
    }
}

/// A page of results and the token of the next one (empty on the last page).
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: String,
}

/// Signs and checks page tokens under one key.
#[derive(Clone)]
pub struct PageTokens {
    key: [u8; 32],
}

impl std::fmt::Debug for PageTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageTokens(<key redacted>)")
    }
}

impl PageTokens {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(payload);
        mac
    }

    /// A token that continues listing `kind` with `filter` after the item whose sort key is
    /// `after`.
    pub fn encode<F: Serialize>(&self, kind: &str, filter: &F, after: &str) -> String {
        let payload = serde_json::to_vec(&Payload { v: VERSION, k: kind.to_owned(), f: filter, a: after.to_owned() })
            .expect("page token payload serializes");
        let tag = self.mac(&payload).finalize().into_bytes();
        format!("{}.{}", B64.encode(&payload), B64.encode(&tag[..MAC_LEN]))
    }

    /// Checks and opens a token of listing `kind`.
    pub fn decode<F: DeserializeOwned>(
        &self,
        field: &str,
        kind: &str,
        token: &str,
    ) -> Result<(F, String), FieldViolation> {
        let invalid = || FieldViolation::new(field, "invalid page token");
        if token.len() > MAX_TOKEN_LEN {
            return Err(invalid());
        }
        let (payload_b64, tag_b64) = token.split_once('.').ok_or_else(invalid)?;
        let payload = B64.decode(payload_b64).map_err(|_| invalid())?;
        let tag = B64.decode(tag_b64).map_err(|_| invalid())?;
        if tag.len() != MAC_LEN {
            return Err(invalid());
        }
        // Constant-time comparison of the truncated tag.
        self.mac(&payload).verify_truncated_left(&tag).map_err(|_| invalid())?;
        let p: Payload<F> = serde_json::from_slice(&payload).map_err(|_| invalid())?;
        if p.v != VERSION || p.k != kind {
            return Err(invalid());
        }
        Ok((p.f, p.a))
    }

    /// Cuts the result of a fetch of `size + 1` items into a page of at most `size` and the
    /// token of the next page: a page is never empty while a token is given.
    pub fn page<F: Serialize, T>(
        &self,
        kind: &str,
        filter: &F,
        mut items: Vec<T>,
        size: u32,
        id: impl Fn(&T) -> uuid::Uuid,
    ) -> Page<T> {
        let next_token = if items.len() > size as usize {
            items.truncate(size as usize);
            self.encode(kind, filter, &id(items.last().expect("page is not empty")).to_string())
        } else {
            String::new()
        };
        Page { items, next_token }
    }

    /// Page size, runner-id filter and position of a listing filtered by runner ids (the SCM and
    /// LLM integration lists): all checked, with the token's filter winning over the request's.
    pub fn runner_scoped(
        &self,
        kind: &str,
        page_size: i32,
        runner_ids: &[String],
        token: &str,
    ) -> Result<(u32, Vec<uuid::Uuid>, Option<uuid::Uuid>), crate::CoreError> {
        use crate::validate::{self, Violations};
        let mut v = Violations::default();
        let size = v.check(validate::page_size("pagination.pageSize", page_size));
        let ids = v.check(validate::filter_list("filter.runnerIds", runner_ids, |f, s| validate::uuid(f, s)));
        let cursor = v.check(self.cursor("pagination.token", kind, token, ids.unwrap_or_default()));
        v.finish()?;
        let (size, cursor) = (size.expect("checked"), cursor.expect("checked"));
        let after = cursor.after_id()?;
        Ok((size, cursor.filter, after))
    }

    /// The cursor of a list request: from the token when there is one (its filter wins over
    /// the request's), else the request's own filter from the start.
    pub fn cursor<F: DeserializeOwned>(
        &self,
        field: &str,
        kind: &str,
        token: &str,
        request_filter: F,
    ) -> Result<Cursor<F>, FieldViolation> {
        if token.is_empty() {
            return Ok(Cursor { filter: request_filter, after: None });
        }
        let (filter, after) = self.decode(field, kind, token)?;
        Ok(Cursor { filter, after: Some(after) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RunnerFilter;

    fn tokens() -> PageTokens {
        PageTokens::new([7; 32])
    }

    #[test]
    fn round_trip_carries_filter() {
        let mut f = RunnerFilter::default();
        f.kinds.push(crate::model::RunnerKind::Remote);
        let t = tokens().encode("runners", &f, "abc");
        let c: Cursor<RunnerFilter> =
            tokens().cursor("pagination.token", "runners", &t, RunnerFilter::default()).unwrap();
        assert_eq!(c.filter, f);
        assert_eq!(c.after.as_deref(), Some("abc"));
    }

    #[test]
    fn tampering_is_refused() {
        let t = tokens().encode("runners", &RunnerFilter::default(), "abc");
        let (p, tag) = t.split_once('.').unwrap();
        let mut payload = B64.decode(p).unwrap();
        let last = payload.len() - 3;
        payload[last] ^= 1;
        let forged = format!("{}.{tag}", B64.encode(&payload));
        for bad in [forged.as_str(), &t[..t.len() - 1], "", "x.y", "....", &"a".repeat(5000)] {
            if bad.is_empty() {
                continue;
            }
            let r: Result<(RunnerFilter, String), _> = tokens().decode("pagination.token", "runners", bad);
            assert_eq!(r.unwrap_err().description, "invalid page token", "{bad}");
        }
        // Another key, or another listing, does not accept it.
        let other = PageTokens::new([8; 32]);
        assert!(other.decode::<RunnerFilter>("t", "runners", &t).is_err());
        assert!(tokens().decode::<RunnerFilter>("t", "policies", &t).is_err());
    }
}
