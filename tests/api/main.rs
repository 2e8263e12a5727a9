//! Integration tests: real servers on port 0, called through real clients over every protocol.

mod authz;
mod bad_input;
mod classes;
mod common;
mod concurrency;
mod console;
mod health;
mod host_tokens;
mod leaks;
mod llm;
mod protocol;
mod replicas;
mod runner_side;
mod runners;
mod scm;
mod scm_questions;
