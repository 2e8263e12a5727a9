//! IdentityService: who the caller is, ID tokens, and the token exchange.

use gitpod_api::gitpod::v1 as pb;
use runner_core::accounts::AuthenticatedIdentity;
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
