//! Bearer-style secrets minted by the server (exchange tokens, …): random, at least 256 bits,
//! shown once, stored only as a SHA-256 hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand::RngCore;
use sha2::{Digest, Sha256};

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
}
