//! IdentityService.GetIDToken: a signed ID token for the caller, verified here as a relying
//! party does (discovery document, JWKS, signature, issuer, audience, expiry) with a JWT library
//! that is not the signer's; tests/interop verifies one with PyJWT too.

use gitpod_api::gitpod::v1::*;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use runner_core::identity::OrgRole;
use runner_testkit::{ALL, Client, PUBLIC_URL, TestServer, outcome};
use serde::Deserialize;
use serde_json::Value;

use crate::runner_side::identity;

#[derive(Debug, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    iat: i64,
    exp: i64,
    organization_id: String,
    principal: String,
}

async fn id_token(c: &Client, audience: &[&str], version: IdTokenVersion) -> Result<String, runner_testkit::Failure> {
    let request =
        GetIdTokenRequest { audience: audience.iter().map(|a| a.to_string()).collect(), version: version as i32 };
    c.call::<_, GetIdTokenResponse>(&identity("GetIDToken"), request).await.map(|r| r.token)
}

/// The discovery document and the key set, fetched as a relying party does.
async fn keys(server: &TestServer) -> JwkSet {
    let http = reqwest::Client::new();
    let discovery: Value = http
        .get(format!("{}/.well-known/openid-configuration", server.url()))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], PUBLIC_URL);
    assert_eq!(discovery["id_token_signing_alg_values_supported"], serde_json::json!(["ES256"]));
    // The JWKS is where the document says, on the server's public URL; here, on its address.
    let jwks_uri = discovery["jwks_uri"].as_str().unwrap();
    assert_eq!(jwks_uri, format!("{PUBLIC_URL}/.well-known/jwks.json"));
    let path = jwks_uri.strip_prefix(PUBLIC_URL).unwrap();
    http.get(format!("{}{path}", server.url())).send().await.unwrap().json().await.unwrap()
}

fn verify(keys: &JwkSet, token: &str, audience: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
    let kid = jsonwebtoken::decode_header(token)?.kid.expect("the header names its key");
    let jwk = keys.find(&kid).expect("the JWKS has the token's key");
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[PUBLIC_URL]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    Ok(jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_jwk(jwk)?, &validation)?.claims)
}

#[tokio::test]
async fn an_id_token_verifies_with_the_published_keys_on_every_protocol() {
    let server = TestServer::start().await;
    let keys = keys(&server).await;
    let (member_id, member_token) = server.member("id-token member", OrgRole::Member).await;
    for protocol in ALL {
        let member = server.client_as(protocol, Some(&member_token)).await;
        let token = id_token(&member, &["sts.amazonaws.com"], IdTokenVersion::Unspecified).await.unwrap();
        let claims = verify(&keys, &token, "sts.amazonaws.com").unwrap_or_else(|e| panic!("{protocol:?}: {e}"));
        assert_eq!(claims.iss, PUBLIC_URL);
        assert_eq!(claims.sub, member_id.to_string(), "version 1: the caller's id");
        assert_eq!(claims.organization_id, server.org.id.to_string());
        assert_eq!(claims.principal, "user");
        assert_eq!(claims.exp - claims.iat, 3600);
        // Not for another audience.
        assert!(verify(&keys, &token, "another.example").is_err(), "{protocol:?}");

        // Version 2 names the organization; several audiences are all in `aud`.
        let token = id_token(&member, &["a.example", "b.example"], IdTokenVersion::V2).await.unwrap();
        let claims = verify(&keys, &token, "b.example").unwrap();
        assert_eq!(claims.sub, format!("org:{}/user:{member_id}", server.org.id));
    }
}

#[tokio::test]
async fn a_tampered_token_does_not_verify() {
    use base64::Engine as _;
    let server = TestServer::start().await;
    let keys = keys(&server).await;
    let admin = server.client(runner_testkit::Protocol::ConnectJson).await;
    let token = id_token(&admin, &["aud"], IdTokenVersion::V1).await.unwrap();
    assert!(verify(&keys, &token, "aud").is_ok());
    let parts: Vec<&str> = token.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    // Another subject in the claims, the signature kept.
    let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = "someone-else".into();
    let forged = format!("{}.{}.{}", parts[0], b64.encode(claims.to_string()), parts[2]);
    assert!(verify(&keys, &forged, "aud").is_err());
    // The claims kept, the signature of another token.
    let other = id_token(&admin, &["other"], IdTokenVersion::V1).await.unwrap();
    let spliced = format!("{}.{}.{}", parts[0], parts[1], other.split('.').nth(2).unwrap());
    assert!(verify(&keys, &spliced, "aud").is_err());
}

#[tokio::test]
async fn audiences_are_required_and_bounded_and_callers_must_be_authenticated() {
    let server = TestServer::start().await;
    for protocol in ALL {
        let admin = server.client(protocol).await;
        for audience in [&[][..], &[""], &["a\nb"]] {
            let failure = id_token(&admin, audience, IdTokenVersion::V1).await.unwrap_err();
            assert_eq!(failure.code, "invalid_argument", "{protocol:?} {audience:?}: {failure:?}");
            assert!(failure.bad_fields.iter().any(|f| f.starts_with("audience")), "{protocol:?}: {failure:?}");
        }
        let anonymous = server.client_as(protocol, None).await;
        assert_eq!(outcome(id_token(&anonymous, &["a"], IdTokenVersion::V1).await), "unauthenticated");
    }
    // A version the enum does not define (binary encodings carry any number).
    let c = server.client(runner_testkit::Protocol::Grpc).await;
    let request = GetIdTokenRequest { audience: vec!["a".into()], version: 7 };
    let failure = c.call::<_, GetIdTokenResponse>(&identity("GetIDToken"), request).await.unwrap_err();
    assert_eq!(
        (failure.code.as_str(), failure.bad_fields.as_slice()),
        ("invalid_argument", &["version".to_owned()][..])
    );
}
