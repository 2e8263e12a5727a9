//! Where a List call's paging comes from. The official SDKs put `token` and `pageSize` in the
//! query string of a Connect POST and re-send the original body for the next page, so the
//! query string wins over the body's `pagination`. gRPC requests carry no query string, so
//! this is the same rule for every protocol.
//!
//! A List handler takes the [`Paging`] extractor, which reads the query string once, and
//! combines it with the body inside its `reply(...)`, so that a bad `pageSize` is logged and
//! counted like every other error:
//!
//! ```text
//! Paging(q): Paging,
//! ConnectRequest(mut r): ConnectRequest<ListRunnersRequest>,
//! // …
//! let page = q.page(r.pagination.take())?;
//! ```

use std::convert::Infallible;
use std::num::ParseIntError;

use axum::extract::FromRequestParts;
use gitpod_api::gitpod::v1::PaginationRequest;
use http::request::Parts;
use runner_core::CoreError;

/// Page size and token of a List request, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub size: i32,
    pub token: String,
}

/// The paging a request's query string carries; it never rejects a request (see
/// [`QueryPaging::page`] for the errors).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paging(pub QueryPaging);

/// `token` and `pageSize` (or `page_size`) as read from a query string; absent when not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryPaging {
    token: Option<String>,
    /// The last size given, or the first that is not an integer.
    size: Option<Result<i32, ParseIntError>>,
}

impl QueryPaging {
    pub fn from_query(query: Option<&str>) -> Self {
        let mut q = Self::default();
        for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match key.as_ref() {
                "token" => q.token = Some(value.into_owned()),
                "pageSize" | "page_size" if !matches!(q.size, Some(Err(_))) => q.size = Some(value.parse()),
                _ => {}
            }
        }
        q
    }

    /// The page asked for: the query string's values over the body's. A `pageSize` that is not
    /// an integer is `invalid_argument` naming `pageSize`.
    pub fn page(self, body: Option<PaginationRequest>) -> Result<Page, CoreError> {
        let body = body.unwrap_or_default();
        let size = match self.size {
            None => body.page_size,
            Some(size) => size.map_err(|_| CoreError::invalid("pageSize", "must be an integer"))?,
        };
        Ok(Page { size, token: self.token.unwrap_or(body.token) })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Paging(QueryPaging::from_query(parts.uri.query())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(uri: &str, body: Option<PaginationRequest>) -> Result<Page, CoreError> {
        let (mut parts, ()) = http::Request::get(uri).body(()).unwrap().into_parts();
        let Ok(Paging(q)) = futures::executor::block_on(Paging::from_request_parts(&mut parts, &()));
        q.page(body)
    }

    #[test]
    fn query_wins_over_body() {
        let body = Some(PaginationRequest { page_size: 5, token: "body".into() });
        assert_eq!(page("/x?token=q%2Bt&pageSize=7", body.clone()).unwrap(), Page { size: 7, token: "q+t".into() });
        assert_eq!(page("/x?encoding=json", body.clone()).unwrap(), Page { size: 5, token: "body".into() });
        assert_eq!(page("/x", None).unwrap(), Page::default());
        let e = page("/x?pageSize=abc", body.clone()).unwrap_err();
        assert!(matches!(&e, CoreError::InvalidArgument(v) if v.iter().any(|f| f.field == "pageSize")), "{e:?}");
        assert!(page("/x?pageSize=abc&pageSize=3", body).is_err(), "a bad pageSize is not hidden by a later one");
    }
}
