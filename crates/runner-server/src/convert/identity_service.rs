//! IdentityService: who the caller is, ID tokens, and the token exchange.

use gitpod_api::gitpod::v1 as pb;
use runner_core::CoreError;
use runner_core::accounts::AuthenticatedIdentity;
use runner_core::id_tokens::IdTokenVersion;
use runner_core::runner_side as rs;

use super::subject;

/// The exchange answers the access token only, as the real API does; the runner learns its id
/// from GetAuthenticatedIdentity and the token's lifetime when it refreshes it.
pub fn exchanged_token(t: rs::IssuedAccessToken) -> pb::ExchangeTokenResponse {
    pb::ExchangeTokenResponse { access_token: t.token }
}

pub fn authenticated_identity(i: AuthenticatedIdentity) -> pb::GetAuthenticatedIdentityResponse {
    pb::GetAuthenticatedIdentityResponse {
        subject: Some(subject(&i.subject)),
        organization_id: i.organization_id.to_string(),
        organization_tier: i.organization_tier.to_owned(),
    }
}

/// The version a GetIDToken request asks for (unset: V1); a number the enum does not define
/// (binary encodings carry any) is refused.
pub fn id_token_version(version: i32) -> Result<IdTokenVersion, CoreError> {
    match pb::IdTokenVersion::try_from(version) {
        Ok(pb::IdTokenVersion::Unspecified | pb::IdTokenVersion::V1) => Ok(IdTokenVersion::V1),
        Ok(pb::IdTokenVersion::V2) => Ok(IdTokenVersion::V2),
        Err(_) => Err(CoreError::invalid("version", format!("unknown ID token version {version}"))),
    }
}
