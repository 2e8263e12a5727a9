//! The two encryption constructions of the server, both from RustCrypto crates.
//!
//! - **Sealed boxes to a runner** ([`seal_to_runner`], [`open_sealed`]): libsodium's
//!   `crypto_box_seal`. A fresh ephemeral X25519 key pair per message; the box key is the
//!   X25519 shared secret of the ephemeral secret and the runner's public key, through
//!   HSalsa20; the nonce is `BLAKE2b-24(ephemeral_pk || recipient_pk)`; the cipher is
//!   XSalsa20-Poly1305. Output: `ephemeral_pk (32) || tag (16) || ciphertext`, so
//!   [`SEAL_OVERHEAD`] = 48 bytes. Any libsodium binding (`crypto_box_seal_open`) opens it.
//!   Only the holder of the runner's secret key can open it; the sender is anonymous.
//! - **Encryption at rest** ([`AtRestKey`]): XChaCha20-Poly1305 under the server's key with a
//!   random 24-byte nonce, stored as `0x01 || nonce (24) || ciphertext || tag (16)`
//!   ([`AT_REST_OVERHEAD`] = 41 bytes). The caller's associated data (e.g. the row id) binds a
//!   ciphertext to its row: moved to another row, it no longer decrypts.
//!
//! Errors say only what failed, never why in detail (no oracle for an attacker).

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use crypto_box::{PublicKey, SecretKey};
use curve25519_dalek::montgomery::MontgomeryPoint;

/// Length of X25519 keys, public and secret.
pub const KEY_LEN: usize = 32;
/// Bytes a sealed box adds to its plaintext: the ephemeral public key and the Poly1305 tag.
pub const SEAL_OVERHEAD: usize = crypto_box::SEALBYTES;
/// First byte of every at-rest ciphertext; a future format gets another.
pub const AT_REST_VERSION: u8 = 0x01;
const AT_REST_NONCE_LEN: usize = 24;
const AT_REST_TAG_LEN: usize = 16;
/// Bytes an at-rest ciphertext adds to its plaintext: version, nonce and tag.
pub const AT_REST_OVERHEAD: usize = 1 + AT_REST_NONCE_LEN + AT_REST_TAG_LEN;

/// Why a cryptographic operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// A key is not 32 bytes, or is an X25519 point of small order (which would give a
    /// predictable shared secret; libsodium refuses those too).
    #[error("invalid key")]
    BadKey,
    /// The input is too short or of an unknown format.
    #[error("malformed ciphertext")]
    Malformed,
    /// Authentication failed: wrong key, wrong associated data, or tampered ciphertext.
    #[error("decryption failed")]
    Decryption,
}

/// True when X25519 with `point` yields the all-zero shared secret whatever the secret key,
/// i.e. the point has small order (on the curve or its twist). Every clamped scalar is a
/// multiple of the cofactor, so one fixed scalar decides it. libsodium's `crypto_box_seal`
/// and `crypto_box_seal_open` fail on exactly these points.
fn is_small_order(point: &[u8; KEY_LEN]) -> bool {
    MontgomeryPoint(*point).mul_clamped([0x5a; KEY_LEN]).to_bytes() == [0u8; KEY_LEN]
}

/// Whether `public_key` is a key secrets can be sealed to: 32 bytes, not of small order.
pub fn is_usable_public_key(public_key: &[u8]) -> bool {
    <[u8; KEY_LEN]>::try_from(public_key).is_ok_and(|k| !is_small_order(&k))
}

/// A new X25519 key pair for a runner, `(secret, public)`, from the operating system's CSPRNG.
/// The runner keeps the secret and registers the public key.
pub fn generate_runner_keypair() -> ([u8; KEY_LEN], [u8; KEY_LEN]) {
    let secret = SecretKey::generate(&mut crypto_box::aead::OsRng);
    (secret.to_bytes(), secret.public_key().to_bytes())
}

/// Seals `plaintext` to the runner holding the secret key of `public_key` (libsodium
/// `crypto_box_seal`). The result is `plaintext.len() + SEAL_OVERHEAD` bytes long.
///
/// Fails with [`CryptoError::BadKey`] if `public_key` is not 32 bytes or has small order.
pub fn seal_to_runner(public_key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let bytes: [u8; KEY_LEN] = public_key.try_into().map_err(|_| CryptoError::BadKey)?;
    if is_small_order(&bytes) {
        return Err(CryptoError::BadKey);
    }
    let sealed = PublicKey::from(bytes)
        .seal(&mut crypto_box::aead::OsRng, plaintext)
        .expect("XSalsa20-Poly1305 encrypts any in-memory buffer");
    Ok(sealed)
}

/// Opens a sealed box with the runner's secret key (libsodium `crypto_box_seal_open`).
///
/// [`CryptoError::Malformed`] if `ciphertext` is shorter than [`SEAL_OVERHEAD`];
/// [`CryptoError::Decryption`] if it was not sealed to this key or was altered.
pub fn open_sealed(secret_key: &[u8; KEY_LEN], ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if ciphertext.len() < SEAL_OVERHEAD {
        return Err(CryptoError::Malformed);
    }
    let ephemeral: &[u8; KEY_LEN] = ciphertext[..KEY_LEN].try_into().map_err(|_| CryptoError::Malformed)?;
    if is_small_order(ephemeral) {
        return Err(CryptoError::Decryption);
    }
    SecretKey::from(*secret_key).unseal(ciphertext).map_err(|_| CryptoError::Decryption)
}

/// The server's key for data at rest (XChaCha20-Poly1305). Its `Debug` shows no key material.
#[derive(Clone)]
pub struct AtRestKey([u8; 32]);

impl std::fmt::Debug for AtRestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AtRestKey(<redacted>)")
    }
}

impl AtRestKey {
    pub fn new(key: [u8; 32]) -> Self {
        Self(key)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }

    /// Encrypts `plaintext` bound to `aad` under a fresh random nonce. The stored form is
    /// `0x01 || nonce (24) || ciphertext || tag (16)`; two calls never give the same bytes.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher()
            .encrypt(&nonce, Payload { msg: plaintext, aad })
            .expect("XChaCha20-Poly1305 encrypts any in-memory buffer");
        let mut out = Vec::with_capacity(1 + AT_REST_NONCE_LEN + sealed.len());
        out.push(AT_REST_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts what [`AtRestKey::encrypt`] stored with the same `aad`.
    ///
    /// [`CryptoError::Malformed`] if `stored` is too short or not of version 1;
    /// [`CryptoError::Decryption`] on a wrong key, wrong `aad` or any altered byte.
    pub fn decrypt(&self, stored: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if stored.len() < AT_REST_OVERHEAD {
            return Err(CryptoError::Malformed);
        }
        let (version, rest) = stored.split_at(1);
        if version[0] != AT_REST_VERSION {
            return Err(CryptoError::Malformed);
        }
        let (nonce, sealed) = rest.split_at(AT_REST_NONCE_LEN);
        self.cipher().decrypt(nonce.into(), Payload { msg: sealed, aad }).map_err(|_| CryptoError::Decryption)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blake2::Blake2b;
    use blake2::digest::{Digest, consts::U24};
    use crypto_box::SalsaBox;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// libsodium's sealed-box nonce, computed here with the `blake2` crate directly.
    fn seal_nonce(ephemeral_pk: &[u8], recipient_pk: &[u8]) -> crypto_box::Nonce {
        let mut h = Blake2b::<U24>::new();
        h.update(ephemeral_pk);
        h.update(recipient_pk);
        h.finalize()
    }

    #[test]
    fn keypair_is_consistent_and_fresh() {
        let (sk, pk) = generate_runner_keypair();
        assert_eq!(SecretKey::from(sk).public_key().to_bytes(), pk);
        let (sk2, pk2) = generate_runner_keypair();
        assert_ne!(sk, sk2);
        assert_ne!(pk, pk2);
    }

    #[test]
    fn sealed_round_trip_and_overhead() {
        let (sk, pk) = generate_runner_keypair();
        for len in [0usize, 1, 31, 32, 1000] {
            let msg: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let sealed = seal_to_runner(&pk, &msg).unwrap();
            assert_eq!(sealed.len(), msg.len() + 48);
            assert_eq!(SEAL_OVERHEAD, 48);
            assert_eq!(open_sealed(&sk, &sealed).unwrap(), msg);
        }
    }

    #[test]
    fn sealed_boxes_differ_for_same_plaintext() {
        let (_, pk) = generate_runner_keypair();
        let a = seal_to_runner(&pk, b"secret").unwrap();
        let b = seal_to_runner(&pk, b"secret").unwrap();
        assert_ne!(a[..32], b[..32], "fresh ephemeral key per box");
        assert_ne!(a, b);
    }

    /// Opens our sealed box by hand with the libsodium layout: ephemeral pk, then a
    /// `crypto_box` (XSalsa20-Poly1305, tag first) under BLAKE2b-24(epk || rpk).
    #[test]
    fn sealed_box_has_libsodium_layout() {
        let (sk, pk) = generate_runner_keypair();
        let msg = b"runner secret: s3cr3t";
        let sealed = seal_to_runner(&pk, msg).unwrap();
        let (epk, boxed) = sealed.split_at(32);
        let epk: [u8; 32] = epk.try_into().unwrap();
        let nonce = seal_nonce(&epk, &pk);
        let salsa = SalsaBox::new(&PublicKey::from(epk), &SecretKey::from(sk));
        assert_eq!(salsa.decrypt(&nonce, boxed).unwrap(), msg);
        // A wrong nonce derivation (recipient first) does not open it.
        assert!(salsa.decrypt(&seal_nonce(&pk, &epk), boxed).is_err());
    }

    /// The reverse path: a sealed box built by hand the libsodium way opens with `open_sealed`.
    #[test]
    fn opens_hand_built_sealed_box() {
        let (sk, pk) = generate_runner_keypair();
        let (esk, epk) = generate_runner_keypair();
        let nonce = seal_nonce(&epk, &pk);
        let boxed = SalsaBox::new(&PublicKey::from(pk), &SecretKey::from(esk)).encrypt(&nonce, &b"hi"[..]).unwrap();
        let sealed = [&epk[..], &boxed].concat();
        assert_eq!(open_sealed(&sk, &sealed).unwrap(), b"hi");
    }

    /// A known-answer vector made with libsodium 1.0.18 (`crypto_scalarmult_base` for the
    /// public key, `crypto_box_seal` for the box).
    #[test]
    fn opens_libsodium_vector() {
        let sk: [u8; 32] = hex("404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f").try_into().unwrap();
        let pk = hex("79a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a");
        let ct = hex(concat!(
            "616061ec88d713510e9faed56028cddfd00926cc650b0103434ad336392d8a34",
            "c2c2c480121cfb2cc14e612b2adeded6a006cf229feccc144f052865b5cea9ea",
            "236e1b15463df86ca80f"
        ));
        assert_eq!(SecretKey::from(sk).public_key().as_bytes()[..], pk[..]);
        assert_eq!(open_sealed(&sk, &ct).unwrap(), b"sealed by libsodium 1.0.18");
    }

    #[test]
    fn sealed_tampering_fails() {
        let (sk, pk) = generate_runner_keypair();
        let sealed = seal_to_runner(&pk, b"do not touch").unwrap();
        for i in 0..sealed.len() {
            for bit in [0x01u8, 0x80] {
                let mut t = sealed.clone();
                t[i] ^= bit;
                assert!(open_sealed(&sk, &t).is_err(), "flip of bit {bit:#x} at byte {i} went unnoticed");
            }
        }
        assert_eq!(open_sealed(&sk, &sealed[..sealed.len() - 1]), Err(CryptoError::Decryption));
        assert_eq!(open_sealed(&sk, &sealed[..47]), Err(CryptoError::Malformed));
        assert_eq!(open_sealed(&sk, &[]), Err(CryptoError::Malformed));
    }

    #[test]
    fn sealed_wrong_key_fails() {
        let (_, pk) = generate_runner_keypair();
        let (other_sk, _) = generate_runner_keypair();
        let sealed = seal_to_runner(&pk, b"for someone else").unwrap();
        assert_eq!(open_sealed(&other_sk, &sealed), Err(CryptoError::Decryption));
    }

    #[test]
    fn seal_rejects_bad_public_keys() {
        for len in [0usize, 31, 33, 64] {
            assert_eq!(seal_to_runner(&vec![7u8; len], b"x"), Err(CryptoError::BadKey));
        }
        // Small-order points: zero, one, an order-8 point, p - 1, p, p + 1 (libsodium's list).
        let order8 = hex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
        let mut p_minus_1 = [0xffu8; 32];
        p_minus_1[0] = 0xec;
        p_minus_1[31] = 0x7f;
        let mut p = p_minus_1;
        p[0] = 0xed;
        let mut p_plus_1 = p_minus_1;
        p_plus_1[0] = 0xee;
        let mut one = [0u8; 32];
        one[0] = 1;
        for key in [&[0u8; 32][..], &one, &order8, &p_minus_1, &p, &p_plus_1] {
            assert_eq!(seal_to_runner(key, b"x"), Err(CryptoError::BadKey), "{key:02x?}");
        }
        // A box whose ephemeral key has small order is refused as libsodium does.
        let (sk, _) = generate_runner_keypair();
        assert_eq!(open_sealed(&sk, &[0u8; 60]), Err(CryptoError::Decryption));
    }

    fn at_rest() -> AtRestKey {
        AtRestKey::new([0x42; 32])
    }

    #[test]
    fn at_rest_round_trip_and_layout() {
        let key = at_rest();
        for len in [0usize, 1, 64, 1000] {
            let msg: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let stored = key.encrypt(&msg, b"token-1");
            assert_eq!(stored.len(), msg.len() + 1 + 24 + 16);
            assert_eq!(stored[0], 0x01);
            assert_eq!(key.decrypt(&stored, b"token-1").unwrap(), msg);
        }
    }

    /// Decrypts the stored form directly with the `chacha20poly1305` API, from its documented layout.
    #[test]
    fn at_rest_layout_is_version_nonce_ciphertext() {
        let stored = at_rest().encrypt(b"payload", b"row");
        let cipher = XChaCha20Poly1305::new(&[0x42u8; 32].into());
        let plain = cipher.decrypt(stored[1..25].into(), Payload { msg: &stored[25..], aad: b"row" }).unwrap();
        assert_eq!(plain, b"payload");
    }

    #[test]
    fn at_rest_ciphertexts_differ() {
        let key = at_rest();
        let a = key.encrypt(b"same", b"id");
        let b = key.encrypt(b"same", b"id");
        assert_ne!(a[1..25], b[1..25], "fresh nonce");
        assert_ne!(a, b);
    }

    #[test]
    fn at_rest_tampering_fails() {
        let key = at_rest();
        let stored = key.encrypt(b"bind me", b"id-1");
        for i in 0..stored.len() {
            for bit in [0x01u8, 0x80] {
                let mut t = stored.clone();
                t[i] ^= bit;
                assert!(key.decrypt(&t, b"id-1").is_err(), "flip of bit {bit:#x} at byte {i} went unnoticed");
            }
        }
        let mut v2 = stored.clone();
        v2[0] = 0x02;
        assert_eq!(key.decrypt(&v2, b"id-1"), Err(CryptoError::Malformed));
        assert_eq!(key.decrypt(&stored[..stored.len() - 1], b"id-1"), Err(CryptoError::Decryption));
        assert_eq!(key.decrypt(&stored[..40], b"id-1"), Err(CryptoError::Malformed));
        assert_eq!(key.decrypt(&[], b"id-1"), Err(CryptoError::Malformed));
    }

    #[test]
    fn at_rest_wrong_aad_fails() {
        let key = at_rest();
        let stored = key.encrypt(b"bound", b"token-1");
        assert_eq!(key.decrypt(&stored, b"token-2"), Err(CryptoError::Decryption));
        assert_eq!(key.decrypt(&stored, b""), Err(CryptoError::Decryption));
        let unbound = key.encrypt(b"bound", b"");
        assert_eq!(key.decrypt(&unbound, b"token-1"), Err(CryptoError::Decryption));
        assert_eq!(key.decrypt(&unbound, b"").unwrap(), b"bound");
    }

    #[test]
    fn at_rest_wrong_key_fails() {
        let stored = at_rest().encrypt(b"server data", b"id");
        let mut other = [0x42u8; 32];
        other[31] ^= 1;
        assert_eq!(AtRestKey::new(other).decrypt(&stored, b"id"), Err(CryptoError::Decryption));
    }

    #[test]
    fn at_rest_debug_hides_key() {
        let shown = format!("{:?}", AtRestKey::new([0xab; 32]));
        assert_eq!(shown, "AtRestKey(<redacted>)");
    }

    #[test]
    fn errors_display_without_detail() {
        assert_eq!(CryptoError::BadKey.to_string(), "invalid key");
        assert_eq!(CryptoError::Malformed.to_string(), "malformed ciphertext");
        assert_eq!(CryptoError::Decryption.to_string(), "decryption failed");
    }
}
