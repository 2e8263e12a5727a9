//! Source control: what the SCM-facing RunnerService calls need.
//!
//! - [`context_url`]: the context-URL grammar of each provider, a pure parser;
//! - [`provider`]: the port to an SCM's REST API ([`provider::ScmConnector`]), implemented by
//!   the `runner-scm` crate;
//! - [`auth`]: how a user authenticates with each provider (OAuth and personal access tokens);
//! - [`oauth`]: the signed `state` of OAuth authorizations, and the providers' web addresses;
//! - [`questions`]: the use cases (ParseContextURL, SearchRepositories, ListSCMOrganizations,
//!   CheckAuthenticationForHost, CheckRepositoryAccess).

pub mod auth;
pub mod context_url;
pub mod oauth;
pub mod provider;
pub mod questions;
