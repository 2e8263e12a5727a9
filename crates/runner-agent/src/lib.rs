//! The reference runner agent: the runner process of this server, written against the
//! generated `gitpod-api` client stubs only (gRPC through tonic), as a real runner would be.
//!
//! It generates and keeps an X25519 key pair, trades its one-time exchange token for a runner
//! access token, signs up, reports ACTIVE as a heartbeat, opens the secrets the server sealed to
//! it (SCM OAuth client secrets, host token values), and when a user deletes the runner it
//! acknowledges the deletion and exits. With `--public-url` (or `--listen`) it serves the OAuth
//! callbacks of its SCMs and stores the tokens users authorize ([`callback`]). Network errors and server restarts are retried with
//! backoff. See `docs/runner-lifecycle.md`.

pub mod agent;
pub mod callback;
pub mod config;
pub mod state;

pub use agent::{Agent, Exit};
pub use config::Config;
