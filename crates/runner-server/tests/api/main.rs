//! The API tests: the real server in-process (`runner_testkit::TestServer`, set up by the
//! binary's own code on port 0), called through real clients over every protocol, and the fuzz
//! targets' saved inputs replayed against the same application. See tests/README.md.

mod audit_logs;
mod authz;
mod bad_input;
mod classes;
mod concurrency;
mod connect_get;
mod console;
mod declared_rules;
mod events;
mod events_exactness;
mod fuzz_regressions;
mod groups;
mod health;
mod host_tokens;
mod id_tokens;
mod invites;
mod llm;
mod openapi;
mod organizations;
mod protocol;
mod runner_side;
mod runners;
mod scm;
mod scm_questions;
mod service_accounts;
mod sso;
mod sso_login;
mod users;
