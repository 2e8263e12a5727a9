//! Secrets the server hands out: bearer tokens it mints (exchange, access and logs tokens of
//! runners, personal access tokens), random, 256 bits, shown once and stored only as a SHA-256
//! hash; keys derived from the server key; and secrets sealed to a runner's public key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::crypto;
use crate::error::{CoreError, Result};
use crate::model::Runner;
use crate::store::{NewRunnerToken, RunnerTokenKind};
use crate::time::Timestamp;

/// Runner access tokens start with this; personal access tokens do not.
pub const ACCESS_TOKEN_PREFIX: &str = "gpr_";

/// A freshly minted secret: the plaintext for the caller, the hash for storage.
pub struct MintedToken {
    pub plaintext: String,
    pub hash: Vec<u8>,
}

impl std::fmt::Debug for MintedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MintedToken(<redacted>)")
    }
}

/// Mints a token `<prefix>_<43 base64url chars>` carrying 256 random bits.
pub fn mint(prefix: &str) -> MintedToken {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let plaintext = format!("{prefix}_{}", B64.encode(bytes));
    let hash = hash(&plaintext);
    MintedToken { plaintext, hash }
}

/// The stored form of a token.
pub fn hash(plaintext: &str) -> Vec<u8> {
    Sha256::digest(plaintext.as_bytes()).to_vec()
}

/// 32 random bytes, for keys.
pub fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    key
}

/// A sub-key for one purpose, derived from the server's master key with HMAC-SHA256, so that
/// one secret file serves several independent uses.
pub fn derive_key(master: &[u8; 32], purpose: &str) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(master).expect("HMAC takes any key length");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().into()
}

/// The message clients match on (Terraform provider) when a secret cannot be sealed yet.
pub const NO_PUBLIC_KEY: &str = "runner does not have a public key";

/// Seals a secret meant for a runner to its X25519 public key (libsodium sealed box); only the
/// runner can open it. `failed_precondition` until the runner has published a key.
pub(crate) fn seal(runner: &Runner, secret: &str) -> Result<Vec<u8>> {
    if runner.status.public_key.is_empty() {
        return Err(CoreError::FailedPrecondition(NO_PUBLIC_KEY.to_owned()));
    }
    crypto::seal_to_runner(&runner.status.public_key, secret.as_bytes())
        .map_err(|_| CoreError::FailedPrecondition("runner has an invalid public key".to_owned()))
}

/// Exchange tokens start with this, then name their runner: see [`exchange_token_runner`].
pub const EXCHANGE_TOKEN_PREFIX: &str = "gpx_";

/// The runner an exchange token was minted for: `gpx_<runner id, 32 hex digits>_<secret>`. A
/// runner process reads it before redeeming the token, so that a wrong `--runner-id` is told
/// apart without spending the token. Naming the runner reveals nothing secret: its 256 random
/// bits follow. `None` for anything else.
pub fn exchange_token_runner(token: &str) -> Option<Uuid> {
    let rest = token.strip_prefix(EXCHANGE_TOKEN_PREFIX)?;
    let (id, secret) = rest.split_at_checked(32)?;
    if !secret.starts_with('_') || !id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    Uuid::try_parse(id).ok()
}

/// Mints a runner token: the plaintext for the caller and the record to store. An exchange
/// token names its runner ([`exchange_token_runner`]).
pub(crate) fn runner_token(runner_id: Uuid, kind: RunnerTokenKind, ttl_seconds: i64) -> (String, NewRunnerToken) {
    let minted = match kind {
        RunnerTokenKind::Exchange => mint(&format!("{EXCHANGE_TOKEN_PREFIX}{}", runner_id.simple())),
        RunnerTokenKind::Logs => mint("gpl"),
        RunnerTokenKind::Access => mint(ACCESS_TOKEN_PREFIX.trim_end_matches('_')),
    };
    let now = Timestamp::now();
    let record = NewRunnerToken {
        hash: minted.hash,
        runner_id,
        kind,
        created_at: now,
        expires_at: now.plus_seconds(ttl_seconds),
    };
    (minted.plaintext, record)
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_random_and_hashed() {
        let a = super::mint("ex");
        let b = super::mint("ex");
        assert_ne!(a.plaintext, b.plaintext);
        assert!(a.plaintext.starts_with("ex_"));
        assert_eq!(a.plaintext.len(), 3 + 43);
        assert_eq!(a.hash, super::hash(&a.plaintext));
        assert_eq!(a.hash.len(), 32);
    }

    #[test]
    fn exchange_tokens_name_their_runner() {
        use super::*;
        let runner = Uuid::now_v7();
        let (token, record) = runner_token(runner, RunnerTokenKind::Exchange, 60);
        assert_eq!(token.len(), "gpx_".len() + 32 + 1 + 43);
        assert_eq!(exchange_token_runner(&token), Some(runner));
        assert_eq!(record.hash, hash(&token));
        let (logs, _) = runner_token(runner, RunnerTokenKind::Logs, 60);
        assert!(logs.starts_with("gpl_") && !logs.contains(&runner.simple().to_string()));
        for other in [
            logs.as_str(),
            "gpx_",
            "gpx_zz",
            &format!("gpx_{}", runner.simple()),
            &format!("gpx_{}x", runner.simple()),
            &format!("gpx_{}_x", runner.simple().to_string().to_uppercase()),
            &format!("gpx_{}_x", runner.hyphenated()),
            "gpx_é",
        ] {
            assert_eq!(exchange_token_runner(other), None, "{other}");
        }
    }
}
