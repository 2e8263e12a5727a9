//! The SCM-facing RunnerService calls (ParseContextURL, SearchRepositories,
//! ListSCMOrganizations, CheckAuthenticationForHost, CheckRepositoryAccess). Answering them
//! needs the SCM providers' APIs, which come with the SCM milestone; until then this module
//! checks their input and the caller's access to the runner, so that clients get the right
//! `invalid_argument` / `not_found` / `permission_denied` first.

use crate::authz::RunnerAccess;
use crate::error::{FieldViolation, Result};
use crate::identity::Caller;
use crate::runners::Runners;
use crate::scm_integrations::check_host;
use crate::validate::{self, Violations};

/// One SCM question, as sent.
#[derive(Debug, Clone)]
pub enum ScmQuestion {
    ParseContextUrl {
        runner_id: String,
        context_url: String,
    },
    SearchRepositories {
        runner_id: String,
        search_string: String,
        limit: i32,
        page_size: i32,
        scm_host: String,
        search_mode: i32,
    },
    ListScmOrganizations {
        runner_id: String,
        scm_host: String,
        query: String,
        page_size: i32,
    },
    CheckAuthenticationForHost {
        runner_id: String,
        host: String,
    },
    CheckRepositoryAccess {
        runner_id: String,
        repository_url: String,
    },
}

/// An absolute http(s) URL with a host, as context and repository URLs are.
pub fn check_url(field: &str, url: &str) -> std::result::Result<(), FieldViolation> {
    validate::length(field, url, 1, 2048)?;
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default()).unwrap_or_default();
    if host.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(FieldViolation::new(
            field,
            "must be an absolute http(s) URL, for example https://github.com/org/repo",
        ));
    }
    Ok(())
}

#[derive(Clone)]
pub struct ScmQuestions {
    runners: Runners,
}

impl ScmQuestions {
    pub fn new(runners: Runners) -> Self {
        Self { runners }
    }

    /// Checks the input and that the caller may use the runner (when one is named).
    pub async fn admit(&self, caller: &Caller, q: &ScmQuestion) -> Result<()> {
        let mut v = Violations::default();
        let runner = match q {
            ScmQuestion::ParseContextUrl { runner_id, context_url } => {
                v.check(check_url("contextUrl", context_url));
                v.check(validate::optional_uuid("runnerId", runner_id))
            }
            ScmQuestion::SearchRepositories { runner_id, search_string, limit, page_size, scm_host, search_mode } => {
                v.check(validate::length("searchString", search_string, 0, 1024));
                if !(0..=100).contains(limit) {
                    v.push(FieldViolation::new("limit", format!("must be between 1 and 100, got {limit}")));
                }
                v.check(validate::page_size("pagination.pageSize", *page_size));
                if !scm_host.is_empty() {
                    v.check(check_host("scmHost", scm_host));
                }
                if !(0..=2).contains(search_mode) {
                    v.push(FieldViolation::new("searchMode", format!("unknown value {search_mode}")));
                }
                v.check(validate::uuid("runnerId", runner_id)).map(Some)
            }
            ScmQuestion::ListScmOrganizations { runner_id, scm_host, query, page_size } => {
                v.check(check_host("scmHost", scm_host));
                v.check(validate::length("query", query, 0, 256));
                v.check(validate::page_size("pagination.pageSize", *page_size));
                v.check(validate::uuid("runnerId", runner_id)).map(Some)
            }
            ScmQuestion::CheckAuthenticationForHost { runner_id, host } => {
                v.check(check_host("host", host));
                v.check(validate::optional_uuid("runnerId", runner_id))
            }
            ScmQuestion::CheckRepositoryAccess { runner_id, repository_url } => {
                v.check(check_url("repositoryUrl", repository_url));
                v.check(validate::uuid("runnerId", runner_id)).map(Some)
            }
        };
        v.finish()?;
        if let Some(Some(runner_id)) = runner {
            self.runners.load_for(caller, runner_id, RunnerAccess::User).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn urls() {
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
}
