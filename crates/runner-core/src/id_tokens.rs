//! ID tokens (IdentityService.GetIDToken): JWTs that tell another service who the caller is,
//! signed with ES256 (ECDSA over P-256 with SHA-256, RFC 7518) by a key derived from the server
//! key, so that every replica signs with the same key and publishes the same JWKS without any
//! other file or table. Verifiers find the key through the issuer's
//! `/.well-known/openid-configuration` and its `jwks_uri`, as for any OpenID provider.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::error::{CoreError, Result};
use crate::identity::Caller;
use crate::model::ApiEnum as _;
use crate::secrets::derive_key;
use crate::time::Timestamp;

/// How long an ID token is valid.
pub const LIFETIME_SECONDS: i64 = 3600;
/// Audiences one token may name, and the length of each.
pub const MAX_AUDIENCES: usize = 16;
pub const MAX_AUDIENCE_LEN: usize = 512;
/// The one signing algorithm, as JOSE names it.
pub const ALGORITHM: &str = "ES256";

/// What `sub` holds (`IDTokenVersion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTokenVersion {
    /// The caller's id (also for `ID_TOKEN_VERSION_UNSPECIFIED`).
    V1,
    /// The organization and the caller: `org:<organization id>/<principal>:<id>`.
    V2,
}

/// Signs ID tokens and publishes the key that verifies them.
#[derive(Clone)]
pub struct IdTokens {
    key: SigningKey,
    /// The key's id (`kid`): its RFC 7638 JWK thumbprint.
    kid: String,
}

impl std::fmt::Debug for IdTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTokens").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl IdTokens {
    /// The signer whose key is derived from the server key (a new server key gives a new
    /// signing key, and tokens signed before stop verifying).
    pub fn from_server_key(server_key: &[u8; 32]) -> Self {
        // A 32-byte string is a valid P-256 scalar unless it is zero or at least the group
        // order (odds about 2^-128); derive again in that case.
        let key = (0u32..)
            .find_map(|n| {
                SigningKey::from_slice(&derive_key(server_key, &format!("gitpod-runner-api ID token key v1/{n}"))).ok()
            })
            .expect("a valid scalar is found");
        let kid = thumbprint(&key);
        Self { key, kid }
    }

    /// A token for `caller`, for `audiences`, from `issuer` (the server's public URL), issued at
    /// `now`.
    pub fn issue(
        &self,
        caller: &Caller,
        audiences: &[String],
        version: IdTokenVersion,
        issuer: &str,
        now: Timestamp,
    ) -> Result<String> {
        check_audiences(audiences)?;
        let (issued, _) = now.to_seconds_nanos();
        let principal = caller.subject.principal.as_str();
        let sub = match version {
            IdTokenVersion::V1 => caller.subject.id.to_string(),
            IdTokenVersion::V2 => format!("org:{}/{principal}:{}", caller.org_id, caller.subject.id),
        };
        let aud = match audiences {
            [one] => json!(one),
            many => json!(many),
        };
        let claims = json!({
            "iss": issuer,
            "sub": sub,
            "aud": aud,
            "iat": issued,
            "nbf": issued,
            "exp": issued + LIFETIME_SECONDS,
            "organization_id": caller.org_id.to_string(),
            "principal": principal,
        });
        let header = json!({ "alg": ALGORITHM, "typ": "JWT", "kid": self.kid });
        let signing_input = format!("{}.{}", encode_json(&header), encode_json(&claims));
        let signature: Signature = self.key.sign(signing_input.as_bytes());
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes())))
    }

    /// The JSON Web Key Set that verifies the tokens (RFC 7517): the one public key.
    pub fn jwks(&self) -> Value {
        let mut jwk = public_jwk(&self.key);
        jwk["kid"] = json!(self.kid);
        jwk["alg"] = json!(ALGORITHM);
        jwk["use"] = json!("sig");
        json!({ "keys": [jwk] })
    }

    /// The OpenID provider metadata of `issuer` (OpenID Connect Discovery 1.0), with the JWKS
    /// at `jwks_uri`: what a verifier needs to find the key.
    pub fn discovery(issuer: &str, jwks_uri: &str) -> Value {
        json!({
            "issuer": issuer,
            "jwks_uri": jwks_uri,
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "subject_types_supported": ["public"],
            "response_types_supported": ["id_token"],
            "claims_supported": ["iss", "sub", "aud", "iat", "nbf", "exp", "organization_id", "principal"],
        })
    }
}

fn check_audiences(audiences: &[String]) -> Result<()> {
    if audiences.is_empty() {
        return Err(CoreError::invalid("audience", "at least one audience is required"));
    }
    if audiences.len() > MAX_AUDIENCES {
        return Err(CoreError::invalid("audience", format!("at most {MAX_AUDIENCES} audiences")));
    }
    for (i, audience) in audiences.iter().enumerate() {
        let field = format!("audience[{i}]");
        if audience.trim().is_empty() {
            return Err(CoreError::invalid(field, "must not be empty"));
        }
        if audience.len() > MAX_AUDIENCE_LEN || audience.chars().any(char::is_control) {
            return Err(CoreError::invalid(
                field,
                format!("must be at most {MAX_AUDIENCE_LEN} bytes without control characters"),
            ));
        }
    }
    Ok(())
}

fn encode_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// The public key as a JWK: `kty`, `crv`, `x`, `y`.
fn public_jwk(key: &SigningKey) -> Value {
    let public = p256::PublicKey::from(key.verifying_key());
    serde_json::from_str(&public.to_jwk_string()).expect("p256 writes its JWK as JSON")
}

/// RFC 7638: SHA-256 of the required members in lexicographic order, base64url.
fn thumbprint(key: &SigningKey) -> String {
    let jwk = public_jwk(key);
    let canonical = format!(r#"{{"crv":{},"kty":{},"x":{},"y":{}}}"#, jwk["crv"], jwk["kty"], jwk["x"], jwk["y"]);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier as _;
    use uuid::Uuid;

    use super::*;

    fn decode(segment: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
    }

    /// The key from the JWKS, as a verifier builds it.
    fn verifier(jwks: &Value) -> VerifyingKey {
        let jwk = &jwks["keys"][0];
        let key = json!({ "kty": jwk["kty"], "crv": jwk["crv"], "x": jwk["x"], "y": jwk["y"] });
        let public = p256::PublicKey::from_jwk_str(&key.to_string()).unwrap();
        VerifyingKey::from(public)
    }

    #[test]
    fn a_token_verifies_with_the_published_key_and_says_who_for_whom_until_when() {
        let tokens = IdTokens::from_server_key(&[7; 32]);
        let caller = Caller::test_user(Uuid::now_v7());
        let now = Timestamp::now();
        let token = tokens
            .issue(&caller, &["sts.amazonaws.com".into()], IdTokenVersion::V1, "https://runners.example", now)
            .unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = decode(parts[0]);
        assert_eq!((header["alg"].as_str(), header["typ"].as_str()), (Some("ES256"), Some("JWT")));
        assert_eq!(header["kid"], tokens.jwks()["keys"][0]["kid"]);
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
        let signed = format!("{}.{}", parts[0], parts[1]);
        verifier(&tokens.jwks()).verify(signed.as_bytes(), &signature).expect("the JWKS key verifies the token");
        // Another server key's JWKS does not.
        let other = IdTokens::from_server_key(&[8; 32]);
        assert!(verifier(&other.jwks()).verify(signed.as_bytes(), &signature).is_err());

        let claims = decode(parts[1]);
        let issued = now.to_seconds_nanos().0;
        assert_eq!(claims["iss"], "https://runners.example");
        assert_eq!(claims["sub"], caller.subject.id.to_string());
        assert_eq!(claims["aud"], "sts.amazonaws.com");
        assert_eq!(claims["iat"], issued);
        assert_eq!(claims["exp"], issued + LIFETIME_SECONDS);
        assert_eq!(claims["organization_id"], caller.org_id.to_string());
        assert_eq!(claims["principal"], "user");
    }

    #[test]
    fn version_2_names_the_organization_and_several_audiences_are_a_list() {
        let tokens = IdTokens::from_server_key(&[7; 32]);
        let caller = Caller::test_user(Uuid::now_v7());
        let token =
            tokens.issue(&caller, &["a".into(), "b".into()], IdTokenVersion::V2, "http://x", Timestamp::now()).unwrap();
        let claims = decode(token.split('.').nth(1).unwrap());
        assert_eq!(claims["sub"], format!("org:{}/user:{}", caller.org_id, caller.subject.id));
        assert_eq!(claims["aud"], json!(["a", "b"]));
    }

    #[test]
    fn the_key_follows_the_server_key() {
        let a = IdTokens::from_server_key(&[1; 32]).jwks();
        assert_eq!(a, IdTokens::from_server_key(&[1; 32]).jwks(), "replicas with one key publish one JWKS");
        assert_ne!(a, IdTokens::from_server_key(&[2; 32]).jwks());
        let jwk = &a["keys"][0];
        assert_eq!(
            (jwk["kty"].as_str(), jwk["crv"].as_str(), jwk["use"].as_str()),
            (Some("EC"), Some("P-256"), Some("sig"))
        );
        assert!(jwk.get("d").is_none(), "the private key is never published");
    }

    #[test]
    fn audiences_are_checked() {
        let tokens = IdTokens::from_server_key(&[7; 32]);
        let issue = |aud: Vec<String>| {
            tokens.issue(&Caller::test_user(Uuid::now_v7()), &aud, IdTokenVersion::V1, "http://x", Timestamp::now())
        };
        for bad in [
            vec![],
            vec![String::new()],
            vec![" ".into()],
            vec!["a\nb".into()],
            vec!["x".repeat(513)],
            vec!["a".into(); 17],
        ] {
            assert!(matches!(issue(bad.clone()), Err(CoreError::InvalidArgument(_))), "{bad:?}");
        }
        assert!(issue(vec!["x".repeat(512)]).is_ok());
    }
}
