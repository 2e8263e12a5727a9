//! Where a List call's paging comes from. The official SDKs put `token` and `pageSize` in the
//! query string of a Connect POST and re-send the original body for the next page, so the
//! query string wins over the body's `pagination`. gRPC requests carry no query string, so
//! this is the same rule for every protocol.

use gitpod_api::gitpod::v1::PaginationRequest;
use http::Uri;
use runner_core::CoreError;

/// Page size and token of a List request, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub size: i32,
    pub token: String,
}

pub fn page(uri: &Uri, body: Option<PaginationRequest>) -> Result<Page, CoreError> {
    let body = body.unwrap_or_default();
    let mut page = Page { size: body.page_size, token: body.token };
    for (key, value) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "token" => page.token = value.into_owned(),
            "pageSize" | "page_size" => {
                page.size = value.parse().map_err(|_| CoreError::invalid("pageSize", "must be an integer"))?;
            }
            _ => {}
        }
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_wins_over_body() {
        let body = Some(PaginationRequest { page_size: 5, token: "body".into() });
        let uri: Uri = "/x?token=q%2Bt&pageSize=7".parse().unwrap();
        assert_eq!(page(&uri, body.clone()).unwrap(), Page { size: 7, token: "q+t".into() });
        let uri: Uri = "/x?encoding=json".parse().unwrap();
        assert_eq!(page(&uri, body.clone()).unwrap(), Page { size: 5, token: "body".into() });
        let uri: Uri = "/x?pageSize=abc".parse().unwrap();
        assert!(page(&uri, body).is_err());
    }
}
