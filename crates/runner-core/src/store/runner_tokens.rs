//! Tokens the server mints for runners: exchange, logs and access tokens, stored only as hashes.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use crate::time::Timestamp;

/// Purpose of a server-minted runner token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunnerTokenKind {
    /// One-time token the runner process trades for its own credentials.
    Exchange,
    /// Read access to one runner's logs and support bundle.
    Logs,
    /// Bearer token of the runner principal, traded for an exchange token.
    Access,
}

impl RunnerTokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunnerTokenKind::Exchange => "exchange",
            RunnerTokenKind::Logs => "logs",
            RunnerTokenKind::Access => "access",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [RunnerTokenKind::Exchange, RunnerTokenKind::Logs, RunnerTokenKind::Access]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A stored runner token, found by its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerTokenInfo {
    pub runner_id: Uuid,
    /// The organization of the runner.
    pub org_id: Uuid,
    pub kind: RunnerTokenKind,
    pub expires_at: Timestamp,
    /// When an exchange token was redeemed (or spent because another one of its runner was).
    pub used_at: Option<Timestamp>,
    /// When the token stopped working because another runner process took the runner over: for
    /// an access token, when an exchange token of its runner was redeemed after the one its
    /// sign-up came from; for an exchange token, when another one of its runner was redeemed.
    pub superseded_at: Option<Timestamp>,
}

/// A token to store: only its hash.
#[derive(Debug, Clone)]
pub struct NewRunnerToken {
    pub hash: Vec<u8>,
    pub runner_id: Uuid,
    pub kind: RunnerTokenKind,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[async_trait]
pub trait RunnerTokenRepo: Send + Sync {
    /// Stores another token for an existing runner.
    async fn insert_runner_token(&self, token: &NewRunnerToken) -> Result<(), StoreError>;

    /// The runner token with this hash, and its runner's organization.
    async fn resolve_runner_token(&self, hash: &[u8]) -> Result<Option<RunnerTokenInfo>, StoreError>;

    /// Marks the exchange token with this hash used, if it is an unused exchange token that
    /// expires after `now`, returns its runner and, in the same transaction:
    ///
    /// - supersedes every earlier sign-up of the runner (`superseded_at = now`): the access
    ///   tokens bought with its other exchange tokens, and their refreshes, stop working;
    /// - spends the runner's other unused exchange tokens (`used_at` and `superseded_at` set);
    /// - stores the access token `access` (its `runner_id` is ignored: the token is stored for
    ///   the redeemed token's runner) as the first of the new sign-up.
    ///
    /// Atomic: of concurrent redemptions of one token, or of several tokens of one runner, on any
    /// number of replicas, exactly one gets the runner. Both or neither: a crash or an error in
    /// between never spends the exchange token without the access token it bought.
    async fn redeem_exchange_token_for_access(
        &self,
        hash: &[u8],
        now: Timestamp,
        access: &NewRunnerToken,
    ) -> Result<Option<Uuid>, StoreError>;

    /// Stores `access` (its `runner_id` is ignored) as a refresh of the access token with hash
    /// `current`, in the same sign-up (a later redemption supersedes both), if `current` is an
    /// access token that expires after `now` and is not superseded; returns its runner. A
    /// refresh that races a redemption is superseded with the rest of its sign-up.
    async fn refresh_runner_access_token(
        &self,
        current: &[u8],
        now: Timestamp,
        access: &NewRunnerToken,
    ) -> Result<Option<Uuid>, StoreError>;
}
